import { SocketAddress } from 'node:net';
import { canonicalIpv6, normalizeAddress } from '../../../src/vault/dns-index-address.js';

/** Spellings of one address or host name, and the one form the index files them under (protocol section 9). */
const TABLE: Array<[string, string[]]> = [
  ['::1', ['::1', '0:0:0:0:0:0:0:1', '[::1]', '0000:0000:0000:0000:0000:0000:0000:0001', '::0001', ' ::1 ', '[::1].', '::1.']],
  ['2001:db8::1', ['2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '[2001:db8::1]', '2001:db8:0:0:0:0:0:1', '2001:0DB8::0001']],
  // Two runs of two zero groups: the first is compressed (RFC 5952 4.2.3).
  ['2001:db8::1:0:0:1', ['2001:db8:0:0:1:0:0:1', '2001:DB8::1:0:0:1', '2001:db8:0000:0000:0001:0000:0000:0001']],
  // The longest run is compressed, wherever it is.
  ['2001:0:0:1::1', ['2001:0:0:1:0:0:0:1', '2001:0000:0000:0001::0001']],
  // A single zero group is never "::" (RFC 5952 4.2.2).
  ['2001:db8:0:1:1:1:1:1', ['2001:db8:0:1:1:1:1:1', '2001:0db8:0000:0001:0001:0001:0001:0001', '2001:db8::1:1:1:1:1']],
  ['::', ['::', '0:0:0:0:0:0:0:0', '[::]']],
  ['1::', ['1:0:0:0:0:0:0:0', '0001::']],
  ['fe80::1%eth0', ['fe80::1%eth0', 'FE80:0:0:0:0:0:0:1%ETH0']],
  // IPv4-mapped IPv6 is the IPv4 node it maps.
  ['10.0.0.1', ['10.0.0.1', ' 10.0.0.1 ', '10.0.0.1.', '::ffff:10.0.0.1', '::FFFF:0A00:0001', '0:0:0:0:0:ffff:10.0.0.1', '[::ffff:a00:1]', '::ffff:a00:1']],
  // Other embeddings are other addresses.
  ['::a00:1', ['::10.0.0.1', '0:0:0:0:0:0:a00:1']],
  ['64:ff9b::c000:221', ['64:ff9b::192.0.2.33', '64:FF9B:0:0:0:0:C000:0221']],
  // A leading zero in a dotted quad is octal to some parsers and refused by others: it stays a name.
  ['010.0.0.1', ['010.0.0.1', '010.0.0.1.']],
  ['web01.corp.example', ['web01.corp.example', 'Web01.Corp.Example.', 'WEB01.CORP.EXAMPLE', '  web01.corp.example  ']],
  ['web01', ['web01', 'WEB01.']],
  ['[web01]', ['[web01]']],
];

describe('normalizeAddress', () => {
  it.each(TABLE)('files every spelling of %s under it', (canonical, spellings) => {
    for (const s of spellings) expect([s, normalizeAddress(s)]).toEqual([s, canonical]);
  });

  it('gives nothing for an empty value', () => {
    for (const s of ['', ' ', '.', ' . ']) expect(normalizeAddress(s)).toBeUndefined();
  });

  it('keeps different hosts apart', () => {
    const forms = new Set(TABLE.map(([canonical]) => canonical));
    expect(forms.size).toBe(TABLE.length);
    expect(normalizeAddress('10.0.0.10')).not.toBe(normalizeAddress('10.0.0.1'));
    expect(normalizeAddress('web01.corp.example.com')).not.toBe(normalizeAddress('web01.corp.example'));
  });
});

describe('canonicalIpv6', () => {
  /** A deterministic sequence (no Math.random: a failure must be reproducible). */
  function* addresses(n: number): Generator<number[]> {
    let seed = 42;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < n; i++) {
      // Zero groups are common on purpose, so runs of every length and position come up.
      yield Array.from({ length: 8 }, () => (next() % 3 === 0 ? 0 : next() % 0x10000));
    }
  }

  it('agrees with node:net (inet_ntop) on 2,000 addresses written in the long, padded, upper-case form', () => {
    const seen: Array<[string, string, string | undefined]> = [];
    const wanted: Array<[string, string, string]> = [];
    for (const words of addresses(2000)) {
      // inet_ntop writes these with an IPv4 tail; the index turns mapped ones into IPv4 (covered above).
      if (words.slice(0, 5).every((w) => w === 0)) continue;
      const long = words.map((w) => w.toString(16).toUpperCase().padStart(4, '0')).join(':');
      const expected = new SocketAddress({ address: long, family: 'ipv6' }).address;
      seen.push([long, canonicalIpv6(long), normalizeAddress(`[${long}]`)]);
      wanted.push([long, expected, expected]);
    }
    expect(seen).toEqual(wanted);
    expect(seen.length).toBeGreaterThan(1900);
  });
});
