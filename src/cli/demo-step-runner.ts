import { CredgwError, type CredgwErrorOptions, withSignal } from '../shared/index.js';
import type { Clock } from '../shared/index.js';
import { detailLine, formatMs, stepLine, type StepRecord } from './demo-output.js';
import type { ManagedProcess } from './demo-supervisor.js';

/**
 * How the demo runs a step: a number, a deadline, one printed line when it
 * ends, and on failure a {@link DemoFailure} naming the step and carrying
 * the last output of the children that explain it. What the steps do is in
 * demo-steps.ts.
 */

/** How long a failed step waits for a child's exit that may explain the failure. */
const SETTLE_MS = 250;
/** Lines of each relevant child's output shown with a failure. */
const FAILURE_TAIL_LINES = 8;

/** The last lines a child printed, kept at the moment a step failed. */
export interface ProcessTail {
  name: string;
  pid: number;
  lines: string[];
}

/** A failed demo step; its code is the failure's own (a gateway's error code, PROCESS_EXITED, STEP_TIMEOUT, …). */
export class DemoFailure extends CredgwError {
  override readonly name = 'DemoFailure';
  /** Filled in when a step fails: what the relevant children said last. */
  tails: ProcessTail[] = [];
  constructor(
    code: string,
    message: string,
    /** Processes whose last output explains the failure; empty: all of them. */
    readonly processes: readonly ManagedProcess[] = [],
    options?: CredgwErrorOptions,
  ) {
    super(code, message, options);
  }
}

/** The reason the root signal carries when the user pressed Ctrl-C (or sent SIGTERM). */
export class DemoInterrupted extends CredgwError<'DEMO_INTERRUPTED'> {
  override readonly name = 'DemoInterrupted';
  constructor(readonly signal: NodeJS.Signals) {
    super('DEMO_INTERRUPTED', `interrupted by ${signal}`);
  }
}

/** What a step's body gives back. */
export interface StepResult<T> {
  value: T;
  summary: string;
  details?: string[];
  /** The figure the step measures, when it is not the step's own duration. */
  ms?: number;
}

export interface StepRunnerOptions {
  clock: Clock;
  /** One line to the user. */
  out: (line: string) => void;
  /** Any of these aborting fails the running step at once (Ctrl-C, a child that ended on its own). */
  signals: readonly AbortSignal[];
  /** Deadline of each step, ms. */
  stepTimeoutMs: number;
  /** The "n/total" of each printed line. */
  totalSteps: number;
  /** Every child started so far: the running ones are blamed for a time-out, their output explains a failure. */
  processes: () => readonly ManagedProcess[];
}

export class StepRunner {
  /** Every step that ended, in order. */
  readonly records: StepRecord[] = [];

  constructor(private readonly opts: StepRunnerOptions) {}

  /**
   * Runs one numbered step with a deadline; prints its line when it ends.
   * Fails at once when the user interrupts or a child ends on its own.
   */
  async step<T>(title: string, body: (signal: AbortSignal) => Promise<StepResult<T>>): Promise<T> {
    const { clock } = this.opts;
    const n = this.records.length + 1;
    const deadline = new AbortController();
    const timer = clock.setTimeout(
      () => deadline.abort(new DemoFailure('STEP_TIMEOUT', `did not finish within ${formatMs(this.opts.stepTimeoutMs)}`, this.opts.processes().filter((p) => p.running))),
      this.opts.stepTimeoutMs,
    );
    const signal = AbortSignal.any([...this.opts.signals, deadline.signal]);
    const started = clock.monotonic();
    try {
      const result = await withSignal(body(signal), signal);
      const record: StepRecord = { n, title, outcome: 'ok', summary: result.summary, ms: result.ms ?? clock.monotonic() - started };
      this.records.push(record);
      this.opts.out(stepLine(record, this.opts.totalSteps));
      for (const d of result.details ?? []) this.opts.out(detailLine(d));
      return result.value;
    } catch (caught) {
      // A child killed under us shows first as a refused or reset connection;
      // its exit, which says what really happened, follows within moments.
      if (!signal.aborted && !(caught instanceof DemoFailure)) await this.settle(signal);
      // The abort reason says why better than whatever the aborted call threw.
      const err = signal.aborted ? signal.reason : caught;
      if (err instanceof DemoInterrupted) {
        const record: StepRecord = { n, title, outcome: 'interrupted', summary: err.message, ms: clock.monotonic() - started };
        this.records.push(record);
        this.opts.out(stepLine(record, this.opts.totalSteps));
        throw err;
      }
      const failure =
        err instanceof DemoFailure
          ? err
          : new DemoFailure(errCode(err), (err as Error)?.message ?? String(err), processesOf(err, this.opts.processes()), { cause: err });
      const record: StepRecord = { n, title, outcome: 'failed', summary: `${failure.code}: ${failure.message}`, ms: clock.monotonic() - started };
      this.records.push(record);
      this.opts.out(stepLine(record, this.opts.totalSteps));
      const wrapped = new DemoFailure(failure.code, `step ${n} (${title}): ${failure.message}`, failure.processes, { cause: failure.cause ?? failure });
      // The simulator's output is its banner: it explains little unless it is the one that failed.
      const relevant = failure.processes.length > 0 ? failure.processes : this.opts.processes().filter((p) => p.name !== 'pmp-sim');
      wrapped.tails = relevant.map((p) => ({ name: p.name, pid: p.pid, lines: p.tail(FAILURE_TAIL_LINES) }));
      throw wrapped;
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /** Waits up to {@link SETTLE_MS} for the signal to abort (a child's exit on its way); never rejects. */
  private settle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.opts.clock.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.opts.clock.setTimeout(done, SETTLE_MS);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function errCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'DEMO_ERROR';
}

function processesOf(err: unknown, all: readonly ManagedProcess[]): readonly ManagedProcess[] {
  const named = all.filter((p) => err instanceof Error && err.message.includes(`${p.name} (pid ${p.pid})`));
  return named.length > 0 ? named : all;
}

