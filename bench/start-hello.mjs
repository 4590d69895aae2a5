#!/usr/bin/env node
// Start → hello of `credgw run` builds side by side (issue 15): each entry
// started fresh as the systemd unit runs it, in alternating order, against
// the bench's controller and PMP simulator; per start the gateway's CPU time
// (user+sys of all its threads, from /proc) when its hello arrived, the wall
// time from spawn to that hello, VmRSS/VmHWM and minor page faults at that
// moment. The header measures the host's price of a fresh page and the bare
// runtime's start in the same run (bench/lib/host.mjs): the share of a start
// that is first touches of anonymous memory is its anonymous pages at the
// hello times that price.
// With --cpu-prof DIR, each start also writes a CPU profile (the binary takes
// --cpu-prof from NODE_OPTIONS); DIR/hellos.json holds each hello's instant
// in the profiles' clock (monotonic µs), to cut them at the hello.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchArgs, DIST_DIR, numberArg, runBench, secretFile, startSimProcess, stopChild, tempDir, track } from './lib/env.mjs';
import { startBenchCloud } from './lib/cloud.mjs';
import { cpuTimeMs, memoryMiB, settleExecutablePages, unitEnvironment, writeGatewayConfig } from './lib/gateway-proc.mjs';
import { hostStartBaseline, minorFaults, PAGES_PER_MIB } from './lib/host.mjs';
import { fmtNum, machineLine, median } from './lib/load.mjs';

const USAGE = `
node bench/start-hello.mjs --entry NAME=PATH [--entry NAME=PATH …] [--rounds N] [--node PATH] [--cpu-prof DIR]

  --entry NAME=PATH  a build to start: an executable (the binary), or a script
                     (.js, .mjs, .cjs) run by --node
  --rounds N         fresh starts of each entry, alternating (default 5)
  --node PATH        the Node that runs script entries (default this one)
  --cpu-prof DIR     run entries with --cpu-prof (the binary: in NODE_OPTIONS), profiles in DIR/<name>-<round>.cpuprofile`;

const args = benchArgs(
  { entry: { type: 'string', multiple: true, default: [] }, rounds: { type: 'string', default: '5' }, node: { type: 'string' }, 'cpu-prof': { type: 'string' } },
  USAGE,
);
const rounds = numberArg(args, 'rounds', { min: 1, integer: true });
const node = args.node ? resolve(args.node) : process.execPath;
const profDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : null;
const entries = args.entry.map((e) => {
  const eq = e.indexOf('=');
  if (eq < 1) throw new Error(`--entry ${e}: expected NAME=PATH`);
  const path = resolve(e.slice(eq + 1));
  if (!existsSync(path)) throw new Error(`--entry ${e}: ${path} not found`);
  return { name: e.slice(0, eq), path, script: /\.[cm]?js$/.test(path) };
});
if (entries.length === 0) throw new Error(`at least one --entry${USAGE}`);
const log = (line) => process.stdout.write(`${line}\n`);

/** CPU time (ms) of each of a process's threads at this moment, summed by thread name. */
function threadCpuMs(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim().replace(/\d+$/, '');
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out[name] = (out[name] ?? 0) + ns / 1e6;
    }
  } catch {
    // the process is gone: what was read so far
  }
  return out;
}

async function main() {
  log(machineLine());
  const host = hostStartBaseline();
  log(host.line);
  const dir = tempDir();
  const sim = await startSimProcess(dir);
  const token = `bench-${performance.now().toString(36).replace('.', '')}-token`;
  const cloud = await startBenchCloud({ token, heartbeatMs: 1000, role: 'active', epoch: 1 });
  const { configDir } = writeGatewayConfig(dir, {
    gatewayId: 'bench-gw-start',
    clusterId: 'bench',
    controllerUrl: cloud.url,
    controllerTokenRef: secretFile(dir, 'controller.token', token),
    vault: { url: sim.url, tokenRef: secretFile(dir, 'pmp.token', sim.token), caFile: sim.caFile },
    logLevel: 'warn',
  });
  const env = { ...process.env, CREDGW_DIST: DIST_DIR, ...unitEnvironment() };
  for (const key of ['NODE_OPTIONS_EXTRA', 'CREDGW_CONFIG_DIR', 'NOTIFY_SOCKET', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) delete env[key];
  if (profDir) mkdirSync(profDir, { recursive: true });
  for (const e of entries) if (!e.script) log(settleExecutablePages(e.path));
  const rows = Object.fromEntries(entries.map((e) => [e.name, []]));

  for (let r = 0; r < rounds; r++) {
    for (const e of r % 2 === 0 ? entries : [...entries].reverse()) {
      const runArgs = ['--config-dir', configDir, 'run'];
      const profArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${e.name}-${r}.cpuprofile`] : [];
      const [cmd, argv] = e.script ? [node, [...profArgs, e.path, ...runArgs]] : [e.path, runArgs];
      const startedAt = performance.now();
      // An executable (the binary) takes the profiling flags from NODE_OPTIONS.
      const procEnv = e.script || !profDir ? env : { ...env, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} ${profArgs.join(' ')}`.trim() };
      const proc = track(spawn(cmd, argv, { env: procEnv, cwd: configDir, stdio: ['ignore', 'pipe', 'pipe'] }));
      const hello = await Promise.race([
        cloud.waitForHello(30_000, startedAt),
        proc.exited.then(({ code, signal }) => {
          throw new Error(`${e.name} exited (${code ?? signal}) before its hello: ${proc.tail().trim()}`);
        }),
      ]);
      // The hello in the monotonic clock the profile's timestamps use (µs).
      const helloMonoUs = Number(process.hrtime.bigint() / 1000n) - (performance.now() - hello.at) * 1000;
      const cpu = cpuTimeMs(proc.pid);
      const threads = threadCpuMs(proc.pid);
      const mem = memoryMiB(proc.pid);
      const faults = minorFaults(proc.pid);
      await stopChild(proc);
      const row = { cpuMs: cpu?.ms ?? NaN, wallMs: hello.at - startedAt, rss: mem?.rss ?? NaN, hwm: mem?.hwm ?? NaN, anon: mem?.anon ?? NaN, faults, helloMonoUs, threads };
      rows[e.name].push(row);
      log(`  round ${r + 1} ${e.name}: CPU ${fmtNum(row.cpuMs, 0)} ms, wall ${fmtNum(row.wallMs, 0)} ms, RSS ${fmtNum(row.rss, 1)} MiB (anonymous ${fmtNum(row.anon, 1)}), VmHWM ${fmtNum(row.hwm, 1)} MiB, ${faults} minor faults`);
    }
  }
  log('');
  log('entry | CPU to hello, median (min–max) | wall to hello, median | VmRSS at hello | VmHWM at hello | minor faults | anonymous at hello | its first touches at the host\'s price');
  const wallMsOf = Object.fromEntries(entries.map((e) => [e.name, median(rows[e.name].map((x) => x.wallMs))]));
  for (const e of entries) {
    const rs = rows[e.name];
    const col = (k) => rs.map((x) => x[k]);
    const span = (k) => `${fmtNum(median(col(k)), 0)} (${fmtNum(Math.min(...col(k)), 0)}–${fmtNum(Math.max(...col(k)), 0)})`;
    const anonMiB = median(col('anon'));
    const touchMs = (anonMiB * PAGES_PER_MIB * host.touchUs) / 1000;
    const wallMs = wallMsOf[e.name];
    log(`${e.name} | ${span('cpuMs')} ms | ${fmtNum(wallMs, 0)} ms | ${fmtNum(median(col('rss')), 1)} MiB | ${fmtNum(median(col('hwm')), 1)} MiB | ${fmtNum(median(col('faults')), 0)} | ${fmtNum(anonMiB, 1)} MiB | ~${fmtNum(touchMs, 0)} ms (${fmtNum((100 * touchMs) / wallMs, 0)}% of the wall time)`);
  }
  if (host.bareMs !== null) log(`the runtime alone (node -e 0, same run): ${fmtNum(host.bareMs, 0)} ms; each entry's wall to hello is ${entries.map((e) => `${e.name} ${fmtNum(wallMsOf[e.name] / host.bareMs, 2)}×`).join(', ')} that`);
  log('');
  log('CPU to hello by thread (median ms; threads of the same name summed)');
  for (const e of entries) {
    const names = [...new Set(rows[e.name].flatMap((x) => Object.keys(x.threads)))];
    log(`${e.name}: ${names.map((t) => `${t} ${fmtNum(median(rows[e.name].map((x) => x.threads[t] ?? 0)), 0)}`).join(', ')}`);
  }
  if (profDir) {
    // Hand the hello instants to the profile reader beside the profiles.
    const { writeFileSync } = await import('node:fs');
    const hellos = Object.fromEntries(entries.flatMap((e) => rows[e.name].map((x, r) => [`${e.name}-${r}.cpuprofile`, x.helloMonoUs])));
    writeFileSync(join(profDir, 'hellos.json'), `${JSON.stringify(hellos, null, 2)}\n`);
    log(`profiles and hellos.json in ${profDir} (${readdirSync(profDir).length} files)`);
  }
  await cloud.close();
  await sim.close?.();
}

await runBench("start-hello", main);
