// The heap a DNS-name index (dist/vault DnsIndex) retains for a set of
// resources, measured in this process: heapUsed after full collections,
// before the index exists and once it is complete, the vault played by an
// in-memory directory that answers with fresh strings (as parsed answers
// would be). What the gateway process's RSS adds on top is V8's room from
// parsing the answers, which the bench reports beside it.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { importDist } from './env.mjs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

function settledHeapUsed() {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

const fresh = (s) => JSON.parse(JSON.stringify(s));

/**
 * @param {{ resources: { id: string, dnsName: string }[], maxCallsPerMinute: number }} o
 * Resolves to { retainedMiB, buildMs, stats }.
 */
export async function measureIndexHeap({ resources, maxCallsPerMinute }) {
  const { DnsIndex } = await importDist('vault/index.js');
  const { systemClock } = await importDist('shared/clock.js');
  const byId = new Map(resources.map((r, i) => [r.id, { name: `Gen_Host_${String(i).padStart(5, '0')}`, dnsName: r.dnsName }]));
  const vault = {
    listResources: async () => [...byId].map(([id, r]) => ({ id: fresh(id), name: fresh(r.name), type: undefined, description: undefined, dnsName: undefined })),
    resourceDnsName: async (id) => fresh(byId.get(id).dnsName),
  };
  const before = settledHeapUsed();
  const started = performance.now();
  const index = new DnsIndex({ vault, clock: systemClock, logger: pino({ level: 'silent' }), maxCallsPerMinute, refreshIntervalMs: 24 * 3_600_000 });
  index.start();
  await index.whenReady();
  const buildMs = performance.now() - started;
  const after = settledHeapUsed();
  const stats = index.stats();
  index.stop();
  return { retainedMiB: (after - before) / (1024 * 1024), buildMs, stats };
}
