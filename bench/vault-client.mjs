#!/usr/bin/env node
// Benchmark (issue 1/4): getPassword through credgw's vault client
// (dist/vault) against raw undici requests to the same PMP simulator, in the
// same run, at concurrency 1 and 32. The two paths take turns in several
// rounds (alternating which goes first) so that drift on a shared machine
// hits both alike; the reported ratio is the median of the per-round ratios.
// Target: the client costs under 10% (throughput ratio >= 0.90, latency
// ratios <= 1.10). A third, informational path (raw+deadline) is raw undici
// plus the AbortSignal and timer any caller with a deadline adds: it shows
// how much of the client's cost is the deadline itself.

import { pino } from 'pino';
import { benchArgs, runBench, importDist, numberArg, secretFile, startSimProcess, tempDir } from './lib/env.mjs';
import { rawPmpClient, PASSWORD_PATH } from './lib/raw-pmp.mjs';
import {
  closedLoop,
  fmtMs,
  fmtNum,
  fmtRatio,
  machineLine,
  median,
  printTable,
  printTargets,
  resultRow,
  RESULT_HEADER,
  target,
  writeResults,
} from './lib/load.mjs';

const NAME = 'vault-client';
const USAGE = `
node bench/vault-client.mjs [--duration S] [--warmup S] [--rounds N] [--concurrency LIST] [--json]

getPassword throughput and latency through credgw's vault client vs raw undici
requests to the same PMP simulator (its own process), in one run; plus raw
undici with a deadline (AbortSignal + timer) for reference.
  --duration S      measured seconds per path, concurrency and round (default 2)
  --warmup S        unrecorded seconds before each measurement (default 0.3)
  --rounds N        rounds; each runs every path at every concurrency (default 5)
  --concurrency L   comma-separated concurrencies (default 1,32)
  --json            also write bench/results/${NAME}.json
Imports the built code from $CREDGW_DIST (default <repo>/dist).`;

const args = benchArgs(
  {
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '0.3' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1,32' },
  },
  USAGE,
);
const durationMs = numberArg(args, 'duration', { min: 0.1 }) * 1000;
const warmupMs = numberArg(args, 'warmup') * 1000;
const rounds = numberArg(args, 'rounds', { min: 1, integer: true });
const concurrencies = args.concurrency.split(',').map((s) => Number(s.trim()));
if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) {
  process.stderr.write('--concurrency must list positive integers\n');
  process.exit(2);
}
const CONNECTIONS = Math.max(32, ...concurrencies);

async function main() {
  const { createVaultClient } = await importDist('vault/index.js');
  const dir = tempDir();
  const sim = await startSimProcess(dir);
  const profile = Object.freeze({
    name: 'pmp',
    url: sim.url,
    token: secretFile(dir, 'pmp.token', sim.token),
    orgName: null,
    resourceIdAttribute: 'PMP Resource ID',
    includeAccountNotes: false,
    requireTicketId: false,
    caFile: sim.caFile,
    pinSha256: null,
    timeoutMs: 10_000,
    maxConnections: CONNECTIONS,
    metadataTtlMs: 30_000,
    notesConcurrency: 8,
    healthIntervalMs: 15_000,
    maxResponseBytes: 24 * 1024 * 1024,
  });
  // The daemon reads the token file once and keeps it; so does the benchmark.
  const token = sim.token;
  const client = createVaultClient(profile, { readToken: async () => token, logger: pino({ level: 'silent' }) });
  const raw = await rawPmpClient({ origin: sim.url, token, caFile: sim.caFile, connections: CONNECTIONS });

  const viaClient = async () => {
    const r = await client.getPassword('301', '902', {});
    if (typeof r.password !== 'string' || r.password === '') throw new Error('no password');
  };
  const viaRaw = async () => {
    await raw.getPassword();
  };
  // Informational: raw plus what any caller with a deadline adds (an
  // AbortSignal handed to undici and a timer), to show how much of the
  // client's cost is the deadline itself.
  const viaRawDeadline = async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error('deadline')), 10_000);
    try {
      await raw.getPassword(ac.signal);
    } finally {
      clearTimeout(timer);
    }
  };
  const PATHS = { raw: viaRaw, client: viaClient, deadline: viaRawDeadline };
  const LABEL = { raw: 'raw undici', client: 'vault client', deadline: 'raw+deadline' };

  // Warm both: TLS sessions, the client's account metadata cache.
  const expected = await raw.getPassword();
  const first = await client.getPassword('301', '902', {});
  if (first.password !== expected) throw new Error('the vault client and the raw request disagree on the password');
  await sim.resetStats();

  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write(
    `vault-client: ${rounds} round(s) × concurrency ${concurrencies.join(',')} × {raw, client, raw+deadline}, ` +
      `${durationMs / 1000} s each after ${warmupMs / 1000} s warm-up; simulator pid ${sim.pid}\n`,
  );
  const perRound = [];
  const names = Object.keys(PATHS);
  for (let round = 0; round < rounds; round++) {
    for (const c of concurrencies) {
      // Rotate the order so that no path always runs first (or right after another).
      const order = names.map((_, i) => names[(i + round) % names.length]);
      const r = {};
      for (const path of order) {
        r[path] = await closedLoop({ concurrency: c, durationMs, warmupMs, fn: PATHS[path] });
      }
      perRound.push({ round, concurrency: c, ...r });
      process.stdout.write(
        `  round ${round + 1} c=${c}: ` +
          names.map((n) => `${n} ${fmtNum(r[n].throughput, 0)}/s p50 ${fmtMs(r[n].latency.p50)}`).join(' | ') +
          ` | client/raw ${fmtRatio(r.client.throughput / r.raw.throughput)}\n`,
      );
    }
  }
  const stats = await sim.stats();

  const summary = [];
  for (const c of concurrencies) {
    const rows = perRound.filter((p) => p.concurrency === c);
    const pick = (path) => ({
      throughput: median(rows.map((p) => p[path].throughput)),
      p50: median(rows.map((p) => p[path].latency.p50)),
      p99: median(rows.map((p) => p[path].latency.p99)),
    });
    const ratios = (path) => ({
      throughput: median(rows.map((p) => p[path].throughput / p.raw.throughput)),
      p50: median(rows.map((p) => p[path].latency.p50 / p.raw.latency.p50)),
      p99: median(rows.map((p) => p[path].latency.p99 / p.raw.latency.p99)),
    });
    summary.push({
      concurrency: c,
      raw: pick('raw'),
      client: pick('client'),
      deadline: pick('deadline'),
      ratios: ratios('client'),
      deadlineRatios: ratios('deadline'),
      errors: rows.reduce((n, p) => n + names.reduce((m, k) => m + p[k].errors, 0), 0),
    });
  }

  const last = (c) => perRound.filter((p) => p.concurrency === c).at(-1);
  printTable(
    'last round, as measured',
    RESULT_HEADER,
    concurrencies.flatMap((c) => names.map((n) => resultRow(`${LABEL[n]} c=${c}`, last(c)[n]))),
  );
  printTable(
    `median of ${rounds} round(s), ratio = path / raw undici (1.000× = no cost)`,
    ['path', 'req/s', 'throughput', 'p50', 'p50 ratio', 'p99', 'p99 ratio'],
    summary.flatMap((s) =>
      [
        ['raw', s.raw, null],
        ['client', s.client, s.ratios],
        ['deadline', s.deadline, s.deadlineRatios],
      ].map(([n, m, r]) => [
        `${LABEL[n]} c=${s.concurrency}`,
        fmtNum(m.throughput, 0),
        r ? fmtRatio(r.throughput) : 'base',
        fmtMs(m.p50),
        r ? fmtRatio(r.p50) : 'base',
        fmtMs(m.p99),
        r ? fmtRatio(r.p99) : 'base',
      ]),
    ),
  );
  const accountsCalls = stats.byPath['/restapi/json/v1/resources/301/accounts'] ?? 0;
  process.stdout.write(
    `\nsimulator: ${stats.requests} requests, ${stats.byPath[PASSWORD_PATH] ?? 0} password calls, ` +
      `${accountsCalls} account-list calls by the client's metadata cache (TTL ${profile.metadataTtlMs / 1000} s)\n`,
  );

  const targets = [];
  for (const s of summary) {
    targets.push(target(`vault client throughput / raw, c=${s.concurrency}`, s.ratios.throughput, '>=', 0.9, '×'));
    targets.push(target(`vault client p50 / raw, c=${s.concurrency}`, s.ratios.p50, '<=', 1.1, '×'));
    targets.push(target(`vault client p99 / raw, c=${s.concurrency}`, s.ratios.p99, '<=', 1.1, '×'));
  }
  targets.push(target('errors', summary.reduce((n, s) => n + s.errors, 0), '==', 0));
  printTargets(targets);

  if (args.json) {
    const file = writeResults(NAME, {
      settings: { durationMs, warmupMs, rounds, concurrencies, connections: CONNECTIONS },
      summary,
      rounds: perRound,
      simulator: stats,
      targets,
    });
    process.stdout.write(`\nresults: ${file}\n`);
  }
  await client.close();
  await raw.close();
  await sim.close();
}

await runBench(NAME, main);
