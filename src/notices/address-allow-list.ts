import { BlockList, isIP } from 'node:net';
import { errorWithCode } from '../shared/index.js';

/**
 * Which source addresses may send notices: addresses and CIDRs, IPv4 and
 * IPv6 (node:net BlockList does the matching). An IPv4 client of a
 * dual-stack socket shows as `::ffff:10.1.2.3`; it is matched as the IPv4
 * address it is, so `10.1.2.0/24` admits it.
 */

export class AllowListError extends errorWithCode('ALLOW_LIST_INVALID') {
  override readonly name = 'AllowListError';
}

export class AddressAllowList {
  private readonly list = new BlockList();
  /** No entries: every address is allowed (protocol section 12: default any). */
  readonly any: boolean;

  /** Throws AllowListError naming the first entry that is not an address or a CIDR. */
  constructor(entries: readonly string[] | undefined) {
    this.any = !entries || entries.length === 0;
    for (const entry of entries ?? []) addEntry(this.list, entry);
  }

  allows(address: string | undefined): boolean {
    if (this.any) return true;
    const a = normalizeAddress(address);
    if (!a) return false;
    return this.list.check(a.address, a.family);
  }
}

/** `::ffff:1.2.3.4` → `1.2.3.4`; a zone index (`fe80::1%eth0`) dropped; null when not an IP address. */
export function normalizeAddress(address: string | undefined): { address: string; family: 'ipv4' | 'ipv6' } | null {
  if (!address) return null;
  let a = address.trim();
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped && isIP(mapped[1]!) === 4) return { address: mapped[1]!, family: 'ipv4' };
  const v = isIP(a);
  if (v === 4) return { address: a, family: 'ipv4' };
  if (v === 6) return { address: a.toLowerCase(), family: 'ipv6' };
  return null;
}

function addEntry(list: BlockList, entry: string): void {
  const text = entry.trim();
  const slash = text.indexOf('/');
  const host = slash < 0 ? text : text.slice(0, slash);
  const a = normalizeAddress(host.replace(/^\[(.*)\]$/, '$1'));
  if (!a) throw new AllowListError(`${JSON.stringify(entry)} is not an IP address or CIDR`);
  if (slash < 0) {
    list.addAddress(a.address, a.family);
    return;
  }
  const bitsText = text.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
  const max = a.family === 'ipv4' ? 32 : 128;
  if (!(bits >= 0 && bits <= max)) throw new AllowListError(`${JSON.stringify(entry)}: the prefix length must be 0-${max}`);
  list.addSubnet(a.address, bits, a.family);
}
