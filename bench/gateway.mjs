#!/usr/bin/env node
// Benchmark (issue 2/4): getPassword end to end, one Node load generator
// playing the cloud, five paths to the same PMP simulator in one run:
//   (a) the protocol over the WebSocket to a real `credgw run` process (the
//       load generator is the controller: lib/cloud.mjs);
//   (b) undici straight to the simulator (the floor);
//   (c) undici through an OpenSSH reverse tunnel (ssh -R) to the simulator,
//       what an admin would set up instead of a gateway;
//   (d) the reference controller's HTTP API (POST .../commands) in front of
//       a second `credgw run` process;
//   (e) the minimal relay (lib/relay.mjs: ws + undici, no validation, audit
//       or policy) posing as `credgw run`, with its own load-generator cloud.
// For (a)-(d): throughput at concurrency 32 (closed loop) and p50/p99 at a
// fixed 200 req/s (open loop, latency from the scheduled send time). The
// target of (a)'s speed is what its code controls: its CPU time per command
// against (e)'s at a fixed open-loop rate, in alternating rounds. Also
// the gateway's RSS with 1,000 commands in flight (simulator latency
// injection keeps them there) and the time from process start to the hello
// the controller receives (median of several starts).

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { benchArgs, runBench, numberArg, secretFile, startSimProcess, stopChild, tempDir } from './lib/env.mjs';
import { startBenchCloud } from './lib/cloud.mjs';
import { hostStartBaseline } from './lib/host.mjs';
import { cpuTimeMs, daemonUnavailableReason, memoryMiB, RELAY, settleExecutablePages, spawnGateway, unitEnvironment, writeGatewayConfig } from './lib/gateway-proc.mjs';
import {
  closedLoop,
  fmtMs,
  fmtNum,
  fmtRatio,
  info,
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
node bench/gateway.mjs [--paths a,b,c,d,e] [--concurrency N] [--rate R] [--duration S]
                       [--latency-duration S] [--warmup S] [--rounds N] [--starts N]
                       [--in-flight N] [--rss-starts N] [--cpu-rate R] [--cpu-duration S]
                       [--cpu-warmup S] [--cpu-rounds N] [--json]

getPassword end to end through (a) credgw run over the WebSocket protocol,
(b) undici straight to the PMP simulator, (c) undici through an ssh -R tunnel,
(d) the reference controller's HTTP API in front of credgw run, (e) the minimal
ws + undici relay posing as credgw run (CPU per command against (a); needs a).
  --paths L             which paths to run (default a,b,c,d,e)
  --concurrency N       closed-loop concurrency for throughput (default 32)
  --rate R              open-loop rate for latency, req/s (default 200)
  --duration S          seconds of each throughput measurement (default 5)
  --latency-duration S  seconds of each latency measurement (default 6)
  --warmup S            unrecorded seconds before each measurement (default 0.5)
  --rounds N            with (a) and (b) both, their throughput is measured in N
                        alternating rounds of duration/N each (default 4)
  --cpu-rate R          open-loop rate of the CPU-per-command rounds of (a) and (e),
                        commands/s (default 5000)
  --cpu-duration S      seconds of each CPU round (default 2)
  --cpu-warmup S        unrecorded seconds at the same rate before each (default 0.5)
  --cpu-rounds N        CPU rounds of each of (a) and (e), alternating (default 5)
  --starts N            gateway starts for the start-to-hello median (default 5)
  --in-flight N         commands held in flight for the RSS figure (default 1000)
  --rss-starts N        fresh starts of the gateway as the service runs it for the
                        RSS figure, which is their median (default 3)
  --binary-starts N     fresh starts of build/bin/credgw-linux-<arch>, when built, each for
                        its start → hello and VmHWM (default 2: the bench stays under 2 minutes)
  --json                also write bench/results/${NAME}.json
Needs: the build ($CREDGW_DIST, default <repo>/dist); for (c), openssh-server and
openssh-client (${INSTALL_HINT}) and root.`;

const args = benchArgs(
  {
    paths: { type: 'string', default: 'a,b,c,d,e' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '5' },
    'latency-duration': { type: 'string', default: '6' },
    warmup: { type: 'string', default: '0.5' },
    rounds: { type: 'string', default: '4' },
    starts: { type: 'string', default: '5' },
    'in-flight': { type: 'string', default: '1000' },
    'rss-starts': { type: 'string', default: '3' },
    'binary-starts': { type: 'string', default: '2' },
    'cpu-rate': { type: 'string', default: '5000' },
    'cpu-duration': { type: 'string', default: '2' },
    'cpu-warmup': { type: 'string', default: '0.5' },
    'cpu-rounds': { type: 'string', default: '5' },
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
const binaryStarts = numberArg(args, 'binary-starts', { min: 1, integer: true });
const cpuRate = numberArg(args, 'cpu-rate', { min: 1 });
const cpuDurationMs = numberArg(args, 'cpu-duration', { min: 0.1 }) * 1000;
const cpuWarmupMs = numberArg(args, 'cpu-warmup') * 1000;
const cpuRounds = numberArg(args, 'cpu-rounds', { min: 1, integer: true });
// credgw's CPU time per command may exceed the minimal relay's by this much (median of the rounds).
const CPU_RATIO_LIMIT = 1.15;
/** A CPU round whose median answer took longer than this did not keep up with the rate. */
const CPU_ROUND_BEHIND_MS = 100;

const CLUSTER = 'bench';
const PARAMS = Object.freeze({
  vault: 'pmp',
  resource: { id: 'bench-resource', customAttributes: { 'PMP Resource ID': '301' } },
  accountId: '902',
});
const LABEL = {
  a: '(a) credgw run, WebSocket',
  b: '(b) undici direct',
  c: '(c) undici via ssh -R',
  d: '(d) ref. controller HTTP API',
  e: '(e) minimal relay, WebSocket',
};

const log = (line) => process.stdout.write(`${line}\n`);
// The single-executable binary (npm run package), measured beside node dist/cli/main.js when built.
const BINARY = fileURLToPath(new URL(`../build/bin/credgw-linux-${process.arch}`, import.meta.url));
const binaryReason = process.env.CREDGW_BENCH_BINARY
  ? 'CREDGW_BENCH_BINARY set: every gateway is already the binary'
  : existsSync(BINARY)
    ? null
    : `${BINARY} not built (npm run package, or node scripts/build-binary.mjs)`;

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

/**
 * CPU time per command of each gateway process ({ key, pid, fn }) at a fixed
 * open-loop rate, in alternating rounds (the order reversed every round:
 * a e e a a e …) so that the host's phases land on both. A round is an
 * unrecorded warm-up at the rate, then the CPU time of the gateway process
 * (and only it) across a measured open loop, which ends when every command
 * has been answered; divided by the commands sent. Resolves to
 * { key: [{ usPerCommand, sent, ok, errors, firstError, p50, p99, source }] }.
 */
async function cpuPerCommandRounds(gateways) {
  const byKey = Object.fromEntries(gateways.map(({ key }) => [key, []]));
  for (let r = 0; r < cpuRounds; r++) {
    for (const { key, pid, fn } of r % 2 === 0 ? gateways : [...gateways].reverse()) {
      if (cpuWarmupMs > 0) await openLoop({ rate: cpuRate, durationMs: cpuWarmupMs, warmupMs: 0, drainMs: 5000, fn });
      const before = cpuTimeMs(pid);
      const run = await openLoop({ rate: cpuRate, durationMs: cpuDurationMs, warmupMs: 0, drainMs: 5000, fn });
      const after = cpuTimeMs(pid);
      if (!before || !after) throw new Error(`cannot read the CPU time of ${LABEL[key]} (pid ${pid}) from /proc`);
      byKey[key].push({
        usPerCommand: ((after.ms - before.ms) * 1000) / run.sent,
        sent: run.sent,
        ok: run.ok,
        errors: run.errors,
        firstError: run.firstError,
        p50: run.latency.p50,
        p99: run.latency.p99,
        source: after.source,
      });
    }
    const shown = gateways.map(({ key }) => `${key} ${fmtNum(byKey[key][r].usPerCommand)} µs`).join(', ');
    log(`  round ${r + 1} of ${cpuRounds}: ${shown}`);
  }
  return byKey;
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
      if (paths.has('e')) skipped.e = daemonReason;
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
      const startGateway = async (env, entry) => {
        const proc = spawnGateway(configDir, { env, entry });
        const hello = await Promise.race([
          cloud.waitForHello(15_000, proc.startedAt),
          proc.exited.then(({ code, signal }) => {
            throw new Error(`credgw run exited (${code ?? signal}) before its hello: ${proc.tail().trim()}`);
          }),
        ]);
        return [proc, hello];
      };
      /** Median start → hello of `starts` fresh starts as the service runs it (entry: the binary, else node dist/cli/main.js). */
      const startToHelloOf = async (entry) => {
        const startToHello = [];
        for (let i = 0; i < starts; i++) {
          const [proc, hello] = await startGateway(serviceEnv, entry);
          startToHello.push(hello.at - proc.startedAt);
          await stopChild(proc);
        }
        log(`  start → hello: median ${fmtMs(median(startToHello))} (${startToHello.map((v) => fmtNum(v, 0)).join(', ')} ms)`);
        return { samples: startToHello, median: median(startToHello) };
      };
      if (process.env.CREDGW_BENCH_BINARY) log(`(a) ${settleExecutablePages(resolve(process.env.CREDGW_BENCH_BINARY))}`);
      log(`(a) credgw run: ${starts} start(s) to measure process start → hello`);
      let gw;
      extra.startToHelloMs = await startToHelloOf(undefined);

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
        let peakAnon = 0;
        let samples = 0;
        const until = performance.now() + 2500;
        while (performance.now() < until) {
          await new Promise((r) => setTimeout(r, 100));
          const m = memoryMiB(proc.pid);
          if (m) peak = Math.max(peak, m.rss);
          if (m) peakAnon = Math.max(peakAnon, m.anon);
          samples++;
        }
        sampling = false;
        const inFlight = cloud.pendingCount - pendingBefore;
        const after = memoryMiB(proc.pid);
        log(`  RSS idle ${fmtNum(idle?.rss)} MiB (VmHWM so far ${fmtNum(idle?.hwm)} MiB), with ${inFlight} in flight ${fmtNum(peak)} MiB (VmHWM ${fmtNum(after?.hwm)} MiB; of the RSS, anonymous ${fmtNum(peakAnon)} MiB at most, file-backed ${fmtNum(after?.file)} MiB after)`);
        if (inFlight < inFlightN) {
          log(`  note: only ${inFlight} of ${inFlightN} stayed in flight; answered early: ${JSON.stringify(early)}`);
        }
        // That gateway holds commands the slow vault will answer in a minute: stop it.
        await stopChild(proc, 0);
        await sim.setLatency(0);
        await Promise.allSettled(held);
        return { idleMiB: idle?.rss ?? null, withInFlightMiB: peak || null, hwmMiB: after?.hwm ?? null, anonPeakMiB: peakAnon || null, fileMiB: after?.file ?? null, inFlight, answeredEarly: early, samples };
      };
      // Each gateway below gets a short warm-up (TLS sessions, metadata cache, JIT) before it is measured.
      [gw] = await startGateway({});
      await closedLoop({ concurrency: 8, count: 200, durationMs: 10_000, warmupMs: 0, fn: viaGateway });
      const plain = await holdAndSample('plain node', gw);
      // The service figure is the target (the gateway runs as the unit runs it): the median
      // of --rss-starts fresh starts, as one start's peak moves by a few MiB with GC timing.
      const shown = Object.entries(serviceEnv).map(([k, v]) => `${k}=${v}`).join(' ');
      /** RSS and VmHWM (the peak from start through inFlightN in flight) of --rss-starts fresh starts as the service runs it. */
      const serviceRssOf = async (entry, which, count) => {
        const samples = [];
        const startToHello = [];
        for (let i = 0; i < count; i++) {
          const [proc, hello] = await startGateway(serviceEnv, entry);
          startToHello.push(hello.at - proc.startedAt);
          await closedLoop({ concurrency: 8, count: 200, durationMs: 10_000, warmupMs: 0, fn: viaGateway });
          samples.push(await holdAndSample(`${which} as the service runs it, start ${i + 1} of ${count}: ${shown}`, proc));
        }
        const peaks = samples.map((x) => x.withInFlightMiB);
        const hwms = samples.map((x) => x.hwmMiB);
        const anons = samples.map((x) => x.anonPeakMiB);
        log(`  ${which} as the service runs it: median ${fmtNum(median(peaks))} MiB of ${peaks.map((v) => fmtNum(v)).join(', ')}; VmHWM median ${fmtNum(median(hwms))} MiB of ${hwms.map((v) => fmtNum(v)).join(', ')}; anonymous peak median ${fmtNum(median(anons))} MiB`);
        return { withInFlightMiB: median(peaks), hwmMiB: median(hwms), anonPeakMiB: median(anons), starts: samples, environment: serviceEnv, startToHello };
      };
      const service = Object.keys(serviceEnv).length > 0 ? await serviceRssOf(undefined, process.env.CREDGW_BENCH_BINARY ? 'the binary (CREDGW_BENCH_BINARY)' : 'node dist/cli/main.js', rssStarts) : null;
      extra.rss = { ...plain, service };
      // The same two figures for the binary, beside node dist/cli/main.js (issue 15's targets).
      if (binaryReason) {
        log(`(a) the single-executable binary: SKIPPED: ${binaryReason}`);
      } else {
        // Its start → hello from the same fresh starts (separate starts would push the bench past its 2 minutes).
        log(`(a) the single-executable binary ${BINARY}: ${binaryStarts} fresh start(s), each for start → hello and RSS`);
        log(`  ${settleExecutablePages(BINARY)}`);
        // The same run's baselines for its start: the host's price of a fresh page, the bare runtime's start.
        const host = hostStartBaseline();
        log(`  ${host.line}`);
        const rss = await serviceRssOf(BINARY, 'binary', binaryStarts);
        const startToHello = { samples: rss.startToHello, median: median(rss.startToHello) };
        log(`  binary start → hello: median ${fmtMs(startToHello.median)} (${startToHello.samples.map((v) => fmtNum(v, 0)).join(', ')} ms)`);
        extra.binary = { path: BINARY, startToHelloMs: startToHello, rss, host: { anonFirstTouchUsPerPage: host.touchUs, bareRuntimeStartMs: host.bareMs } };
      }
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

      // ---- (e) the minimal relay: CPU per command against (a) -----------------------
      if (paths.has('e')) {
        // Its own cloud: a cloud sends to the last gateway that said hello.
        const relayCloud = await startBenchCloud({ token: controllerToken, heartbeatMs: 1000, role: 'active', epoch: 1 });
        const relayConfig = writeGatewayConfig(dir, {
          gatewayId: 'bench-relay-e',
          clusterId: CLUSTER,
          controllerUrl: relayCloud.url,
          controllerTokenRef,
          vault,
          logLevel: 'warn',
        });
        const relay = spawnGateway(relayConfig.configDir, { env: serviceEnv, entry: RELAY });
        await Promise.race([
          relayCloud.waitForHello(15_000, relay.startedAt),
          relay.exited.then(({ code, signal }) => {
            throw new Error(`the relay exited (${code ?? signal}) before its hello: ${relay.tail().trim()}`);
          }),
        ]);
        const viaRelay = async () => expectPassword(await relayCloud.send('getPassword', PARAMS, 10_000));
        // The gateway has just run the measurements above: the relay gets a warm-up of its own (JIT, heap).
        await closedLoop({ concurrency, durationMs: 1000, warmupMs: 0, fn: viaRelay });
        log(
          `(a) and (e) minimal relay (pid ${relay.pid}): CPU time per command at ${cpuRate}/s, ` +
            `${cpuRounds} alternating round(s) of ${fmtNum(cpuDurationMs / 1000)} s each`,
        );
        const rounds = await cpuPerCommandRounds([
          { key: 'a', pid: gw.pid, fn: viaGateway },
          { key: 'e', pid: relay.pid, fn: viaRelay },
        ]);
        const ratios = rounds.a.map((x, i) => x.usPerCommand / rounds.e[i].usPerCommand);
        extra.cpuPerCommand = {
          rate: cpuRate,
          durationMs: cpuDurationMs,
          source: rounds.a[0].source,
          a: rounds.a,
          e: rounds.e,
          ratioByRound: ratios,
          ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
          errors: { a: rounds.a.reduce((t, x) => t + x.errors, 0), e: rounds.e.reduce((t, x) => t + x.errors, 0) },
        };
        // A refused or unanswered command costs a gateway less than a served one: with any, the
        // two did different work and their ratio is no measurement (the errors targets say why).
        extra.cpuPerCommand.comparable = extra.cpuPerCommand.errors.a === 0 && extra.cpuPerCommand.errors.e === 0;
        await stopChild(relay);
        await relayCloud.close();
      }
      await stopChild(gw);
      await cloud.close();
    }
  } else if (paths.has('e')) {
    skipped.e = 'the relay is measured against (a): run with --paths including a';
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
  const cpu = extra.cpuPerCommand;
  if (cpu) {
    printTable(
      `gateway CPU time per command, open loop at ${cpu.rate}/s (${cpu.source === 'schedstat' ? '/proc/<pid>/task/*/schedstat' : '/proc/<pid>/stat'})`,
      ['round', '(a) credgw', '(e) relay', '(a) / (e)', '(a) p50 / p99', '(e) p50 / p99'],
      cpu.ratioByRound.map((ratio, i) => [
        String(i + 1),
        `${fmtNum(cpu.a[i].usPerCommand)} µs`,
        `${fmtNum(cpu.e[i].usPerCommand)} µs`,
        fmtRatio(ratio),
        `${fmtMs(cpu.a[i].p50)} / ${fmtMs(cpu.a[i].p99)}`,
        `${fmtMs(cpu.e[i].p50)} / ${fmtMs(cpu.e[i].p99)}`,
      ]),
    );
    log(`(a)/(e) CPU per command: median ${fmtRatio(cpu.ratio.median)}, rounds ${fmtRatio(cpu.ratio.min)} – ${fmtRatio(cpu.ratio.max)}`);
    if (!cpu.comparable) log('  not counted for the target: commands failed in the rounds (below), so the two did different work');
    for (const k of ['a', 'e']) {
      const failed = cpu[k].find((x) => x.errors > 0);
      if (failed) log(`  ${LABEL[k]}: ${cpu.errors[k]} error(s) in the CPU rounds, first: ${failed.firstError ?? 'unanswered'}`);
      // At the rate, an answer takes a few ms; a queue of 100 ms means the process did not get the CPU to keep up.
      const behind = cpu[k].flatMap((x, i) => (x.p50 === null || x.p50 > CPU_ROUND_BEHIND_MS ? [i + 1] : []));
      if (behind.length > 0) {
        log(`  ${LABEL[k]} fell behind the rate (p50 over ${CPU_ROUND_BEHIND_MS} ms) in round(s) ${behind.join(', ')}: the machine is too busy for ${cpu.rate}/s, and those rounds measure a queue`);
      }
    }
  }
  for (const [k, why] of Object.entries(skipped)) log(`${LABEL[k]} skipped: ${why}`);

  const errorsOf = (k) => (results[k] ? results[k].throughput.errors + results[k].latency.errors + (cpu?.errors[k] ?? 0) : null);
  const targets = [
    target(`(a) / (e) CPU per command at ${cpuRate}/s (median of ${cpuRounds} rounds)`, cpu?.comparable ? cpu.ratio.median : null, '<=', CPU_RATIO_LIMIT, '×'),
    info('(a) throughput / (c) ssh tunnel', ratios.throughputAoverC, '×'),
    info('(a) throughput / (b) direct', ratios.throughputAoverB, '×'),
    target('(a) p50 − (b) p50 at 200 req/s', ratios.p50AminusB, '<=', 1, ' ms'),
    target('(a) p99 − (b) p99 at 200 req/s', ratios.p99AminusB, '<=', 5, ' ms'),
    target(`gateway RSS with ${inFlightN} in flight (service, median)`, extra.rss?.service?.withInFlightMiB ?? null, '<=', 80, ' MiB'),
    target('process start → hello (median)', extra.startToHelloMs?.median ?? null, '<=', 400, ' ms'),
    info(`gateway VmHWM, start through ${inFlightN} in flight (service, median)`, extra.rss?.service?.hwmMiB ?? null, ' MiB'),
    target('binary: process start → hello (median)', extra.binary?.startToHelloMs.median ?? null, '<=', 150, ' ms'),
    info('binary: start → hello / the runtime alone (node -e 0, same run)', extra.binary?.host.bareRuntimeStartMs ? extra.binary.startToHelloMs.median / extra.binary.host.bareRuntimeStartMs : null, '×'),
    target(`binary: VmHWM, start through ${inFlightN} in flight (service, median)`, extra.binary?.rss.hwmMiB ?? null, '<=', 80, ' MiB'),
    info(`binary: anonymous RSS peak, ${inFlightN} in flight (service, median)`, extra.binary?.rss.anonPeakMiB ?? null, ' MiB'),
    target('(a) errors', errorsOf('a'), '==', 0),
    // A relay that fails commands does less work per command: its figure would flatter nothing.
    target('(e) errors in the CPU rounds', cpu?.errors.e ?? null, '==', 0),
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
      settings: {
        concurrency,
        rate,
        durationMs,
        latencyMs,
        warmupMs,
        rounds,
        starts,
        inFlight: inFlightN,
        cpuRate,
        cpuDurationMs,
        cpuWarmupMs,
        cpuRounds,
        paths: [...paths],
      },
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
