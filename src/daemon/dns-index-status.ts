import type { DnsIndexStatus } from '../telemetry/index.js';
import type { DnsIndex } from '../vault/index.js';

/**
 * The status fields of a profile's DNS-name index: `{ dnsIndex }`, or
 * nothing when the profile maps by attribute only. Counting the read
 * resources and the duplicates walks the table once (10,000 resources:
 * well under a millisecond), which a status request can afford.
 */
export function dnsIndexStatus(index: DnsIndex | null | undefined): { dnsIndex?: DnsIndexStatus } {
  if (!index) return {};
  const resources = index.resources();
  let indexed = 0;
  for (const r of resources) if (r.dnsName !== undefined) indexed++;
  const state = index.state;
  return { dnsIndex: { state, listed: resources.length, indexed, complete: state === 'ready', duplicates: index.duplicates().length } };
}
