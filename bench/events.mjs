#!/usr/bin/env node
// Benchmark (issue 14): rotation notices to events, fsync on.
//   1. The outbox alone (bench/lib/outbox-bench.mjs): events recorded per
//      second by 1 and by 32 concurrent recorders, each durable before it
//      resolves; baseline: the disk's own append + fdatasync rate, measured
//      first in the same run.
//   2. A real `credgw run` with its notice listener (HTTPS, the certificate
//      it made) and the reference controller in its own process: notice →
//      202 and notice → event at the controller (seen on the controller's
//      Server-Sent Events stream), one notice at a time; then notices/s
//      answered 202 by 16 concurrent senders. Baseline: a minimal HTTPS
//      server in its own process that appends + fdatasyncs the body and
//      answers 202, with the same certificate, one connection per request
//      like the listener (and the reset-listener script); and the CPU time
//      each server process spends per answered request (/proc).
// Every figure is also a ratio to its baseline; targets on the ratios
// (docs/benchmarks.md, "events").

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { benchArgs, freePort, hasDist, importDist, numberArg, runBench, secretFile, startSimProcess, stopChild, tempDir, track, waitForPort } from './lib/env.mjs';
import { cpuTimeMs, daemonUnavailableReason, spawnGateway } from './lib/gateway-proc.mjs';
import { closedLoop, fmtMs, fmtNum, fmtRatio, info, machineLine, now, printTable, printTargets, Recorder, target, writeResults } from './lib/load.mjs';
import { outboxBench } from './lib/outbox-bench.mjs';
import { controllerUnavailableReason, startControllerProcess } from './lib/ref-controller.mjs';

const NAME = 'events';
const USAGE = `
node bench/events.mjs [--duration S] [--warmup S] [--senders N] [--json]

Rotation notices to events with fsync on: the outbox alone against the disk's
append+fdatasync rate; a real gateway's listener and the reference controller
against a minimal HTTPS + fdatasync server.
  --duration S   measured seconds per run (default 4)
  --warmup S     unrecorded seconds before each run (default 0.5)
  --senders N    concurrent notice senders for the throughput run (default 16)
  --json         also write bench/results/${NAME}.json
Needs the build ($CREDGW_DIST, default <repo>/dist).`;

const args = benchArgs(
  { duration: { type: 'string', default: '4' }, warmup: { type: 'string', default: '0.5' }, senders: { type: 'string', default: '16' } },
  USAGE,
);
const durationMs = numberArg(args, 'duration', { min: 0.5 }) * 1000;
const warmupMs = numberArg(args, 'warmup') * 1000;
const senders = numberArg(args, 'senders', { min: 1, integer: true });

const CLUSTER = 'bench-events';
const TOKEN = 'bench-notice-token-3f9c';
const T0 = Date.parse('2026-12-03T10:00:00Z');

/** The minimal baseline server: HTTPS, one request per connection, the body appended and fdatasync'ed, then 202. */
const BASELINE_SERVER = `
const https = require('node:https'), fs = require('node:fs');
const fd = fs.openSync(process.env.BASE_FILE, 'a', 0o600);
const server = https.createServer({ cert: fs.readFileSync(process.env.BASE_CERT), key: fs.readFileSync(process.env.BASE_KEY) }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    fs.write(fd, Buffer.concat([...chunks, Buffer.from('\\n')]), (err) => {
      if (err) { res.writeHead(500, { connection: 'close' }).end(); return; }
      fs.fdatasync(fd, () => res.writeHead(202, { 'content-type': 'application/json', connection: 'close' }).end('{"eventId":"x"}'));
    });
  });
});
server.listen(Number(process.env.BASE_PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** POSTs one notice on a new TLS connection; resolves with the answer's JSON once it is 202. */
function postNotice(port, ca, body) {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = https.request(
      { host: '127.0.0.1', port, path: '/v1/notices/rotation', method: 'POST', ca, agent: false, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } },
      (res) => {
        let answer = '';
        res.setEncoding('utf8').on('data', (c) => (answer += c));
        res.on('end', () => (res.statusCode === 202 ? resolve(JSON.parse(answer)) : reject(new Error(`HTTP ${res.statusCode}: ${answer.slice(0, 200)}`))));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

let seq = 0;
/** A notice of a change nobody reported before (a new account each time: no merge, no repeat). */
const freshNotice = () => {
  const i = seq++;
  return { vault: 'pmp', resourceName: 'Windows_Jump_Box', accountName: `bench-${i}`, rotatedAt: new Date(T0 + i * 1000).toISOString() };
};

/** Follows the controller's event stream; `seen(id)` resolves when an event of that id arrives (or has). */
function followEvents(httpUrl) {
  const arrived = new Map();
  const waiting = new Map();
  const req = http.get(`${httpUrl}/api/v1/clusters/${CLUSTER}/events/stream`, (res) => {
    res.setEncoding('utf8');
    let rest = '';
    res.on('data', (chunk) => {
      const t = now();
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('data:')) continue;
        for (const [, id] of line.matchAll(/"id":"(ev-[0-9a-f]{32})"/g)) {
          if (arrived.has(id)) continue;
          arrived.set(id, t);
          waiting.get(id)?.(t);
          waiting.delete(id);
        }
      }
    });
  });
  req.on('error', () => undefined);
  return {
    seen: (id) => (arrived.has(id) ? Promise.resolve(arrived.get(id)) : new Promise((resolve) => waiting.set(id, resolve))),
    count: () => arrived.size,
    close: () => req.destroy(),
  };
}

/** Runs `load` and adds the server process's CPU time per answered request (ms; /proc). */
async function cpuPerRequest(pid, load) {
  const before = cpuTimeMs(pid);
  const r = await load();
  const after = cpuTimeMs(pid);
  return { ...r, cpuMsPerRequest: before && after ? (after.ms - before.ms) / Math.max(1, r.ok) : null };
}

async function main() {
  const reason = daemonUnavailableReason();
  if (reason) throw new Error(reason);
  const dir = tempDir('credgw-bench-events-');
  process.stdout.write(`${machineLine()}\n`);

  // ---- 1. the outbox alone, against the disk -------------------------------------
  const { disk, runs } = await outboxBench({ baseDir: dir, concurrencies: [1, 32], durationMs, warmupMs });
  const [c1, c32] = runs;

  // ---- 2. a gateway with its listener, and the reference controller ------------------
  const withController = controllerUnavailableReason() === null && hasDist('sim/controller/event-store.js');
  const ctl = withController ? await startControllerProcess({ token: 'bench-ctl-token' }) : null;
  const sim = await startSimProcess(dir);
  const { writeConfigDir } = await importDist('sim/gateway-process.js');
  const stateDir = join(dir, 'state');
  const listenPort = await freePort();
  const configDir = writeConfigDir(join(dir, 'gw'), {
    gatewayId: 'bench-events-gw',
    clusterId: CLUSTER,
    // Without a controller that takes events the link points nowhere: only notice → 202 is measured.
    controller: { url: ctl ? ctl.wsUrl : `ws://127.0.0.1:${await freePort()}/gateway`, token: secretFile(dir, 'ctl.token', 'bench-ctl-token'), insecure: true },
    vaults: [{ name: 'pmp', url: sim.url, token: secretFile(dir, 'pmp.token', sim.token), caFile: sim.caFile, rotationNotices: true }],
    telemetry: { listen: null, logLevel: 'warn', audit: join(dir, 'audit.log') },
    stateDir,
    // Every sender is 127.0.0.1: the per-source rate limit (20/s by default) would measure itself.
    notices: { listen: `127.0.0.1:${listenPort}`, token: secretFile(dir, 'notices.token', TOKEN), ratePerSecond: 10_000, burst: 100_000 },
  });
  const gw = spawnGateway(configDir, { logFile: join(dir, 'gateway.log') });
  await waitForPort(listenPort, 20_000, () => gw.exitCode !== null);
  const certFile = join(stateDir, 'notices', 'listener.crt');
  const ca = readFileSync(certFile, 'utf8');
  const events = ctl ? followEvents(ctl.httpUrl) : null;

  // One notice at a time: its 202, and its event at the controller.
  const to202 = new Recorder();
  const toController = new Recorder();
  const latency = await closedLoop({
    concurrency: 1,
    durationMs,
    warmupMs,
    recorder: to202,
    fn: async () => {
      const t = now();
      const { eventId } = await postNotice(listenPort, ca, freshNotice());
      if (events) toController.add((await events.seen(eventId)) - t);
    },
  });
  const gwThroughput = await cpuPerRequest(gw.pid, () => closedLoop({ concurrency: senders, durationMs, warmupMs: 0, fn: () => postNotice(listenPort, ca, freshNotice()) }));
  let drainMs = null;
  if (events) {
    const t = now();
    // Every event the gateway took reaches the controller: how long after the last 202.
    while (events.count() < seq && now() - t < 30_000) await new Promise((r) => setTimeout(r, 5));
    drainMs = events.count() >= seq ? now() - t : null;
  }
  events?.close();
  await stopChild(gw);

  // ---- baseline: minimal HTTPS + fdatasync server, same certificate ----------------
  const basePort = await freePort();
  const base = track(
    spawn(process.execPath, ['-e', BASELINE_SERVER], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BASE_FILE: join(dir, 'baseline.log'), BASE_CERT: certFile, BASE_KEY: join(stateDir, 'notices', 'listener.key'), BASE_PORT: String(basePort) },
    }),
  );
  await waitForPort(basePort, 10_000, () => base.exitCode !== null);
  const baseLatency = await closedLoop({ concurrency: 1, durationMs, warmupMs, fn: () => postNotice(basePort, ca, freshNotice()) });
  const baseThroughput = await cpuPerRequest(base.pid, () => closedLoop({ concurrency: senders, durationMs, warmupMs: 0, fn: () => postNotice(basePort, ca, freshNotice()) }));
  await stopChild(base);
  await ctl?.close();
  await sim.close();

  // ---- report ---------------------------------------------------------------------
  const lat = latency.latency;
  const ctlLat = toController.summary();
  const bl = baseLatency.latency;
  const row = (label, r, l, note) => [label, r ? fmtNum(r.throughput, 0) : '—', fmtMs(l.p50), fmtMs(l.p99), fmtMs(l.max), r ? String(r.errors) : '—', note];
  printTable('rotation events, fsync on', ['path', 'per s', 'p50', 'p99', 'max', 'errors', 'note'], [
    row('disk: append + fdatasync (baseline)', disk, disk.latency, 'one line, back to back'),
    row('outbox c=1', c1, c1.latency, `${fmtRatio(c1.throughput / disk.throughput)} the disk's rate`),
    row(`outbox c=32`, c32, c32.latency, `${fmtRatio(c32.throughput / disk.throughput)} the disk's rate (group commit)`),
    row('HTTPS + fdatasync server c=1 (baseline)', baseLatency, bl, 'new TLS connection per request'),
    row('gateway: notice → 202, c=1', latency, lat, `p50 ${fmtRatio(lat.p50 / bl.p50)} the baseline`),
    row('gateway: notice → event at the controller, c=1', null, ctlLat, events ? `p50 ${fmtRatio(ctlLat.p50 / bl.p50)} the baseline` : 'no controller with events in this build'),
    row(`HTTPS + fdatasync server c=${senders} (baseline)`, baseThroughput, baseThroughput.latency, ''),
    row(`gateway: notices → 202, c=${senders}`, gwThroughput, gwThroughput.latency, `${fmtRatio(gwThroughput.throughput / baseThroughput.throughput)} the baseline`),
  ]);
  process.stdout.write(`\nCPU per request at c=${senders}: gateway ${fmtMs(gwThroughput.cpuMsPerRequest)} (listener, outbox, link, acks), baseline server ${fmtMs(baseThroughput.cpuMsPerRequest)}\n`);
  if (drainMs !== null) process.stdout.write(`\nevery event at the controller ${fmtMs(drainMs)} after the last 202 (${seq} events in all)\n`);
  const targets = [
    target('outbox c=32 / disk fdatasync rate', c32.throughput / disk.throughput, '>=', 1, '×'),
    info('outbox c=1 / disk fdatasync rate', c1.throughput / disk.throughput, '×'),
    target('notice → 202 p50 / HTTPS+fdatasync p50', lat.p50 / bl.p50, '<=', 2, '×'),
    target('notice → event at controller p50 / HTTPS+fdatasync p50', events ? ctlLat.p50 / bl.p50 : null, '<=', 3, '×'),
    target(`notices/s c=${senders} / HTTPS+fdatasync c=${senders}`, gwThroughput.throughput / baseThroughput.throughput, '>=', 0.5, '×'),
    target('errors', latency.errors + gwThroughput.errors + c1.errors + c32.errors, '==', 0),
    info('notice → event at controller p50', events ? ctlLat.p50 : null, ' ms'),
    info('notice → event at controller p99', events ? ctlLat.p99 : null, ' ms'),
    info('outbox c=32 events/s', c32.throughput, '/s'),
    target(`gateway CPU per notice / baseline CPU per request, c=${senders}`, gwThroughput.cpuMsPerRequest / baseThroughput.cpuMsPerRequest, '<=', 2, '×'),
  ];
  printTargets(targets);
  if (args.json) {
    writeResults(NAME, {
      machine: machineLine(),
      durationMs,
      warmupMs,
      senders,
      controller: events ? 'reference controller (events stream)' : null,
      disk,
      outbox: runs,
      baseline: { latency: baseLatency, throughput: baseThroughput },
      gateway: { to202: latency, toController: ctlLat, throughput: gwThroughput, drainMs },
      targets,
      ...(events ? {} : { skipped: 'notice → event at the controller: the reference controller in this build takes no events' }),
    });
  }
}

await runBench(NAME, main);
