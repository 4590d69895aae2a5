import type { VaultProfile } from '../config/index.js';
import { systemClock } from '../shared/index.js';
import { DnsIndex } from '../vault/index.js';
import type { ResourceDirectory } from '../vault/index.js';
import type { CliContext } from './cli-context.js';
import { table } from './table.js';

/**
 * `credgw vault resources PROFILE [--by-address]`: the DNS-name index that a
 * gateway keeps for a profile that maps by address (protocol section 9),
 * built once as the gateway builds it, within the profile's budget of vault
 * calls (or --max-calls-per-minute), and printed.
 */

export interface VaultResourcesOptions {
  /** By normalised address, with the duplicates. */
  byAddress?: boolean;
  json?: boolean;
}

/** Builds the whole index; the first resource list's failure ends it (the daemon would retry). */
export async function buildDnsIndex(ctx: CliContext, client: ResourceDirectory, profile: VaultProfile, maxCallsPerMinute: number): Promise<DnsIndex> {
  let listFailed: (err: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (listFailed = reject));
  let listed = false;
  const vault: ResourceDirectory = {
    listResources: (opts) =>
      client.listResources(opts).then(
        (list) => {
          listed = true;
          // The budget spreads nine tenths of its calls over each minute (dns-index-budget.ts).
          const minutes = Math.ceil(list.length / (maxCallsPerMinute * 0.9));
          ctx.err(`reading the DNS name of ${list.length} resource${list.length === 1 ? '' : 's'} at most ${maxCallsPerMinute} a minute (up to ${minutes} min)`);
          return list;
        },
        (err: unknown) => {
          if (!listed) listFailed(err);
          throw err;
        },
      ),
    resourceDnsName: (id, opts) => client.resourceDnsName(id, opts),
  };
  const index = new DnsIndex({ vault, clock: systemClock, logger: ctx.logger(), maxCallsPerMinute, refreshIntervalMs: profile.dnsIndex.refreshIntervalMs });
  index.start();
  try {
    await Promise.race([index.whenReady(), failure]);
  } finally {
    index.stop();
  }
  return index;
}

export function printDnsIndex(ctx: CliContext, index: DnsIndex, opts: VaultResourcesOptions): void {
  const resources = index.resources();
  const names = new Map(resources.map((r) => [r.id, r.name]));
  const duplicates = index.duplicates();
  const withoutDns = resources.filter((r) => !r.dnsName);
  const named = (id: string): { id: string; name: string } => ({ id, name: names.get(id) ?? '' });
  if (opts.json) {
    const out = opts.byAddress
      ? {
          addresses: index.addresses().map((a) => ({ address: a.address, resources: a.ids.map(named) })),
          duplicates: duplicates.map((a) => ({ address: a.address, resources: a.ids.map(named) })),
          withoutDnsName: withoutDns.map((r) => named(r.id)),
        }
      : resources.map((r) => ({ id: r.id, name: r.name, dnsName: r.dnsName ?? null }));
    ctx.out(JSON.stringify(out, null, 2));
    return;
  }
  if (!opts.byAddress) {
    if (resources.length > 0) ctx.out(table(['ID', 'NAME', 'DNS NAME'], resources.map((r) => [r.id, r.name, r.dnsName ?? '-'])));
    const shared = duplicates.length === 0 ? '' : `; ${duplicates.length} shared by several resources (see --by-address)`;
    ctx.out(`${resources.length} resource${resources.length === 1 ? '' : 's'}, ${index.addresses().length} DNS name${index.addresses().length === 1 ? '' : 's'}${shared}`);
    return;
  }
  const rows = index.addresses().flatMap((a) => a.ids.map((id) => [a.address, id, names.get(id) ?? '', a.ids.length > 1 ? 'duplicate' : '']));
  if (rows.length > 0) ctx.out(table(['ADDRESS', 'ID', 'NAME', ''], rows));
  if (withoutDns.length > 0) ctx.out(`without a DNS name: ${withoutDns.map((r) => `${r.id} ${r.name}`).join(', ')}`);
  if (duplicates.length === 0) {
    ctx.out('no DNS name is shared by several resources');
    return;
  }
  ctx.out(`shared by several resources (a lookup of these answers RESOURCE_AMBIGUOUS):`);
  for (const a of duplicates) ctx.out(`  ${a.address}: ${a.ids.map((id) => `${id} ${names.get(id) ?? ''}`).join(', ')}`);
}
