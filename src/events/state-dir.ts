import { isAbsolute, normalize, resolve } from 'node:path';
import { OutboxError } from './outbox-errors.js';

/** The state directory when nothing names another (the packages create it). */
export const DEFAULT_STATE_DIR = '/var/lib/credgw';

export interface StateDirInput {
  /** The process environment; only `STATE_DIRECTORY` is read (systemd's `StateDirectory=`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The config's `stateDir`, when set. */
  configStateDir?: string | undefined;
  /** `credgw run --state-dir DIR`, when given. */
  cliStateDir?: string | undefined;
  /** What a relative `--state-dir` is relative to (the CLI's working directory). Without it, a relative path is refused. */
  cwd?: string | undefined;
}

export interface StateDir {
  path: string;
  /** Which input decided, for `credgw status` and the start-up log line. */
  from: 'cli' | 'env' | 'config' | 'default';
}

/**
 * The gateway's state directory (protocol section 11): `--state-dir` wins,
 * then `$STATE_DIRECTORY`, then the config's `stateDir`, then
 * /var/lib/credgw. Pure. An empty value counts as unset. systemd joins
 * several `StateDirectory=` entries with ':'; the first is ours. Only
 * `--state-dir` may be relative (to `cwd`): the others are read by a service
 * whose working directory is nobody's choice.
 */
export function resolveStateDir(input: StateDirInput): StateDir {
  const cli = nonEmpty(input.cliStateDir);
  if (cli !== undefined) {
    if (isAbsolute(cli)) return { path: normalize(cli), from: 'cli' };
    if (input.cwd === undefined || !isAbsolute(input.cwd)) throw new OutboxError('STATE_DIR_INVALID', `--state-dir ${cli} is relative and no working directory was given`);
    return { path: resolve(input.cwd, cli), from: 'cli' };
  }
  const env = nonEmpty(input.env['STATE_DIRECTORY']?.split(':')[0]);
  if (env !== undefined) return { path: absolute(env, 'STATE_DIRECTORY'), from: 'env' };
  const config = nonEmpty(input.configStateDir);
  if (config !== undefined) return { path: absolute(config, 'stateDir'), from: 'config' };
  return { path: DEFAULT_STATE_DIR, from: 'default' };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function absolute(path: string, what: string): string {
  if (!isAbsolute(path)) throw new OutboxError('STATE_DIR_INVALID', `${what} must be an absolute path, got ${path}`);
  return normalize(path);
}
