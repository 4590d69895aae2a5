#!/usr/bin/env node
// Benchmark (issue 2/4): getPassword end to end, one Node load generator
// playing the cloud, four paths to the same PMP simulator in one run:
//   (a) the protocol over the WebSocket to a real `credgw run` process (the
//       load generator is the controller: lib/cloud.mjs);
//   (b) undici straight to the simulator (the floor);
//   (c) undici through an OpenSSH reverse tunnel (ssh -R) to the simulator,
//       what an admin would set up instead of a gateway;
//   (d) the reference controller's HTTP API (POST .../commands) in front of
//       a second `credgw run` process.
// For each: throughput at concurrency 32 (closed loop) and p50/p99 at a
// fixed 200 req/s (open loop, latency from the scheduled send time). Also
// the gateway's RSS with 1,000 commands in flight (simulator latency
// injection keeps them there) and the time from process start to the hello
// the controller receives (median of several starts).

import { performance } from 'node:perf_hooks';
import { benchArgs, runBench, numberArg, secretFile, startSimProcess, stopChild, tempDir } from './lib/env.mjs';
import { startBenchCloud } from './lib/cloud.mjs';
import { daemonUnavailableReason, memoryMiB, spawnGateway, unitEnvironment, writeGatewayConfig } from './lib/gateway-proc.mjs';
import {
  closedLoop,
  fmtMs,
  fmtNum,
  fmtRatio,
  machineLine,
  median,
  openLoop,
  pooledClosedLoops,
  printTable,
  printTargets,
  resultRow,
  RESULT_HEADER,
  target,
  writeResults,
} from './lib/load.mjs';
import { rawPmpClient } from './lib/raw-pmp.mjs';
import { controllerApi, controllerUnavailableReason, startControllerProcess } from './lib/ref-controller.mjs';
import { INSTALL_HINT, sshUnavailableReason, startReverseTunnel } from './lib/ssh-tunnel.mjs';

const NAME = 'gateway';
const USAGE = `
node bench/gateway.mjs [--paths a,b,c,d] [--concurrency N] [--rate R] [--duration S]
                       [--latency-duration S] [--warmup S] [--rounds N] [--starts N]
                       [--in-flight N] [--rss-starts N] [--json]

getPassword end to end through (a) credgw run over the WebSocket protocol,
(b) undici straight to the PMP simulator, (c) undici through an ssh -R tunnel,
(d) the reference controller's HTTP API in front of credgw run.
  --paths L             which paths to run (default a,b,c,d)
  --concurrency N       closed-loop concurrency for throughput (default 32)
  --rate R              open-loop rate for latency, req/s (default 200)
  --duration S          seconds of each throughput measurement (default 10)
  --latency-duration S  seconds of each latency measurement (default 6)
  --warmup S            unrecorded seconds before each measurement (default 1)
  --rounds N            with (a) and (b) both, their throughput is measured in N
                        alternating rounds of duration/N each (default 6)
  --starts N            gateway starts for the start-to-hello median (default 5)
  --in-flight N         commands held in flight for the RSS figure (default 1000)
  --rss-starts N        fresh starts of the gateway as the service runs it for the
                        RSS figure, which is their median (default 3)
  --json                also write bench/results/${NAME}.json
Needs: the build ($CREDGW_DIST, default <repo>/dist); for (c), openssh-server and
openssh-client (${INSTALL_HINT}) and root.`;

const args = benchArgs(
  {
    paths: { type: 'string', default: 'a,b,c,d' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    'latency-duration': { type: 'string', default: '6' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '6' },
    starts: { type: 'string', default: '5' },
    'in-flight': { type: 'string', default: '1000' },
    'rss-starts': { type: 'string', default: '3' },
  },
  USAGE,
);
const paths = new Set(args.paths.split(',').map((s) => s.trim()));
const concurrency = numberArg(args, 'concurrency', { min: 1, integer: true });
const rate = numberArg(args, 'rate', { min: 1 });
const durationMs = numberArg(args, 'duration', { min: 0.1 }) * 1000;
const latencyMs = numberArg(args, 'latency-duration', { min: 0.1 }) * 1000;
const warmupMs = numberArg(args, 'warmup') * 1000;
const rounds = numberArg(args, 'rounds', { min: 1, integer: true });
const starts = numberArg(args, 'starts', { min: 1, integer: true });
const inFlightN = numberArg(args, 'in-flight', { min: 1, integer: true });
const rssStarts = numberArg(args, 'rss-starts', { min: 1, integer: true });

const CLUSTER = 'bench';
const PARAMS = Object.freeze({
  vault: 'pmp',
  resource: { id: 'bench-resource', customAttributes: { 'PMP Resource ID': '301' } },
  accountId: '902',
});
const LABEL = { a: '(a) credgw run, WebSocket', b: '(b) undici direct', c: '(c) undici via ssh -R', d: '(d) ref. controller HTTP API' };

const log = (line) => process.stdout.write(`${line}\n`);

/** Throughput then latency for one path. */
async function measure(key, fn) {
  log(`  ${LABEL[key]}: throughput at concurrency ${concurrency}…`);
  const throughput = await closedLoop({ concurrency, durationMs, warmupMs, fn });
  log(`  ${LABEL[key]}: latency at ${rate} req/s…`);
  const latency = await openLoop({ rate, durationMs: latencyMs, warmupMs, fn });
  return { throughput, latency };
}

function expectPassword(data) {
  if (typeof data?.password !== 'string' || data.password === '') throw new Error('result without a password');
}

async function main() {
  log(machineLine());
  const dir = tempDir();
  const sim = await startSimProcess(dir);
  const simTokenRef = secretFile(dir, 'pmp.token', sim.token);
  const controllerToken = `bench-${performance.now().toString(36).replace('.', '')}-token`;
  const controllerTokenRef = secretFile(dir, 'controller.token', controllerToken);
  const vault = { url: sim.url, tokenRef: simTokenRef, caFile: sim.caFile };
  const results = {};
  const skipped = {};
  const extra = {};

  // ---- (b) the floor -------------------------------------------------------
  // With (a) as well, (b)'s throughput is measured in rounds alternating with (a)'s (see pooledClosedLoops).
  let raw;
  const viaRaw = () => raw.getPassword();
  const interleaveAB = paths.has('a') && paths.has('b') && !daemonUnavailableReason();
  if (paths.has('b')) {
    raw = await rawPmpClient({ origin: sim.url, token: sim.token, caFile: sim.caFile, connections: concurrency });
    await raw.getPassword();
    if (!interleaveAB) {
      log('(b) undici straight to the simulator');
      results.b = await measure('b', viaRaw);
      await raw.close();
    }
  }

  // ---- (c) ssh reverse tunnel ----------------------------------------------
  if (paths.has('c')) {
    const reason = sshUnavailableReason();
    if (reason) {
      skipped.c = reason;
      log(`(c) SKIPPED: ${reason}`);
    } else {
      const tunnel = await startReverseTunnel(dir, sim.port);
      const viaTunnel = await rawPmpClient({
        origin: `https://127.0.0.1:${tunnel.port}`,
        token: sim.token,
        caFile: sim.caFile,
        connections: concurrency,
      });
      await viaTunnel.getPassword();
      log(`(c) undici through ssh -R (sshd pid ${tunnel.sshdPid}, ssh pid ${tunnel.sshPid}, entry port ${tunnel.port})`);
      results.c = await measure('c', () => viaTunnel.getPassword());
      await viaTunnel.close();
      await tunnel.close();
    }
  }

  // ---- (a) credgw run over the WebSocket ---------------------------------------
  const daemonReason = daemonUnavailableReason();
  if (paths.has('a')) {
    if (daemonReason) {
      skipped.a = daemonReason;
      log(`(a) SKIPPED: ${daemonReason}`);
    } else {
      const cloud = await startBenchCloud({ token: controllerToken, heartbeatMs: 1000, role: 'active', epoch: 1 });
      const { configDir } = writeGatewayConfig(dir, {
        gatewayId: 'bench-gw-a',
        clusterId: CLUSTER,
        controllerUrl: cloud.url,
        controllerTokenRef,
        vault,
        // Room for the in-flight figure below; the throughput runs stay far under it.
        maxInFlight: Math.max(256, inFlightN * 2),
        logLevel: 'warn',
      });
      // Every gateway measured for a target runs as the systemd unit runs it (its Environment=
      // lines); one plain `node dist/cli/main.js run` is measured for RSS, for reference.
      const serviceEnv = unitEnvironment();
      /** Spawns `credgw run` (env: extra environment) and resolves with [process, its hello] once it said hello. */
      const startGateway = async (env) => {
        const proc = spawnGateway(configDir, { env });
        const hello = await Promise.race([
          cloud.waitForHello(15_000, proc.startedAt),
          proc.exited.then(({ code, signal }) => {
            throw new Error(`credgw run exited (${code ?? signal}) before its hello: ${proc.tail().trim()}`);
          }),
        ]);
        return [proc, hello];
      };
      log(`(a) credgw run: ${starts} start(s) to measure process start → hello`);
      const startToHello = [];
      let gw;
      for (let i = 0; i < starts; i++) {
        let hello;
        [gw, hello] = await startGateway(serviceEnv);
        startToHello.push(hello.at - gw.startedAt);
        await stopChild(gw);
      }
      extra.startToHelloMs = { samples: startToHello, median: median(startToHello) };
      log(`  start → hello: median ${fmtMs(median(startToHello))} (${startToHello.map((v) => fmtNum(v, 0)).join(', ')} ms)`);

      const viaGateway = async () => expectPassword(await cloud.send('getPassword', PARAMS, 10_000));

      // RSS with inFlightN commands held in flight by a slow vault, measured
      // twice: as `node dist/cli/main.js run` plain, and as the systemd unit
      // runs it (its Environment= lines, read from systemd/credgw.service).
      const holdAndSample = async (which, proc) => {
        log(`(a) RSS of a freshly started gateway (${which}) with ${inFlightN} commands in flight`);
        const idle = memoryMiB(proc.pid);
        await sim.setLatency(60_000);
        // Answers that come back before the sample (they should not) are counted by outcome.
        const early = {};
        let sampling = true;
        const pendingBefore = cloud.pendingCount;
        const held = Array.from({ length: inFlightN }, () =>
          cloud.send('getPassword', PARAMS, 60_000).then(
            () => sampling && (early.ok = (early.ok ?? 0) + 1),
            (e) => sampling && (early[e.code ?? 'error'] = (early[e.code ?? 'error'] ?? 0) + 1),
          ),
        );
        let peak = 0;
        let samples = 0;
        const until = performance.now() + 2500;
        while (performance.now() < until) {
          await new Promise((r) => setTimeout(r, 100));
          const m = memoryMiB(proc.pid);
          if (m) peak = Math.max(peak, m.rss);
          samples++;
        }
        sampling = false;
        const inFlight = cloud.pendingCount - pendingBefore;
        const after = memoryMiB(proc.pid);
        log(`  RSS idle ${fmtNum(idle?.rss)} MiB, with ${inFlight} in flight ${fmtNum(peak)} MiB (VmHWM ${fmtNum(after?.hwm)} MiB)`);
        if (inFlight < inFlightN) {
          log(`  note: only ${inFlight} of ${inFlightN} stayed in flight; answered early: ${JSON.stringify(early)}`);
        }
        // That gateway holds commands the slow vault will answer in a minute: stop it.
        await stopChild(proc, 0);
        await sim.setLatency(0);
        await Promise.allSettled(held);
        return { idleMiB: idle?.rss ?? null, withInFlightMiB: peak || null, hwmMiB: after?.hwm ?? null, inFlight, answeredEarly: early, samples };
      };
      // Each gateway below gets a short warm-up (TLS sessions, metadata cache, JIT) before it is measured.
      [gw] = await startGateway({});
      await closedLoop({ concurrency: 8, count: 200, durationMs: 10_000, warmupMs: 0, fn: viaGateway });
      const plain = await holdAndSample('plain node', gw);
      // The service figure is the target (the gateway runs as the unit runs it): the median
      // of --rss-starts fresh starts, as one start's peak moves by a few MiB with GC timing.
      let service = null;
      if (Object.keys(serviceEnv).length > 0) {
        const shown = Object.entries(serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ');
        const samples = [];
        for (let i = 0; i < rssStarts; i++) {
          [gw] = await startGateway(serviceEnv);
          await closedLoop({ concurrency: 8, count: 200, durationMs: 10_000, warmupMs: 0, fn: viaGateway });
          samples.push(await holdAndSample(`as the service runs it, start ${i + 1} of ${rssStarts}: ${shown}`, gw));
        }
        const peaks = samples.map((x) => x.withInFlightMiB);
        log(`  as the service runs it: median ${fmtNum(median(peaks))} MiB of ${peaks.map((v) => fmtNum(v)).join(', ')}`);
        service = { withInFlightMiB: median(peaks), starts: samples, environment: serviceEnv };
      }
      extra.rss = { ...plain, service };
      [gw] = await startGateway(serviceEnv);
      await viaGateway();
      if (interleaveAB) {
        log(`(a) credgw run over the WebSocket protocol and (b) undici straight to the simulator, in ${rounds} alternating round(s)`);
        log(`  (a) and (b): throughput at concurrency ${concurrency}…`);
        const tp = await pooledClosedLoops({ concurrency, durationMs, warmupMs, rounds, paths: [['b', viaRaw], ['a', viaGateway]] });
        const perRound = tp.a.rounds.map((t, i) => fmtRatio(t / tp.b.rounds[i])).join(', ');
        log(`  (a)/(b) by round: ${perRound}`);
        extra.throughputAoverBByRound = tp.a.rounds.map((t, i) => t / tp.b.rounds[i]);
        for (const [key, fn] of [['b', viaRaw], ['a', viaGateway]]) {
          log(`  ${LABEL[key]}: latency at ${rate} req/s…`);
          results[key] = { throughput: tp[key], latency: await openLoop({ rate, durationMs: latencyMs, warmupMs, fn }) };
        }
        await raw.close();
      } else {
        log('(a) credgw run over the WebSocket protocol');
        results.a = await measure('a', viaGateway);
      }
      const afterLoad = memoryMiB(gw.pid);
      extra.rss.afterLoadMiB = afterLoad?.rss ?? null;
      extra.rss.afterLoadHwmMiB = afterLoad?.hwm ?? null;
      log(`  RSS after the measurements ${fmtNum(afterLoad?.rss)} MiB (VmHWM ${fmtNum(afterLoad?.hwm)} MiB), for reference`);
      await stopChild(gw);
      await cloud.close();
    }
  }

  // ---- (d) the reference controller's HTTP API --------------------------------
  if (paths.has('d')) {
    const reason = daemonReason ?? controllerUnavailableReason();
    if (reason) {
      skipped.d = reason;
      log(`(d) SKIPPED: ${reason}`);
    } else {
      const ctl = await startControllerProcess({ token: controllerToken });
      const { configDir } = writeGatewayConfig(dir, {
        gatewayId: 'bench-gw-d',
        clusterId: CLUSTER,
        controllerUrl: ctl.wsUrl,
        controllerTokenRef,
        vault,
        logLevel: 'warn',
      });
      const gw = spawnGateway(configDir, { env: unitEnvironment() });
      const api = controllerApi(ctl.httpUrl, { connections: concurrency });
      const deadline = performance.now() + 15_000;
      for (;;) {
        const snap = await api.cluster(CLUSTER);
        if (snap.status === 200 && snap.body.activeGatewayId) break;
        if (gw.exitCode !== null) throw new Error(`credgw run exited: ${gw.tail().trim()}`);
        if (performance.now() > deadline) throw new Error('the gateway did not become active at the reference controller within 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      const viaApi = async () => {
        const r = await api.command(CLUSTER, { name: 'getPassword', params: PARAMS, timeoutMs: 10_000 });
        if (r.status !== 200 || r.body.ok !== true) throw new Error(`HTTP ${r.status} ${r.body?.error?.code ?? ''}`);
        expectPassword(r.body.data);
      };
      await viaApi();
      log(`(d) reference controller HTTP API (controller pid ${ctl.pid}, gateway pid ${gw.pid})`);
      results.d = await measure('d', viaApi);
      await api.close();
      await stopChild(gw);
      await ctl.close();
    }
  }
  await sim.close();

  // ---- report ------------------------------------------------------------------
  const order = ['a', 'b', 'c', 'd'];
  printTable(
    `throughput, closed loop at concurrency ${concurrency}`,
    RESULT_HEADER,
    order.map((k) => resultRow(LABEL[k], results[k]?.throughput)),
  );
  printTable(`latency, open loop at ${rate} req/s (from scheduled send)`, RESULT_HEADER, order.map((k) => resultRow(LABEL[k], results[k]?.latency)));
  const lags = order.filter((k) => results[k]).map((k) => `${k} ${fmtMs(results[k].latency.sendLag.p99)}`);
  if (lags.length > 0) log(`load generator's own send lag, p99 (part of every latency above): ${lags.join(', ')}`);

  const tput = (k) => results[k]?.throughput.throughput ?? null;
  const lat = (k, p) => results[k]?.latency.latency[p] ?? null;
  const div = (x, y) => (x === null || y === null || y === 0 ? null : x / y);
  const sub = (x, y) => (x === null || y === null ? null : x - y);
  const ratios = {
    throughputAoverC: div(tput('a'), tput('c')),
    throughputAoverB: div(tput('a'), tput('b')),
    throughputCoverB: div(tput('c'), tput('b')),
    throughputDoverB: div(tput('d'), tput('b')),
    p50AminusB: sub(lat('a', 'p50'), lat('b', 'p50')),
    p99AminusB: sub(lat('a', 'p99'), lat('b', 'p99')),
    p50CminusB: sub(lat('c', 'p50'), lat('b', 'p50')),
    p99CminusB: sub(lat('c', 'p99'), lat('b', 'p99')),
    p50DminusB: sub(lat('d', 'p50'), lat('b', 'p50')),
    p99DminusB: sub(lat('d', 'p99'), lat('b', 'p99')),
  };
  printTable(
    'against the floor (b) and the tunnel (c)',
    ['path', 'throughput / (b)', 'throughput / (c)', 'p50 − (b)', 'p99 − (b)'],
    order.map((k) => [
      LABEL[k],
      fmtRatio(div(tput(k), tput('b'))),
      fmtRatio(div(tput(k), tput('c'))),
      fmtMs(sub(lat(k, 'p50'), lat('b', 'p50'))),
      fmtMs(sub(lat(k, 'p99'), lat('b', 'p99'))),
    ]),
  );
  for (const [k, why] of Object.entries(skipped)) log(`${LABEL[k]} skipped: ${why}`);

  const errorsOf = (k) => (results[k] ? results[k].throughput.errors + results[k].latency.errors : null);
  const targets = [
    target('(a) throughput / (c) ssh tunnel', ratios.throughputAoverC, '>=', 1.0, '×'),
    target('(a) throughput / (b) direct', ratios.throughputAoverB, '>=', 0.6, '×'),
    target('(a) p50 − (b) p50 at 200 req/s', ratios.p50AminusB, '<=', 1, ' ms'),
    target('(a) p99 − (b) p99 at 200 req/s', ratios.p99AminusB, '<=', 5, ' ms'),
    target(`gateway RSS with ${inFlightN} in flight (service, median)`, extra.rss?.service?.withInFlightMiB ?? null, '<=', 80, ' MiB'),
    target('process start → hello (median)', extra.startToHelloMs?.median ?? null, '<=', 400, ' ms'),
    target('(a) errors', errorsOf('a'), '==', 0),
  ];
  printTargets(targets);
  if (extra.rss) {
    log(
      `\nfor reference, not a target: RSS with ${inFlightN} in flight as plain \`node dist/cli/main.js run\` ` +
        `(none of the unit's Environment=): ${fmtNum(extra.rss.withInFlightMiB)} MiB`,
    );
  }
  const skips = Object.keys(skipped).length;
  if (skips > 0) log(`\n${skips} path(s) skipped: SKIP targets are neither met nor missed — see above for why.`);

  if (args.json) {
    const file = writeResults(NAME, {
      settings: { concurrency, rate, durationMs, latencyMs, warmupMs, rounds, starts, inFlight: inFlightN, paths: [...paths] },
      results,
      skipped,
      ratios,
      ...extra,
      targets,
    });
    log(`\nresults: ${file}`);
  }
}

await runBench(NAME, main);
