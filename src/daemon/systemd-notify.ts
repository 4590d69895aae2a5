/**
 * sd_notify(3) for the daemon: readiness (READY=1), liveness (WATCHDOG=1),
 * reload and stop notices, and a status line for `systemctl status`.
 *
 * Node has no AF_UNIX datagram sockets, and the npm wrappers around
 * sd_notify need a native build. So each message is handed to systemd's own
 * `systemd-notify` binary. Because that helper is a child of the daemon, the
 * unit needs `NotifyAccess=all`; and because it is short-lived, it is run
 * without `--no-block`: it then follows the message with BARRIER=1 and waits
 * until PID 1 has processed it, which closes the race in which PID 1 drops a
 * message whose sender already exited (systemd-notify(1), systemd 246+;
 * Debian 12 ships 252).
 *
 * Messages go out one helper at a time, in order, so READY=1 is never
 * overtaken by a later STOPPING=1. Without NOTIFY_SOCKET (not under
 * systemd, or `Type=simple`) every call is a no-op.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Logger } from 'pino';
import { systemClock, type Clock, type TimerHandle } from '../shared/index.js';

/** The subset of `child_process.spawn` the notifier uses (injectable for tests). */
export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface SystemdNotifierOptions {
  /** The process environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, PATH); the helper inherits it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** How helpers are started. Default: `child_process.spawn`. */
  readonly spawn?: SpawnFn;
  /** The helper binary. Default `systemd-notify`, looked up on the env's PATH. */
  readonly command?: string;
  /** This process's PID, compared with WATCHDOG_PID. Default `process.pid`. */
  readonly pid?: number;
  /** Times the helper. Default `systemClock`. */
  readonly clock?: Clock;
  /**
   * A helper still running after this long is killed, so one stuck helper
   * cannot hold back later messages. Default 15000 (systemd-notify's own
   * barrier gives up after 5 s).
   */
  readonly sendTimeoutMs?: number;
  /** Messages waiting at most; past it new ones are dropped with a warning. Default 32. */
  readonly maxQueued?: number;
}

export interface SystemdNotifier {
  /** True when NOTIFY_SOCKET is set, i.e. systemd listens for notifications. */
  readonly enabled: boolean;
  /**
   * How often to call `watchdog()`: half of WatchdogSec (as sd_watchdog_enabled(3)
   * advises), or null when systemd expects no watchdog pings from this process.
   */
  readonly watchdogIntervalMs: number | null;
  /** Start-up (or a reload) finished: READY=1, with an optional status line. */
  ready(status?: string): void;
  /** The daemon's loops are healthy: WATCHDOG=1. Call it only while they are. */
  watchdog(): void;
  /** Graceful stop started: STOPPING=1. */
  stopping(): void;
  /** A reload started: RELOADING=1; call `ready()` when it is done. */
  reloading(): void;
  /** A one-line status for `systemctl status`. */
  status(text: string): void;
  /** Resolves when every message sent so far has been handed over (or failed). */
  flush(): Promise<void>;
}

/** Default for {@link SystemdNotifierOptions.sendTimeoutMs}. */
export const DEFAULT_NOTIFY_SEND_TIMEOUT_MS = 15_000;
/** Default for {@link SystemdNotifierOptions.maxQueued}. */
export const DEFAULT_NOTIFY_MAX_QUEUED = 32;
/** Longest stderr excerpt of a failed helper kept in the log. */
const STDERR_LOG_LIMIT = 500;

/** The watchdog period from WATCHDOG_USEC/WATCHDOG_PID, halved; null when not for us. */
export function watchdogIntervalFromEnv(env: Readonly<Record<string, string | undefined>>, pid: number): number | null {
  if (!env.NOTIFY_SOCKET) return null;
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText)) return null;
  const usec = Number(usecText);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== '' && Number(pidText) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** What the daemon's `STATUS=` line says. */
export interface SystemdStatusFacts {
  /** The HA role (RoleManager state). */
  role: string;
  epoch: number | null;
  /** The controller link's state, or 'disabled'. */
  link: string;
  /** Settings waiting for a restart (Gateway.pendingRestart). */
  restartRequired: readonly string[];
}

/** "active epoch 7, link up" (and "; restart needed for gatewayId" while one is pending). */
export function systemdStatusLine(f: SystemdStatusFacts): string {
  const role = f.epoch === null ? `role ${f.role}` : `${f.role} epoch ${f.epoch}`;
  const restart = f.restartRequired.length > 0 ? `; restart needed for ${f.restartRequired.join(', ')}` : '';
  return `${role}, link ${f.link}${restart}`;
}

/** A status line must stay one assignment: newlines would start another variable. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

type Job = readonly string[];

export function createSystemdNotifier(options: SystemdNotifierOptions): SystemdNotifier {
  const { env, logger } = options;
  const spawn: SpawnFn = options.spawn ?? ((command, args, opts) => nodeSpawn(command, [...args], opts));
  const command = options.command ?? 'systemd-notify';
  const clock = options.clock ?? systemClock;
  const sendTimeoutMs = options.sendTimeoutMs ?? DEFAULT_NOTIFY_SEND_TIMEOUT_MS;
  const maxQueued = options.maxQueued ?? DEFAULT_NOTIFY_MAX_QUEUED;
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const watchdogIntervalMs = watchdogIntervalFromEnv(env, options.pid ?? process.pid);
  const log = logger.child({ component: 'systemd-notify' });

  const queue: Job[] = [];
  let running = false;
  let spawnFailureLogged = false;
  let idleWaiters: Array<() => void> = [];

  const settleIdle = (): void => {
    if (running || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const runNext = (): void => {
    if (running) return;
    const job = queue.shift();
    if (!job) {
      settleIdle();
      return;
    }
    running = true;
    let finished = false;
    let timer: TimerHandle | undefined;
    let stderr = '';
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clock.clearTimeout(timer);
      running = false;
      runNext();
    };

    let child: ChildProcess;
    try {
      child = spawn(command, job, { env: { ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      logSpawnFailure(err);
      finish();
      return;
    }
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < STDERR_LOG_LIMIT) stderr += chunk;
    });
    child.once('error', (err) => {
      logSpawnFailure(err);
      finish();
    });
    child.once('close', (code, signal) => {
      if (code !== 0) {
        log.warn(
          { command, message: describe(job), code, signal, stderr: stderr.slice(0, STDERR_LOG_LIMIT).trim() },
          'systemd notification failed',
        );
      }
      finish();
    });
    timer = clock.setTimeout(() => {
      log.warn({ command, message: describe(job), timeoutMs: sendTimeoutMs }, 'systemd notification timed out');
      child.kill('SIGKILL');
    }, sendTimeoutMs);
  };

  const logSpawnFailure = (err: unknown): void => {
    // Every later message would fail the same way; one error line is enough.
    if (spawnFailureLogged) return;
    spawnFailureLogged = true;
    log.error({ err, command }, 'systemd notification helper could not be started');
  };

  const send = (args: readonly string[]): void => {
    if (!enabled) return;
    // A waiting identical message (typically WATCHDOG=1) says nothing new.
    const key = args.join('\n');
    if (queue.some((j) => j.join('\n') === key)) return;
    if (queue.length >= maxQueued) {
      log.warn({ message: describe(args), queued: queue.length }, 'systemd notification dropped');
      return;
    }
    queue.push(args);
    runNext();
  };

  return {
    enabled,
    watchdogIntervalMs,
    ready(status?: string): void {
      send(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${oneLine(status)}`]);
    },
    watchdog(): void {
      if (watchdogIntervalMs === null) return;
      send(['WATCHDOG=1']);
    },
    stopping(): void {
      send(['STOPPING=1']);
    },
    reloading(): void {
      send(['RELOADING=1']);
    },
    status(text: string): void {
      send([`STATUS=${oneLine(text)}`]);
    },
    flush(): Promise<void> {
      if (!running && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** The variable names of a message, for logs (a status text stays out of warnings). */
function describe(args: readonly string[]): string {
  return args.map((a) => a.split('=', 1)[0]).join(',');
}
