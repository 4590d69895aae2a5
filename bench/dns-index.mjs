#!/usr/bin/env node
// Benchmark (issue 13): the DNS-name index of a vault profile that maps by
// address (protocol section 9), in real `credgw run` processes against the
// PMP simulator serving generated resources (lib/dns-data.mjs, some DNS
// names duplicated on purpose), the benchmark playing the cloud
// (lib/cloud.mjs). One run measures:
//   - gateway A (budget --build-budget, so that the build fits the run):
//     time to a complete index, vault calls per minute while building and in
//     an idle window after it (counted at the simulator), then getPassword
//     by host name, by IP and by resource ID through A's command path,
//     alternating rounds at concurrency 1, the ID path as the baseline;
//   - gateway B (same config, resourceMatch ["attribute"]: no index), warmed
//     with the same commands by ID: A's RSS minus B's, for information (it
//     holds V8's room from parsing 10,001 answers too);
//   - the heap the index retains, measured in this process after full
//     collections (lib/dns-index-heap.mjs): the target;
//   - gateway C (the default budget): its calls over a short window against
//     what the token bucket allows (no 60 s window over maxCallsPerMinute).

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchArgs, importDist, numberArg, runBench, secretFile, startSimProcess, stopChild, tempDir } from './lib/env.mjs';
import { startBenchCloud } from './lib/cloud.mjs';
import { writeDnsBenchData } from './lib/dns-data.mjs';
import { measureIndexHeap } from './lib/dns-index-heap.mjs';
import { daemonUnavailableReason, memoryMiB, spawnGateway, unitEnvironment } from './lib/gateway-proc.mjs';
import { closedLoop, fmtMs, fmtNum, machineLine, median, printTable, printTargets, info, target, writeResults } from './lib/load.mjs';

const NAME = 'dns-index';
const USAGE = `
node bench/dns-index.mjs [--resources N] [--duplicate-every N] [--build-budget N] [--idle S]
                         [--default-window S] [--duration S] [--warmup S] [--rounds N] [--sample N] [--json]

The DNS-name index of a profile that maps by address, in real \`credgw run\`
processes against the PMP simulator serving generated resources: time to a
complete index, vault calls per minute, getPassword by host name / IP / ID,
the RSS the index adds, the default budget's rate.
  --resources N         generated resources (default 10000)
  --duplicate-every N   every Nth resource repeats the previous DNS name (default 50)
  --build-budget N      dnsIndex.maxCallsPerMinute of the measured gateway (default 60000, the schema's maximum)
  --idle S              idle window after the build, calls counted (default 5)
  --default-window S    window of the default-budget gateway (default 20)
  --duration S          measured seconds per path and round (default 2)
  --warmup S            unrecorded seconds before each (default 0.3)
  --rounds N            rounds, each runs the three paths (default 3)
  --sample N            resources looked up per path (default 200)
  --json                also write bench/results/${NAME}.json
Needs the build ($CREDGW_DIST, default <repo>/dist).`;

const args = benchArgs(
  {
    resources: { type: 'string', default: '10000' },
    'duplicate-every': { type: 'string', default: '50' },
    'build-budget': { type: 'string', default: '60000' },
    idle: { type: 'string', default: '5' },
    'default-window': { type: 'string', default: '20' },
    duration: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '0.3' },
    rounds: { type: 'string', default: '3' },
    sample: { type: 'string', default: '200' },
  },
  USAGE,
);
const resourceCount = numberArg(args, 'resources', { min: 10, integer: true });
const duplicateEvery = numberArg(args, 'duplicate-every', { min: 3, integer: true });
const buildBudget = numberArg(args, 'build-budget', { min: 10, integer: true });
const idleMs = numberArg(args, 'idle', { min: 0.5 }) * 1000;
const defaultWindowMs = numberArg(args, 'default-window', { min: 1 }) * 1000;
const durationMs = numberArg(args, 'duration', { min: 0.1 }) * 1000;
const warmupMs = numberArg(args, 'warmup') * 1000;
const rounds = numberArg(args, 'rounds', { min: 1, integer: true });
const sampleSize = numberArg(args, 'sample', { min: 1, integer: true });

/** The config's default budget (config/defaults.ts) and the bucket's burst (vault/dns-index-budget.ts). */
const DEFAULT_BUDGET = 120;
const burstOf = (budget) => Math.max(1, Math.floor(budget / 10));
const P50_GAP_LIMIT_MS = 0.2;
const RSS_LIMIT_MIB = 10;
const CLUSTER = 'bench';
const ID_ATTRIBUTE = 'PMP Resource ID';
const log = (line) => process.stdout.write(`${line}\n`);

/** The vault calls the index makes: the resource list and one account list per resource. */
function indexCalls(stats) {
  let n = 0;
  for (const [path, count] of Object.entries(stats.byPath)) {
    if (/\/resources$/.test(path) || /\/resources\/\d+\/accounts$/.test(path)) n += count;
  }
  return n;
}

async function main() {
  const reason = daemonUnavailableReason();
  if (reason) throw new Error(reason);
  const { writeConfigDir } = await importDist('sim/gateway-process.js');
  const { SAMPLE_TOKEN } = await importDist('sim/pmp/index.js');
  log(machineLine());
  const dir = tempDir();
  const data = writeDnsBenchData({ dir, count: resourceCount, duplicateEvery, apiUser: { token: SAMPLE_TOKEN, name: 'credgw-gateway' } });
  const simStarted = performance.now();
  const sim = await startSimProcess(dir, { dataFile: data.file });
  log(`simulator: ${resourceCount} resources (every ${duplicateEvery}th repeats a DNS name), up in ${fmtMs(performance.now() - simStarted)}`);
  const tokenRef = secretFile(dir, 'pmp.token', sim.token);
  const controllerToken = `bench-${performance.now().toString(36).replace('.', '')}-token`;
  const controllerTokenRef = secretFile(dir, 'controller.token', controllerToken);
  const cloud = await startBenchCloud({ token: controllerToken, heartbeatMs: 1000, role: 'active', epoch: 1 });
  const serviceEnv = unitEnvironment();

  /** Writes a gateway's config (vault profile "pmp" with `vault` on top) and starts it; resolves once it said hello. */
  const startGateway = async (gatewayId, vault) => {
    const configDir = join(dir, gatewayId);
    writeConfigDir(configDir, {
      gatewayId,
      clusterId: CLUSTER,
      priority: 100,
      controller: { url: cloud.url, token: controllerTokenRef, insecure: true, caFile: null, pinSha256: null, certFile: null, keyFile: null, proxy: null },
      vaults: [
        {
          name: 'pmp',
          url: sim.url,
          token: tokenRef,
          resourceIdAttribute: ID_ATTRIBUTE,
          includeAccountNotes: false,
          requireTicketId: false,
          caFile: sim.caFile,
          pinSha256: null,
          timeoutMs: 10_000,
          ...vault,
        },
      ],
      policy: { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null },
      limits: { maxInFlight: 256 },
      telemetry: { listen: null, logLevel: 'info', audit: join(configDir, 'audit.log') },
    });
    const proc = spawnGateway(configDir, { env: serviceEnv });
    // The index's own line says when it is complete, with its duration and calls.
    proc.indexBuilt = new Promise((resolve) => {
      let buffered = '';
      proc.stdout.on('data', (chunk) => {
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.includes('DNS-name index built')) continue;
          const { resources, addresses, duplicates, calls, failed, durationMs } = JSON.parse(line);
          resolve({ at: performance.now(), fields: { resources, addresses, duplicates, calls, failed, durationMs } });
        }
      });
    });
    await Promise.race([
      cloud.waitForHello(15_000, proc.startedAt),
      proc.exited.then(({ code, signal }) => {
        throw new Error(`credgw run exited (${code ?? signal}) before its hello: ${proc.tail().trim()}`);
      }),
    ]);
    return proc;
  };
  const exitedEarly = (proc) =>
    proc.exited.then(({ code, signal }) => {
      throw new Error(`credgw run exited (${code ?? signal}): ${proc.tail().trim()}`);
    });

  // ---- A: build at the bench budget ------------------------------------------
  await sim.resetStats();
  const a = await startGateway('dns-gw-a', {
    resourceMatch: ['hostName', 'ipAddress', 'attribute'],
    dnsIndex: { maxCallsPerMinute: buildBudget, refreshIntervalMs: 24 * 3_600_000 },
  });
  log(`gateway A (pid ${a.pid}): building the index at up to ${buildBudget} calls/min…`);
  const built = await Promise.race([a.indexBuilt, exitedEarly(a)]);
  const buildStats = await sim.stats();
  const buildCalls = indexCalls(buildStats);
  const buildMs = built.fields.durationMs;
  const fromStartMs = built.at - a.startedAt;
  const buildRate = (buildCalls / buildMs) * 60_000;
  // What the token bucket lets through in that time: no 60 s window over the budget.
  const buildAllowed = burstOf(buildBudget) + ((buildBudget - burstOf(buildBudget)) * fromStartMs) / 60_000;
  log(
    `  complete: ${built.fields.resources} resources, ${built.fields.addresses} addresses, ${built.fields.duplicates} duplicated, ` +
      `${fmtMs(buildMs)} (${fmtMs(fromStartMs)} from process start), ${buildCalls} index calls at the simulator = ${fmtNum(buildRate, 0)}/min`,
  );
  await sim.resetStats();
  await new Promise((r) => setTimeout(r, idleMs));
  const idleCalls = indexCalls(await sim.stats());
  const idleRate = (idleCalls / idleMs) * 60_000;
  log(`  idle window of ${idleMs / 1000} s after the build: ${idleCalls} index calls = ${fmtNum(idleRate, 0)}/min`);

  // ---- lookups through A's command path ------------------------------------------
  /** `sampleSize` resources with a unique DNS name of one kind, spread over the whole set. */
  const spread = (isIp) => {
    const pool = data.resources.filter((r) => r.unique && /^\d/.test(r.dnsName) === isIp);
    const step = Math.max(1, Math.floor(pool.length / sampleSize));
    return pool.filter((_, i) => i % step === 0).slice(0, sampleSize);
  };
  const byHost = spread(false);
  const byIp = spread(true);
  const byId = [...byHost, ...byIp];
  const command = (resource, r) => cloud.send('getPassword', { vault: 'pmp', resource, accountId: r.accountId });
  const cycle = (list, make) => {
    let i = 0;
    return async () => {
      const r = list[i++ % list.length];
      const out = await command(make(r), r);
      if (typeof out?.password !== 'string' || out.password === '') throw new Error('result without a password');
    };
  };
  const paths = {
    id: cycle(byId, (r) => ({ id: `cloud-${r.id}`, customAttributes: { [ID_ATTRIBUTE]: r.id } })),
    hostName: cycle(byHost, (r) => ({ id: `cloud-${r.id}`, hostName: r.dnsName.toUpperCase() })),
    ipAddress: cycle(byIp, (r) => ({ id: `cloud-${r.id}`, ipAddress: r.dnsName })),
  };
  // Warm every resource of the sample on every path (the account metadata cache, TLS sessions).
  for (let i = 0; i < byId.length; i++) await paths.id();
  for (let i = 0; i < byHost.length; i++) await paths.hostName();
  for (let i = 0; i < byIp.length; i++) await paths.ipAddress();
  const ambiguous = data.resources.find((r, i) => i % duplicateEvery === duplicateEvery - 1);
  const ambiguousCode = await command({ id: 'cloud-dup', hostName: ambiguous.dnsName }, ambiguous).then(
    () => 'ok',
    (err) => err.code,
  );
  log(`  a duplicated DNS name (${ambiguous.dnsName}) answers ${ambiguousCode}`);

  const names = Object.keys(paths);
  const perRound = [];
  for (let round = 0; round < rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const r = {};
    for (const path of order) r[path] = await closedLoop({ concurrency: 1, durationMs, warmupMs, fn: paths[path] });
    perRound.push(r);
    log(`  round ${round + 1}: ${names.map((n) => `${n} p50 ${fmtMs(r[n].latency.p50)} p99 ${fmtMs(r[n].latency.p99)}`).join(' | ')}`);
  }
  const pick = (path) => ({
    throughput: median(perRound.map((p) => p[path].throughput)),
    p50: median(perRound.map((p) => p[path].latency.p50)),
    p99: median(perRound.map((p) => p[path].latency.p99)),
    errors: perRound.reduce((n, p) => n + p[path].errors, 0),
    firstError: perRound.map((p) => p[path].firstError).find(Boolean),
  });
  const summary = Object.fromEntries(names.map((n) => [n, pick(n)]));
  const gap = (path) => median(perRound.map((p) => p[path].latency.p50 - p.id.latency.p50));
  const gapHost = gap('hostName');
  const gapIp = gap('ipAddress');
  printTable(
    `getPassword through gateway A at concurrency 1, median of ${rounds} round(s)`,
    ['path', 'req/s', 'p50', 'p99', 'p50 − ID p50', 'errors'],
    names.map((n) => [n, fmtNum(summary[n].throughput, 0), fmtMs(summary[n].p50), fmtMs(summary[n].p99), n === 'id' ? 'base' : fmtMs(gap(n)), String(summary[n].errors)]),
  );
  const memA = memoryMiB(a.pid);

  // ---- B: the same gateway without an index, for RSS ------------------------------
  const b = await startGateway('dns-gw-b', { resourceMatch: ['attribute'] });
  for (let i = 0; i < byId.length * 3; i++) await paths.id();
  const memB = memoryMiB(b.pid);
  const rssAdded = memA && memB ? memA.rss - memB.rss : null;
  log(`RSS: gateway A (index) ${fmtNum(memA?.rss)} MiB, gateway B (no index) ${fmtNum(memB?.rss)} MiB: the index adds ${fmtNum(rssAdded)} MiB`);
  await stopChild(b);
  await stopChild(a);

  // ---- C: the default budget over a short window -------------------------------
  await sim.resetStats();
  const c = await startGateway('dns-gw-c', { resourceMatch: ['hostName', 'attribute'] });
  const windowStart = performance.now();
  await new Promise((r) => setTimeout(r, defaultWindowMs));
  const defaultCalls = indexCalls(await sim.stats());
  // From the process start: the window the index can have used is at most this long.
  const windowMs = performance.now() - c.startedAt;
  const allowed = burstOf(DEFAULT_BUDGET) + ((DEFAULT_BUDGET - burstOf(DEFAULT_BUDGET)) * windowMs) / 60_000;
  const defaultRate = (defaultCalls / (performance.now() - windowStart)) * 60_000;
  log(
    `gateway C (default budget ${DEFAULT_BUDGET}/min): ${defaultCalls} index calls in ${fmtNum(windowMs / 1000)} s ` +
      `(${fmtNum(defaultRate, 0)}/min; the bucket allows ${fmtNum(allowed, 1)}: burst ${burstOf(DEFAULT_BUDGET)} + ${DEFAULT_BUDGET - burstOf(DEFAULT_BUDGET)}/min)`,
  );
  await stopChild(c);

  // ---- the index's own heap, in this process ------------------------------------
  const heap = await measureIndexHeap({ resources: data.resources, maxCallsPerMinute: buildBudget });
  log(`heap the index retains in this process: ${fmtNum(heap.retainedMiB)} MiB for ${heap.stats.resources} resources, ${heap.stats.addresses} addresses`);

  const errors = names.reduce((n, k) => n + summary[k].errors, 0);
  const targets = [
    info('time to a complete index', buildMs / 1000, ' s'),
    info(`vault calls/min while building (budget ${buildBudget}, burst ${burstOf(buildBudget)})`, buildRate, '/min'),
    target(`calls while building, against the bucket's ${fmtNum(buildAllowed, 0)}`, buildCalls, '<=', Math.floor(buildAllowed)),
    target(`vault calls/min idle after the build (budget ${buildBudget})`, idleRate, '<=', buildBudget, '/min'),
    target(`default budget: calls in the first ${fmtNum(windowMs / 1000, 0)} s`, defaultCalls, '<=', Math.floor(allowed)),
    target('p50 by host name − p50 by ID', gapHost, '<=', P50_GAP_LIMIT_MS, ' ms'),
    target('p50 by IP − p50 by ID', gapIp, '<=', P50_GAP_LIMIT_MS, ' ms'),
    target(`heap the index retains (${resourceCount} resources)`, heap.retainedMiB, '<=', RSS_LIMIT_MIB, ' MiB'),
    info('RSS of gateway A (index) − gateway B (none)', rssAdded, ' MiB'),
    target('duplicated DNS name answers RESOURCE_AMBIGUOUS', ambiguousCode === 'RESOURCE_AMBIGUOUS' ? 1 : 0, '==', 1),
    target('errors', errors, '==', 0),
  ];
  if (errors > 0) log(`first error: ${names.map((n) => summary[n].firstError).find(Boolean)}`);
  printTargets(targets);

  if (args.json) {
    const file = writeResults(NAME, {
      settings: { resourceCount, duplicateEvery, buildBudget, idleMs, defaultWindowMs, durationMs, warmupMs, rounds, sampleSize },
      build: { ...built.fields, fromProcessStartMs: fromStartMs, calls: buildCalls, callsPerMinute: buildRate, allowed: buildAllowed },
      idle: { calls: idleCalls, callsPerMinute: idleRate },
      lookups: { summary, p50GapMs: { hostName: gapHost, ipAddress: gapIp }, rounds: perRound },
      memory: { withIndex: memA, withoutIndex: memB, rssAddedMiB: rssAdded, indexHeap: heap },
      defaultBudget: { calls: defaultCalls, windowMs, allowed, callsPerMinute: defaultRate },
      targets,
    });
    log(`\nresults: ${file}`);
  }
  await cloud.close();
  await sim.close();
}

await runBench(NAME, main);
