import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock, TimerHandle } from '../../shared/index.js';
import { PmpSimError } from './sim-errors.js';

/**
 * Runs the password reset listener as PMP/PAM360 do (help page "Password
 * Reset Listener"): the administrator's script or executable, started
 * without a shell (after its "Pre-Command", e.g. `cscript` or
 * `powershell -File`), with the reset's values as its arguments. Legacy
 * PMP passes, in this order, resource name, DNS name, account name, old
 * password, new password; PAM360 8400+ runs listeners in a pre-reset or a
 * post-reset mode, whose argument order is *(unconfirmed)*, so the order is
 * configurable. The passwords are in the child's argv because that is how
 * the product hands them over: the script under test must drop them. They
 * are never logged here, nor is the command line; the child's output is
 * discarded (a listener may echo what it got).
 */

export type ListenerMode = 'post' | 'pre' | 'pre-and-post';
export const LISTENER_MODES: readonly ListenerMode[] = ['post', 'pre', 'pre-and-post'];
/** One argument of the listener: a value of the reset, or the phase (`pre`/`post`) for builds that pass it. */
export type ListenerArg = 'resource' | 'dns' | 'account' | 'old' | 'new' | 'mode';
export const LISTENER_ARGS: readonly ListenerArg[] = ['resource', 'dns', 'account', 'old', 'new', 'mode'];
/** Legacy PMP's order. */
export const LEGACY_LISTENER_ARGS: readonly ListenerArg[] = ['resource', 'dns', 'account', 'old', 'new'];
/** A listener still running after this long is killed (SIGKILL). */
export const DEFAULT_LISTENER_TIMEOUT_MS = 60_000;

export interface ResetListenerOptions {
  /** The script or executable (absolute path, or found on PATH). */
  command: string;
  /** PMP's "Pre-Command": a program and its arguments put before the script. Default []. */
  preCommand?: string[];
  /** When it runs around the change. Default 'post'. */
  mode?: ListenerMode;
  /** The arguments passed after the script, in order. Default {@link LEGACY_LISTENER_ARGS}. */
  args?: ListenerArg[];
  /** Killed (SIGKILL) after this long on the simulator's clock. Default {@link DEFAULT_LISTENER_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** The values of one reset (the passwords included: the listener gets them). */
export interface ResetValues {
  resourceName: string;
  dnsName: string;
  accountName: string;
  oldPassword: string;
  newPassword: string;
}

/** How one run went (no values of the reset). */
export interface ListenerRun {
  phase: 'pre' | 'post';
  /** The exit status; null when killed by a signal or not started. */
  exitCode: number | null;
  /** The signal that ended it (SIGKILL after the time-out). */
  signal: string | null;
  /** Why it did not start (ENOENT, EACCES, …). */
  error?: string;
  durationMs: number;
}

export class ListenerRunner {
  private readonly command: string;
  private readonly preCommand: string[];
  private readonly mode: ListenerMode;
  private readonly args: readonly ListenerArg[];
  private readonly timeoutMs: number;

  constructor(
    options: ResetListenerOptions,
    private readonly clock: Clock,
  ) {
    this.command = options.command;
    this.preCommand = options.preCommand ?? [];
    this.mode = options.mode ?? 'post';
    this.args = options.args ?? LEGACY_LISTENER_ARGS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LISTENER_TIMEOUT_MS;
    if (this.command.trim() === '') throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.listener.command', 'must not be empty');
    if (!LISTENER_MODES.includes(this.mode)) {
      throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.listener.mode', `must be one of ${LISTENER_MODES.join(', ')}`);
    }
    for (const a of this.args) {
      if (!LISTENER_ARGS.includes(a)) throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.listener.args', `"${a}" is not one of ${LISTENER_ARGS.join(', ')}`);
    }
    if (!Number.isInteger(this.timeoutMs) || this.timeoutMs <= 0) {
      throw new PmpSimError('SIM_OPTIONS_INVALID', 'rotation.listener.timeoutMs', 'must be a positive integer');
    }
  }

  /** Whether the listener runs in this phase of a change. */
  runsIn(phase: 'pre' | 'post'): boolean {
    return this.mode === 'pre-and-post' || this.mode === phase;
  }

  /** Runs the listener once and waits for it to end; never rejects. */
  run(phase: 'pre' | 'post', v: ResetValues): Promise<ListenerRun> {
    const value: Record<ListenerArg, string> = {
      resource: v.resourceName,
      dns: v.dnsName,
      account: v.accountName,
      old: v.oldPassword,
      new: v.newPassword,
      mode: phase,
    };
    const [file, ...lead] = this.preCommand.length > 0 ? [...this.preCommand, this.command] : [this.command];
    const argv = [...lead, ...this.args.map((a) => value[a])];
    const started = this.clock.monotonic();
    return new Promise((resolve) => {
      let killer: TimerHandle | undefined;
      const done = (r: Omit<ListenerRun, 'phase' | 'durationMs'>): void => {
        this.clock.clearTimeout(killer);
        resolve({ phase, ...r, durationMs: Math.round(this.clock.monotonic() - started) });
      };
      let child: ChildProcess;
      try {
        child = spawn(file!, argv, { stdio: 'ignore', shell: false });
      } catch (err) {
        done({ exitCode: null, signal: null, error: (err as NodeJS.ErrnoException).code ?? 'SPAWN_FAILED' });
        return;
      }
      // The simulator's clock owns the time-out (spawn's own timer outlives a child that never started).
      killer = this.clock.setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.once('error', (err: NodeJS.ErrnoException) => done({ exitCode: null, signal: null, error: err.code ?? 'SPAWN_FAILED' }));
      child.once('exit', (code, signal) => done({ exitCode: code, signal }));
    });
  }
}
