import { isIP } from 'node:net';
import {
  GENERATED_BULK_RESOURCE_ID,
  generateResources,
  resolveBehaviour,
  DEFAULT_BEHAVIOUR,
  SAMPLE_DATA,
  validateSimData,
  withGenerated,
} from '../../../src/sim/pmp/index.js';

/** The normal form a lookup by address compares (what the generator groups duplicates by). */
function normal(dns: string): string {
  const t = dns.toLowerCase().replace(/\.$/, '');
  if (isIP(t) !== 6) return t;
  // Expand, then compress as RFC 5952 does, so every spelling of one address meets.
  const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right].map((g) => parseInt(g, 16));
  let best = -1;
  let len = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > len) [best, len] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  return best === -1 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + len).join(':')}`;
}

describe('generateResources', () => {
  const set = generateResources({ resources: 10_000, seed: 7 });

  it('is deterministic for a seed, and differs between seeds', () => {
    expect(JSON.stringify(generateResources({ resources: 10_000, seed: 7 }).resources)).toBe(JSON.stringify(set.resources));
    expect(JSON.stringify(generateResources({ resources: 10_000, seed: 8 }).resources)).not.toBe(JSON.stringify(set.resources));
  });

  it('makes valid data with the sample, IDs clear of it and unique names', () => {
    const data = validateSimData(withGenerated(SAMPLE_DATA, { resources: 10_000, seed: 7 }));
    expect(data.resources).toHaveLength(SAMPLE_DATA.resources.length + 10_000);
    expect(set.resources[0]!.id).toBe('100001');
    expect(set.resources.every((r) => r.accounts.length === 2)).toBe(true);
    expect(new Set(set.resources.map((r) => r.name.toLowerCase())).size).toBe(10_000);
  });

  it('spells DNS names as real vaults hold them: host names, IPv4, IPv6 in several spellings, capitals, trailing dots', () => {
    const names = set.resources.map((r) => r.dnsName);
    const count = (p: (n: string) => boolean): number => names.filter(p).length;
    expect(count((n) => isIP(n) === 4)).toBeGreaterThan(1000);
    expect(count((n) => isIP(n) === 6 && n.includes('::') && n === n.toLowerCase())).toBeGreaterThan(100);
    expect(count((n) => isIP(n) === 6 && n !== n.toLowerCase())).toBeGreaterThan(50);
    expect(count((n) => isIP(n) === 6 && !n.includes('::'))).toBeGreaterThan(50);
    expect(count((n) => isIP(n) === 0 && n.endsWith('.corp.example'))).toBeGreaterThan(1000);
    expect(count((n) => isIP(n) === 0 && !n.includes('.'))).toBeGreaterThan(500);
    expect(count((n) => n.endsWith('.'))).toBeGreaterThan(50);
    expect(count((n) => isIP(n) === 0 && n !== n.toLowerCase())).toBeGreaterThan(50);
  });

  it('duplicates about 1 % of the DNS names on purpose, and reports every group by its normal form', () => {
    const byNormal = new Map<string, string[]>();
    for (const r of set.resources) byNormal.set(normal(r.dnsName), [...(byNormal.get(normal(r.dnsName)) ?? []), r.id]);
    const groups = new Map([...byNormal].filter(([, ids]) => ids.length > 1));
    expect(groups).toEqual(set.duplicates);
    expect(set.duplicates.size).toBeGreaterThan(50);
    expect(set.duplicates.size).toBeLessThan(200);
    // Some duplicates are spelled differently from their twin.
    const spelledApart = [...set.duplicates.values()].filter((ids) => new Set(ids.map((id) => set.resources.find((r) => r.id === id)!.dnsName)).size > 1);
    expect(spelledApart.length).toBeGreaterThan(10);
  });

  it('names some resources after their own host name and a few after another resource\'s', () => {
    const own = set.resources.filter((r) => r.name === normal(r.dnsName));
    expect(own.length).toBeGreaterThan(500);
    expect(set.misleadingNames.length).toBeGreaterThan(5);
    for (const id of set.misleadingNames) {
      const r = set.resources.find((x) => x.id === id)!;
      expect(normal(r.dnsName)).not.toBe(r.name);
      expect(set.resources.some((o) => o.id !== id && normal(o.dnsName) === r.name)).toBe(true);
    }
  });

  it('adds one resource with many accounts for paging', () => {
    const bulk = generateResources({ resources: 0, bulkAccounts: 40_000 });
    expect(bulk.resources).toHaveLength(1);
    const r = bulk.resources[0]!;
    expect(r.id).toBe(GENERATED_BULK_RESOURCE_ID);
    expect(r.accounts).toHaveLength(40_000);
    expect(r.accounts[39_999]).toMatchObject({ id: '50040000', name: 'bulk0040000', password: 'Bulk-0040000' });
    expect(() => validateSimData(withGenerated(SAMPLE_DATA, { resources: 100, bulkAccounts: 40_000 }))).not.toThrow();
  });

  it.each([
    [{ resources: -1 }, 'generate.resources'],
    [{ resources: 1.5 }, 'generate.resources'],
    [{ resources: 1, accountsPerResource: 51 }, 'generate.accountsPerResource'],
    [{ resources: 1, bulkAccounts: 1_000_001 }, 'generate.bulkAccounts'],
    [{ resources: 1, seed: -2 }, 'generate.seed'],
  ])('refuses %j naming %s', (o, keyPath) => {
    expect(() => generateResources(o)).toThrow(expect.objectContaining({ code: 'SIM_DATA_INVALID', keyPath }));
  });
});

describe('resolveBehaviour', () => {
  it('gives the defaults, with switches applied', () => {
    expect(resolveBehaviour(undefined)).toEqual(DEFAULT_BEHAVIOUR);
    expect(resolveBehaviour({ startIndexBase: 1, pagedTotalRows: 'page' })).toEqual({ ...DEFAULT_BEHAVIOUR, startIndexBase: 1, pagedTotalRows: 'page' });
  });
  it.each([
    [[], 'behaviour'],
    [{ startIndexBase: 2 }, 'behaviour.startIndexBase'],
    [{ requireAppName: 'yes' }, 'behaviour.requireAppName'],
    [{ strict: true }, 'behaviour.strict'],
  ])('refuses %j naming %s', (raw, keyPath) => {
    expect(() => resolveBehaviour(raw)).toThrow(expect.objectContaining({ code: 'SIM_DATA_INVALID', keyPath }));
  });
});
