/** Abort-signal helpers shared by the vault client, the commands and the demo. */

/** An `abort` listener: a function or an object with handleEvent (as EventTarget takes). */
export type AbortListener = (() => void) | { handleEvent(): void };

/**
 * What credgw's vault and command code needs of an abort signal. An
 * AbortSignal is one; so is CommandAbort below.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/**
 * The dispatcher's per-command abort: an AbortController and its signal in
 * one plain object, whose common case (one listener, the vault request of
 * the moment) is one field. Tuned for allocation:
 * docs/benchmarks.md#why-the-hot-path-looks-as-it-does.
 *
 * Semantics kept from AbortSignal: abort() fires each listener once, in the
 * order added, and only the first abort() counts; a listener added after the
 * abort is never called. Not kept: adding the same listener twice adds it
 * twice (nothing in credgw does).
 *
 * An optional `guard` is asked each time `aborted` is read (before every
 * vault call and every step of a command): a reason it returns aborts the
 * command there and then, so a condition that no timer has reported yet
 * still stops the next step.
 */
export class CommandAbort implements AbortLike {
  reason: unknown = undefined;
  private done = false;
  private first: AbortListener | undefined;
  private more: AbortListener[] | undefined;

  constructor(private readonly guard?: () => unknown) {}

  get aborted(): boolean {
    if (!this.done && this.guard !== undefined) {
      const reason = this.guard();
      if (reason !== undefined) this.abort(reason);
    }
    return this.done;
  }

  addEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.done) return;
    if (this.first === undefined) this.first = listener;
    else (this.more ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.first === listener) {
      this.first = this.more?.shift();
      return;
    }
    const i = this.more?.indexOf(listener) ?? -1;
    if (i >= 0) this.more?.splice(i, 1);
  }

  /**
   * Aborts with `reason`. Every listener runs; one that throws does not stop
   * the others nor the caller, and its error is raised afterwards as an
   * uncaught exception, as an EventTarget does.
   */
  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.reason = reason;
    const listeners = this.first === undefined ? [] : [this.first, ...(this.more ?? [])];
    this.first = undefined;
    this.more = undefined;
    for (const l of listeners) {
      try {
        if (typeof l === 'function') l();
        else l.handleEvent();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** `p`, or a rejection with the signal's reason as soon as it aborts. */
export function withSignal<T>(p: Promise<T>, signal: AbortLike | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
