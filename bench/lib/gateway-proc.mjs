// `credgw run` as a real process, as an operator runs it: a config
// directory with config.json (mode 0600) and secret files, then
// `node dist/cli/main.js --config-dir DIR run`. Both steps are the build's
// own src/sim/gateway-process.ts, the one way tests, benchmarks and the
// demo start a gateway; this file adds the benchmark's config, clean-up,
// log file and /proc readings.

import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CLI, DIST_DIR, distPath, hasDist, importDist, track } from './env.mjs';
import { procStatFields } from './host.mjs';

const GATEWAY_PROCESS = 'sim/gateway-process.js';
/** null when the build has no such module (not built, or built before it existed). */
const gatewayProcess = hasDist(GATEWAY_PROCESS) ? await importDist(GATEWAY_PROCESS) : null;

function shared() {
  if (!gatewayProcess) throw new Error(`${distPath(GATEWAY_PROCESS)} does not exist: run \`npm run build\` first (or set CREDGW_DIST)`);
  return gatewayProcess;
}

/** The minimal relay (gateway bench path (e)): takes `credgw run`'s command line and config. */
export const RELAY = fileURLToPath(new URL('./relay.mjs', import.meta.url));

let availability;

/** Why `credgw run` cannot be benchmarked from this build, or null when it can. */
export function daemonUnavailableReason() {
  if (availability !== undefined) return availability;
  if (!existsSync(CLI) || !gatewayProcess) {
    availability = `${existsSync(CLI) ? distPath(GATEWAY_PROCESS) : CLI} does not exist: run \`npm run build\` first (or set CREDGW_DIST)`;
    return availability;
  }
  const r = spawnSync(process.execPath, [CLI, 'run', '--help'], { encoding: 'utf8', timeout: 15_000 });
  // An unknown subcommand with --help prints the program's help and exits 0: look for run's own usage line.
  availability =
    r.status === 0 && /^Usage: credgw run\b/m.test(r.stdout)
      ? null
      : `the gateway daemon (\`credgw run\`) is not in this build yet — ${CLI} has no \`run\` command; it will run once the daemon lands`;
  return availability;
}

/**
 * Writes a gateway's config directory. Shape: issue 2/4 "Configuration".
 * @param {string} dir parent directory (each gateway gets `dir/<gatewayId>/`)
 * @param {{ gatewayId: string, clusterId: string, priority?: number, controllerUrl: string,
 *           controllerTokenRef: string, vault: { url: string, tokenRef: string, caFile: string },
 *           maxInFlight?: number, logLevel?: string, audit?: string, drainTimeoutMs?: number,
 *           vaultTimeoutMs?: number, telemetryListen?: string | null }} o
 * @returns {{ configDir: string, auditFile: string }}
 */
export function writeGatewayConfig(dir, o) {
  const configDir = join(dir, o.gatewayId);
  const auditFile = o.audit ?? join(configDir, 'audit.log');
  const config = {
    gatewayId: o.gatewayId,
    clusterId: o.clusterId,
    priority: o.priority ?? 100,
    controller: {
      url: o.controllerUrl,
      token: o.controllerTokenRef,
      insecure: true,
      caFile: null,
      pinSha256: null,
      certFile: null,
      keyFile: null,
      proxy: null,
    },
    vaults: [
      {
        name: 'pmp',
        url: o.vault.url,
        token: o.vault.tokenRef,
        resourceIdAttribute: 'PMP Resource ID',
        includeAccountNotes: false,
        requireTicketId: false,
        caFile: o.vault.caFile,
        pinSha256: null,
        timeoutMs: o.vaultTimeoutMs ?? 10_000,
      },
    ],
    policy: { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null },
    limits: { maxInFlight: o.maxInFlight ?? 256, ...(o.drainTimeoutMs !== undefined ? { drainTimeoutMs: o.drainTimeoutMs } : {}) },
    telemetry: { listen: o.telemetryListen ?? null, logLevel: o.logLevel ?? 'warn', audit: auditFile },
  };
  shared().writeConfigDir(configDir, config);
  return { configDir, auditFile };
}

/**
 * Spawns `credgw run` (or, with `entry: RELAY`, the minimal relay posing as
 * it), killed at exit like every tracked child. The child gets `startedAt`
 * (performance.now() just before spawn) so the time to its hello can be
 * measured. Its stdout (logs, JSON lines) goes to `logFile` when given.
 */
export function spawnGateway(configDir, { logFile, env, entry = CLI } = {}) {
  const { childEnv, runArgs, spawnCli } = shared();
  // CREDGW_BENCH_GATEWAY_NODE_ARGS: extra node flags for the gateway only (profiling, V8 flags).
  const nodeArgs = (process.env.CREDGW_BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // CREDGW_BENCH_BINARY: run the gateway as the single-executable binary (build/bin/credgw-linux-<arch>) instead of node + main.js.
  const fromEnv = process.env.CREDGW_BENCH_BINARY;
  const cliEntry = (entry === CLI && fromEnv && resolve(fromEnv)) || entry;
  // The benchmark's environment without proxies, NODE_OPTIONS, CREDGW_CONFIG_DIR or NOTIFY_SOCKET; `env` (e.g. the unit's NODE_OPTIONS) on top.
  const childEnvironment = childEnv(process.env, { CREDGW_DIST: DIST_DIR, ...env });
  const startedAt = performance.now();
  const child = track(spawnCli({ cliEntry, args: runArgs(configDir), env: childEnvironment, nodeArgs, cwd: configDir }));
  child.startedAt = startedAt;
  if (logFile) {
    const out = createWriteStream(logFile, { flags: 'a' });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.exited.then(() => setImmediate(() => out.end()));
  }
  return child;
}

/**
 * VmRSS and VmHWM of a process in MiB (from /proc), and VmRSS's split: anon
 * (the process's own memory) and file (mapped file pages: the binary's text,
 * shared and reclaimable, whose count depends on how the page cache holds
 * the file), or null when unreadable.
 */
export function memoryMiB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
  } catch {
    return null;
  }
}

/**
 * The environment the systemd unit gives the service (its `Environment=`
 * lines: NODE_OPTIONS, the malloc settings, NODE_ENV), so a benchmark can
 * also run the gateway as the service runs it; {} when the unit sets none.
 */
export function unitEnvironment() {
  const unit = readFileSync(new URL('../../systemd/credgw.service', import.meta.url), 'utf8');
  const env = {};
  for (const [, assignments] of unit.matchAll(/^Environment=(.+)$/gm)) {
    // systemd splits on whitespace; a "…" or '…' quoted assignment may hold spaces.
    for (const [, quoted1, quoted2, bare] of assignments.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) {
      const a = quoted1 ?? quoted2 ?? bare;
      const eq = a.indexOf('=');
      if (eq > 0) env[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return env;
}

/**
 * On-CPU time of a process, all its threads, in ms: the sum of the first
 * field of /proc/<pid>/task/<tid>/schedstat (ns); where the kernel has no
 * schedstat, utime + stime of /proc/<pid>/stat (clock ticks, 10 ms at 100 Hz).
 * A thread that exits takes its time with it: compare samples of a process
 * whose threads live as long as it does (Node's do).
 */
export function cpuTimeMs(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return { ms: ns / 1e6, source: 'schedstat' };
  } catch {
    // no schedstat (or the process is gone): try stat below
  }
  const fields = procStatFields(pid);
  return fields ? { ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks(), source: 'stat' } : null;
}

let ticks;
function clockTicks() {
  ticks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return ticks;
}

/**
 * Leaves an executable's pages in the page cache as a deployed one has them:
 * read back from disk. The same build measured right after it was written
 * read 116.8 MiB VmHWM (72.3 file-backed), and 93.1 (54.4) once its cached
 * pages were dropped (docs/benchmarks.md, session 8): how the file was
 * written decides how many pages the kernel maps per fault. Drops the file's
 * cached pages (GNU dd iflag=nocache; no root needed), then runs `version`
 * once so the measured starts do not pay the disk reads. Returns a line for
 * the log.
 */
export function settleExecutablePages(path) {
  const dropped = spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
  spawnSync(path, ['version'], { stdio: 'ignore' });
  return dropped
    ? `${path}: cached pages dropped (dd iflag=nocache), read back by one \`version\``
    : `${path}: dd iflag=nocache failed, its pages stay as the page cache holds them (VmHWM may read up to ~20 MiB higher)`;
}
