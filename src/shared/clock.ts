import type { AbortLike } from './abort.js';

/**
 * The only place that touches wall-clock time and timers. Everything else
 * takes a Clock through its constructor, so tests drive time with
 * ManualClock and nothing in a unit test sleeps.
 */

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds for measuring durations. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined | null): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // process.hrtime, not performance.now(): the `performance` global loads perf_hooks (start cost: docs/benchmarks.md).
  monotonic: () => Number(process.hrtime.bigint()) / 1e6,
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return t as unknown as TimerHandle;
  },
  clearTimeout: (handle) => {
    if (handle) clearTimeout(handle as unknown as NodeJS.Timeout);
  },
};

/**
 * A timer that does not keep the process alive (for housekeeping loops that
 * must not hold a shutdown open). Same clock, unref'd where the handle allows.
 */
export function unrefTimer(handle: TimerHandle): TimerHandle {
  const t = handle as { unref?: () => void };
  if (typeof t.unref === 'function') t.unref();
  return handle;
}

/** Resolves after `ms` on `clock`; rejects with the signal's reason on abort. */
export function sleep(clock: Clock, ms: number, signal?: AbortLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface ManualTimer {
  id: number;
  at: number;
  fn: () => void;
}

/** A clock for tests: time moves only when `advance` is called. */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined | null): void {
    if (!handle) return;
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers in order (timers they set included). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = due.at;
      due.fn();
    }
    this.current = target;
  }
}

/**
 * Milliseconds since `started`, rounded to the microsecond: the audit line,
 * logs and metrics carry it, and more digits (0.8471000000000011) say
 * nothing more.
 */
export function elapsedMs(clock: Clock, started: number): number {
  return Math.round(Math.max(0, clock.monotonic() - started) * 1000) / 1000;
}

/**
 * ISO 8601 time of an epoch-ms instant, remembering the last one: under load
 * dozens of audit events share a millisecond (tuned for CPU:
 * docs/benchmarks.md#why-the-hot-path-looks-as-it-does).
 */
let lastIsoMs = Number.NaN;
let lastIso = '';
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}
