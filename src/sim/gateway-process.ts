import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The gateway as a real process, started the one way the tests, the
 * benchmarks (bench/ imports this from dist/) and the demo start it: a
 * config directory holding config.json, then `node <cli> --config-dir DIR
 * run`, with stdout and stderr piped to the parent. What each parent does
 * with the output (a test's assertions, a benchmark's clean-up, the demo's
 * log files) stays with it.
 */

/** Proxy variables: a child's loopback connections must not go through a proxy. */
export const PROXY_ENV: readonly string[] = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];

/**
 * What a test's or a benchmark's child does not inherit: proxies, the
 * parent's node flags (jest's ESM flags are for jest), a config directory
 * other than the one it is given, and systemd's notify socket.
 */
export const CHILD_ENV_DROPPED: readonly string[] = [...PROXY_ENV, 'NODE_OPTIONS', 'CREDGW_CONFIG_DIR', 'NOTIFY_SOCKET'];

/** `base` without {@link CHILD_ENV_DROPPED}, then `extra` on top. */
export function childEnv(base: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const key of CHILD_ENV_DROPPED) delete env[key];
  return { ...env, ...extra };
}

export interface CliSpawnOptions {
  /**
   * The built CLI (dist/cli/main.js), a stand-in that takes its arguments
   * (the benchmark's relay), or the single-executable binary: a `.js`/`.mjs`
   * entry runs on this process's Node, anything else is run as it is.
   */
  cliEntry: string;
  args: readonly string[];
  /** The child's whole environment (see {@link childEnv}). */
  env: NodeJS.ProcessEnv;
  /** Node flags before the entry point. Default none. */
  nodeArgs?: readonly string[];
  /** Default: the parent's working directory. */
  cwd?: string;
}

/** Spawns `node [nodeArgs] <cliEntry> …args`, or `<binary> …args`: stdin ignored, stdout and stderr piped. */
export function spawnCli(o: CliSpawnOptions): ChildProcess {
  const script = /\.m?js$/.test(o.cliEntry);
  const command = script ? process.execPath : o.cliEntry;
  const args = script ? [...(o.nodeArgs ?? []), o.cliEntry, ...o.args] : [...o.args];
  return spawn(command, args, {
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
  });
}

/** The arguments of `credgw run` for a config directory. */
export function runArgs(configDir: string): string[] {
  return ['--config-dir', configDir, 'run'];
}

/** Writes `<configDir>/config.json` (0600, in a 0700 directory made if missing), as `credgw run` reads it; returns configDir. */
export function writeConfigDir(configDir: string, raw: unknown): string {
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(configDir, 'config.json'), `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
  return configDir;
}
