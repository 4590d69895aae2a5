// What every benchmark needs around the load generator: where the built
// code is, command-line flags, temporary directories, free ports, and child
// processes that are always cleaned up (also on Ctrl-C and on a crash).

import { spawn, fork, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_DIR } from './load.mjs';

export const REPO_DIR = resolve(BENCH_DIR, '..');

/** Where the built JavaScript is: $CREDGW_DIST, else <repo>/dist. */
export const DIST_DIR = resolve(process.env.CREDGW_DIST || join(REPO_DIR, 'dist'));

export function distPath(rel) {
  return join(DIST_DIR, rel);
}

export function hasDist(rel) {
  return existsSync(distPath(rel));
}

/** Imports a module of the built code (e.g. 'vault/index.js'). */
export function importDist(rel) {
  const file = distPath(rel);
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: run \`npm run build\` first (or set CREDGW_DIST to a build directory)`);
  }
  return import(pathToFileURL(file).href);
}

/** The CLI entry point of the built code. */
export const CLI = distPath('cli/main.js');

/**
 * Parses flags; `options` as node:util parseArgs. Every benchmark takes
 * --json (write bench/results/<name>.json) and --help.
 */
export function benchArgs(options, usage) {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false }, ...options },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(usage.trim() + '\n');
    process.exit(0);
  }
  return values;
}

export function numberArg(values, name, { min = 0, integer = false } = {}) {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    process.stderr.write(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}\n`);
    process.exit(2);
  }
  return v;
}

// ---- cleanup ---------------------------------------------------------------

const cleanups = [];
let cleaning = false;

/** Registers `fn` to run (once, last registered first) at exit. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

export async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch {
      // best effort: keep cleaning the rest
    }
  }
}

function syncKillAll() {
  for (const p of tracked) {
    if (p.exitCode === null && p.signalCode === null) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

const tracked = new Set();
const tempDirs = new Set();
process.on('exit', syncKillAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping every process this benchmark started\n`);
    cleanup().finally(() => process.exit(130));
  });
}

/**
 * Runs a benchmark's main function, cleans up every process and directory
 * it registered, and exits: a benchmark always stops by itself, also when
 * something it started (a pool, a server) would keep the event loop alive.
 */
export async function runBench(name, main) {
  let code = 0;
  try {
    await main();
  } catch (err) {
    process.stderr.write(`${name}: ${err?.stack ?? err}\n`);
    code = 1;
  } finally {
    await cleanup();
  }
  process.exit(code);
}

/** A temporary directory (mode 0700) removed at exit. */
export function tempDir(prefix = 'credgw-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o700);
  tempDirs.add(dir);
  onCleanup(() => {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  });
  return dir;
}

/** Writes a secret file (mode 0600, as credgw's secret references demand) and returns its file:/// reference. */
export function secretFile(dir, name, value) {
  const file = join(dir, name);
  writeFileSync(file, value + '\n', { mode: 0o600 });
  return `file://${file}`;
}

/**
 * A child process killed at exit. `spawnOpts.stdio` defaults to ignoring
 * stdin and piping stdout/stderr; the last 8 KiB of its output are kept
 * (`child.tail()`) for error messages.
 */
export function track(child) {
  tracked.add(child);
  let tail = '';
  const keep = (chunk) => {
    tail = (tail + chunk.toString('utf8')).slice(-8192);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.tail = () => tail;
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(() => tracked.delete(child));
  onCleanup(() => stopChild(child));
  return child;
}

export function spawnTracked(cmd, args, opts = {}) {
  return track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child, graceMs = 2000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }, graceMs);
  await child.exited;
  clearTimeout(timer);
}

// ---- ports -----------------------------------------------------------------

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function tryConnect(port) {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Waits until 127.0.0.1:port accepts a connection; throws after `timeoutMs`. */
export async function waitForPort(port, timeoutMs, isDead = () => false) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await tryConnect(port)) return;
    if (isDead()) throw new Error(`the process that should listen on port ${port} has exited`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export function commandExists(path) {
  return existsSync(path) || spawnSync('sh', ['-c', `command -v ${path}`], { stdio: 'ignore' }).status === 0;
}

// ---- the PMP simulator in its own process ------------------------------------

/**
 * Starts the PMP simulator (dist/sim/pmp) in a child process, so that it
 * has its own event loop (and, on 2 cores, its own core) like a real PMP.
 * `dataFile`: a simulator data file to serve instead of the built-in sample.
 * Resolves to { url, port, token, certPem, caFile, setLatency(ms), stats(), close() }.
 */
export async function startSimProcess(dir, { latencyMs = 0, dataFile = '' } = {}) {
  const child = track(
    fork(join(BENCH_DIR, 'lib', 'sim-child.mjs'), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, CREDGW_DIST: DIST_DIR, SIM_LATENCY_MS: String(latencyMs), SIM_DATA_FILE: dataFile },
    }),
  );
  let seq = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.seq);
    if (w) {
      waiting.delete(m.seq);
      if (m.error) w.reject(new Error(m.error));
      else w.resolve(m.value);
    }
  });
  const call = (op, arg) =>
    new Promise((resolve, reject) => {
      const s = ++seq;
      waiting.set(s, { resolve, reject });
      child.send({ seq: s, op, arg });
    });
  const ready = await Promise.race([
    call('info'),
    child.exited.then(() => {
      throw new Error(`the PMP simulator process exited: ${child.tail()}`);
    }),
  ]);
  const caFile = join(dir, 'pmp-sim.pem');
  writeFileSync(caFile, ready.certPem);
  return {
    ...ready,
    caFile,
    pid: child.pid,
    setLatency: (ms) => call('latency', ms),
    stats: () => call('stats'),
    resetStats: () => call('resetStats'),
    close: async () => {
      if (child.exitCode === null) {
        await call('close').catch(() => undefined);
        await stopChild(child);
      }
    },
  };
}
