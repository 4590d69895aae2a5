import { unrefTimer, type Clock, type TimerHandle } from '../shared/index.js';

/**
 * The time-outs of a client's in-flight requests on one Clock timer, not a
 * timer per request (tuned for allocation:
 * docs/benchmarks.md#why-the-hot-path-looks-as-it-does).
 *
 * Every entry of a queue gets the same time-out from a monotonic clock, so
 * insertion order is deadline order: the single timer only ever waits for
 * the oldest entry. The timer is not re-armed when the oldest entry
 * finishes early; it fires at that (stale) deadline, expires nothing and
 * waits for the next oldest, so under load it fires about once per time-out.
 *
 * The entries form an intrusive doubly linked list (their `older`/`newer`
 * fields): adding and removing are a few pointer writes, with no Set.
 */

/** The links of a queued entry; owned by the DeadlineQueue, null when not queued. */
export interface DeadlineLink {
  older: DeadlineLink | null;
  newer: DeadlineLink | null;
}

export interface DeadlineEntry extends DeadlineLink {
  /** Set by `add`: monotonic milliseconds at which `expire` is called. */
  deadline: number;
  /** Called once, on the clock's timer, when the deadline passes while the entry is still queued. */
  expire(): void;
}

export class DeadlineQueue {
  /** Sentinel of the circular list: `newer` is the oldest entry, `older` the newest. */
  private readonly ends: DeadlineLink = { older: null, newer: null };
  private count = 0;
  private timer: TimerHandle | undefined;
  private readonly onTimer = (): void => this.fire();

  /** @param timeoutMs the time-out of every entry (ms). */
  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {
    this.ends.older = this.ends;
    this.ends.newer = this.ends;
  }

  /** Starts the entry's time-out now (an entry already queued is left as it is). */
  add(entry: DeadlineEntry): void {
    if (entry.newer !== null) return;
    entry.deadline = this.clock.monotonic() + this.timeoutMs;
    const newest = this.ends.older as DeadlineLink;
    entry.older = newest;
    entry.newer = this.ends;
    newest.newer = entry;
    this.ends.older = entry;
    this.count++;
    if (this.timer === undefined) this.arm(entry.deadline);
  }

  /** The entry finished in time (or failed otherwise): it will not expire. Not queued: nothing happens. */
  delete(entry: DeadlineEntry): void {
    const { older, newer } = entry;
    if (older === null || newer === null) return;
    older.newer = newer;
    newer.older = older;
    entry.older = null;
    entry.newer = null;
    this.count--;
  }

  /** Entries waiting. */
  get size(): number {
    return this.count;
  }

  /** Clears the timer and forgets every entry (none of them expires). */
  stop(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    while (this.count > 0) this.delete(this.ends.newer as DeadlineEntry);
  }

  private arm(at: number): void {
    this.clock.clearTimeout(this.timer); // an entry added by an expire() callback may have armed it already
    // Unref'd: an in-flight request holds the process open through its socket, not through its time-out.
    this.timer = unrefTimer(this.clock.setTimeout(this.onTimer, Math.max(0, at - this.clock.monotonic())));
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.monotonic();
    while (this.count > 0) {
      const oldest = this.ends.newer as DeadlineEntry;
      if (oldest.deadline > now) {
        this.arm(oldest.deadline);
        return;
      }
      this.delete(oldest);
      oldest.expire();
    }
  }
}
