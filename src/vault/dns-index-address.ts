import { isIPv4, isIPv6 } from 'node:net';

/**
 * The one spelling of a host name or IP address under which the DNS-name
 * index files a PMP `DNS NAME` and looks up a command's `resource.hostName`
 * / `resource.ipAddress` (protocol section 9): case-insensitive, a trailing
 * dot ignored, IP addresses in canonical form.
 *
 * - Host names: trimmed, lower case, one trailing dot dropped.
 * - IPv4: dotted decimal as node:net's isIPv4 accepts it. A dotted quad with
 *   a leading zero (`010.0.0.1`) is not taken as an address: old parsers
 *   read it as octal (8.0.0.1), newer ones refuse it (Go, Python's
 *   ipaddress); guessing either way could pick another host's resource, so
 *   it stays a name that matches only the same spelling.
 * - IPv6: RFC 5952 (lower case, no leading zeros in a group, the first
 *   longest run of two or more zero groups as `::`), square brackets
 *   dropped, a zone (`%eth0`) kept in lower case.
 * - IPv4-mapped IPv6 (`::ffff:10.0.0.1`, `::ffff:a00:1`) is the IPv4 node it
 *   maps (RFC 4291 2.5.5.2): it becomes `10.0.0.1`. Other embeddings
 *   (IPv4-compatible `::10.0.0.1`, NAT64) are different addresses and stay
 *   IPv6.
 *
 * Returns undefined for an empty value (nothing to file or look up).
 */
export function normalizeAddress(text: string): string | undefined {
  let s = text.trim().toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s === '') return undefined;
  if (s.startsWith('[') && s.endsWith(']') && isIPv6(s.slice(1, -1))) s = s.slice(1, -1);
  if (isIPv4(s)) return s;
  if (s.includes(':') && isIPv6(s)) return canonicalIpv6(s);
  return s;
}

/** RFC 5952 text of a valid IPv6 address (isIPv6 true); IPv4-mapped ones as their IPv4 address. */
export function canonicalIpv6(address: string): string {
  const zoneAt = address.indexOf('%');
  const zone = zoneAt < 0 ? '' : address.slice(zoneAt).toLowerCase();
  const words = ipv6Words(zoneAt < 0 ? address : address.slice(0, zoneAt));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}${zone}`;
  }
  // The first longest run of zero words, if at least two long, becomes "::".
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => words.slice(from, to).map((w) => w.toString(16)).join(':');
  if (bestAt < 0) return hex(0, 8) + zone;
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}${zone}`;
}

/** The eight 16-bit words of a valid IPv6 address without zone (a trailing dotted IPv4 part included). */
function ipv6Words(address: string): number[] {
  let text = address;
  let ipv4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const [a, b, c, d] = text.slice(lastColon + 1).split('.').map(Number) as [number, number, number, number];
    ipv4 = [(a << 8) | b, (c << 8) | d];
    // Drop the IPv4 part and the colon before it, unless that colon belongs to "::".
    text = text.slice(0, text.endsWith('::', lastColon + 1) ? lastColon + 1 : lastColon);
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return [...parse(text), ...ipv4];
  const head = parse(text.slice(0, gap));
  const rest = parse(text.slice(gap + 2));
  const zeros = new Array<number>(8 - ipv4.length - head.length - rest.length).fill(0);
  return [...head, ...zeros, ...rest, ...ipv4];
}
