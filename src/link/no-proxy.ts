import { BlockList, isIP } from 'node:net';
import { stripBrackets } from '../shared/index.js';

/**
 * NO_PROXY as curl reads it, so one environment serves curl and credgw
 * alike. Entries are separated by commas (or blanks) and matched
 * case-insensitively:
 *
 * - `*` matches every host;
 * - a name matches that host and every host under it, with or without a
 *   leading dot (`example.com`, `.example.com` and `*.example.com` all
 *   match `example.com` and `cloud.example.com`);
 * - an IP address (`192.168.1.5`, `::1`, `[::1]`) or a CIDR range
 *   (`10.0.0.0/8`, `fe80::/10`) matches a controller host written as an IP
 *   address; like curl, names are never resolved for NO_PROXY, so an
 *   address entry does not match a host name and a name entry does not
 *   match an address;
 * - any entry may end in `:port` to match that port only.
 */
export function bypassesProxy(host: string, port: number, noProxy: string): boolean {
  const h = stripBrackets(host).toLowerCase().replace(/\.$/, '');
  const family = isIP(h);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const withPort = /^(\[[^\]]+\][^:]*|[^:]+):(\d+)$/.exec(entry);
    if (withPort?.[1] !== undefined && withPort[2] !== undefined) {
      if (Number(withPort[2]) !== port) continue;
      entry = withPort[1];
    }
    if (family !== 0) {
      if (addressRange(entry)?.check(h, family === 4 ? 'ipv4' : 'ipv6')) return true;
      continue;
    }
    if (entry.includes('/') || isIP(stripBrackets(entry)) !== 0) continue;
    const name = entry.replace(/^\*?\.+/, '').replace(/\.$/, '');
    if (name !== '' && (h === name || h.endsWith(`.${name}`))) return true;
  }
  return false;
}

/** `address` or `address/bits` as a BlockList, or null when the entry is neither. */
function addressRange(entry: string): BlockList | null {
  const slash = entry.indexOf('/');
  const address = stripBrackets(slash < 0 ? entry : entry.slice(0, slash));
  const family = isIP(address);
  if (family === 0) return null;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const range = new BlockList();
  if (slash < 0) {
    range.addAddress(address, type);
    return range;
  }
  const bits = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return null;
  range.addSubnet(address, Number(bits), type);
  return range;
}
