// The dns-index bench's simulator data: `count` resources, each with one
// account and a DNS NAME, half host names and half IPv4 addresses, and
// every `duplicateEvery`-th resource sharing the DNS NAME of the one
// before it on purpose (RESOURCE_AMBIGUOUS for that address). Written as a
// simulator data file (docs/pmp-simulator.md) beside the built-in sample's
// main API user.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FIRST_RESOURCE_ID = 100_000;
const FIRST_ACCOUNT_ID = 5_000_000;

/** Resource i's own DNS NAME (before duplication): even i a host name, odd i an IPv4 address. */
function ownDnsName(i) {
  return i % 2 === 0 ? `gen-host-${String(i).padStart(5, '0')}.bench.example` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/**
 * Writes `dir/dns-bench-data.json`. Resolves to { file, resources: [{ id, accountId, dnsName, unique }] }
 * (`unique`: no other resource has that DNS NAME).
 * @param {{ dir: string, count: number, duplicateEvery: number, apiUser: { token: string, name: string } }} o
 */
export function writeDnsBenchData({ dir, count, duplicateEvery, apiUser }) {
  const resources = [];
  for (let i = 0; i < count; i++) {
    const duplicate = i % duplicateEvery === duplicateEvery - 1;
    resources.push({
      id: String(FIRST_RESOURCE_ID + i),
      accountId: String(FIRST_ACCOUNT_ID + i),
      dnsName: duplicate ? ownDnsName(i - 1) : ownDnsName(i),
      unique: !duplicate && !(i % duplicateEvery === duplicateEvery - 2),
    });
  }
  const data = {
    apiUsers: [{ name: apiUser.name, token: apiUser.token, allowedHosts: ['127.0.0.1', '::1'] }],
    resources: resources.map((r, i) => ({
      id: r.id,
      name: `Gen_Host_${String(i).padStart(5, '0')}`,
      type: i % 2 === 0 ? 'Linux' : 'Windows',
      dnsName: r.dnsName,
      accounts: [{ id: r.accountId, name: 'admin', password: `Sim-Gen-${i}-Pass!` }],
    })),
  };
  const file = join(dir, 'dns-bench-data.json');
  writeFileSync(file, JSON.stringify(data));
  return { file, resources };
}
