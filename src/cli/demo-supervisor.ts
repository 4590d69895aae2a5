import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Clock } from '../shared/index.js';
import { CredgwError } from '../shared/index.js';
import { spawnCli } from '../sim/index.js';

/**
 * The demo's child processes: spawns `node <cli> …` as real processes,
 * tees their output to a log file and a short in-memory tail (for failure
 * messages), lets the demo wait for a banner line, and stops every one of
 * them — gracefully, by force after a grace time, or synchronously from a
 * process 'exit' handler when the demo itself crashes.
 */

/** Lines of each child's output kept in memory for failure messages. */
export const TAIL_LINES = 200;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class DemoProcessError extends CredgwError<'PROCESS_EXITED' | 'PROCESS_SPAWN_FAILED'> {
  override readonly name = 'DemoProcessError';
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `killed by ${info.signal}` : `exit code ${info.code}`;
}

interface LineWaiter {
  pattern: RegExp;
  resolve: (m: RegExpExecArray) => void;
  reject: (err: unknown) => void;
}

/** One child process of the demo. */
export class ManagedProcess {
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Set once we stop or kill it on purpose; an exit before that is unexpected. */
  expectedExit = false;
  private exitInfo: ExitInfo | null = null;
  private readonly lines: string[] = [];
  private readonly waiters = new Set<LineWaiter>();
  private readonly log: WriteStream;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly logFile: string,
    onExit: (proc: ManagedProcess, info: ExitInfo) => void,
  ) {
    if (child.pid === undefined) throw new DemoProcessError('PROCESS_SPAWN_FAILED', `could not start ${name}`);
    this.pid = child.pid;
    this.log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
    // Swallowed: a log file that cannot be written must not end the demo; the tail still works.
    this.log.on('error', () => undefined);
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        const err = new DemoProcessError('PROCESS_EXITED', `${name} (pid ${this.pid}) ended (${describeExit(this.exitInfo)})`);
        for (const w of this.waiters) w.reject(err);
        this.waiters.clear();
        onExit(this, this.exitInfo);
        resolve(this.exitInfo);
      });
    });
    // 'close' comes after both pipes are drained: only then is the log complete.
    child.once('close', () => this.log.end());
  }

  /** Null while running. */
  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The last lines of output, oldest first. */
  tail(n = 20): string[] {
    return this.lines.slice(-n);
  }

  /** Resolves with the first line (already seen or to come) that matches; rejects if the process ends first. */
  waitForLine(pattern: RegExp, signal?: AbortSignal): Promise<RegExpExecArray> {
    for (const line of this.lines) {
      const m = pattern.exec(line);
      if (m) return Promise.resolve(m);
    }
    if (!this.running) {
      return Promise.reject(new DemoProcessError('PROCESS_EXITED', `${this.name} (pid ${this.pid}) ended (${describeExit(this.exitInfo!)})`));
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter: LineWaiter = {
        pattern,
        resolve: (m) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(m);
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** Sends a signal if it still runs; marks the exit as expected. */
  kill(signal: NodeJS.Signals): void {
    this.expectedExit = true;
    if (!this.running) return;
    try {
      this.child.kill(signal);
    } catch {
      // Already gone between the check and the kill.
    }
  }

  private onLine(line: string): void {
    this.log.write(`${line}\n`);
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
    for (const w of this.waiters) {
      const m = w.pattern.exec(line);
      if (m) {
        this.waiters.delete(w);
        w.resolve(m);
      }
    }
  }
}

export interface SupervisorOptions {
  /** The CLI entry point: dist/cli/main.js (run with `process.execPath`), or the binary itself. */
  cliEntry: string;
  /** Environment of every child. */
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Called when a child ends before the demo stopped it. */
  onUnexpectedExit: (proc: ManagedProcess, info: ExitInfo) => void;
}

export class ProcessSupervisor {
  private readonly procs: ManagedProcess[] = [];

  constructor(private readonly opts: SupervisorOptions) {}

  /** Every process started, in start order (ended ones included). */
  get all(): readonly ManagedProcess[] {
    return this.procs;
  }

  /** Starts `node <cli> ...args` (or `<binary> ...args`), stdout and stderr to `logFile`. */
  start(name: string, args: readonly string[], logFile: string): ManagedProcess {
    const child = spawnCli({ cliEntry: this.opts.cliEntry, args, env: this.opts.env });
    // Without a listener a failed spawn would be an uncaught 'error' event.
    child.on('error', () => undefined);
    const proc = new ManagedProcess(name, child, logFile, (p, info) => {
      if (!p.expectedExit) this.opts.onUnexpectedExit(p, info);
    });
    this.procs.push(proc);
    return proc;
  }

  /**
   * Stops the given processes together: SIGTERM (a gateway resigns and
   * drains), then SIGKILL for any still running after `graceMs`. Resolves
   * when all have exited.
   */
  async stop(procs: readonly ManagedProcess[], graceMs: number): Promise<void> {
    await Promise.all(
      procs.map(async (p) => {
        if (!p.running) {
          p.expectedExit = true;
          return;
        }
        p.kill('SIGTERM');
        const timer = this.opts.clock.setTimeout(() => p.kill('SIGKILL'), graceMs);
        await p.exited;
        this.opts.clock.clearTimeout(timer);
      }),
    );
  }

  /** Last resort from a process 'exit' handler: SIGKILL to every child still running, synchronously. */
  killAllSync(): void {
    for (const p of this.procs) if (p.running) p.kill('SIGKILL');
  }
}
