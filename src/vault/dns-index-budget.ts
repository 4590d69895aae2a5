import type { Clock } from '../shared/index.js';

/**
 * The vault-call budget of one DNS-name index: a token bucket on the
 * injected Clock's monotonic time. A burst of a tenth of the budget lets a
 * lookup's first call go out at once; the refill rate is the rest, so no
 * 60-second window ever holds more than `maxCallsPerMinute` calls (burst +
 * one minute of refill).
 */
export class CallBudget {
  /** Calls that may go out back to back. */
  readonly burst: number;
  private readonly perMs: number;
  private tokens: number;
  private last: number;

  /** @param maxCallsPerMinute at least 2 (the schema asks for 10 or more). */
  constructor(
    private readonly clock: Clock,
    maxCallsPerMinute: number,
  ) {
    this.burst = Math.max(1, Math.floor(maxCallsPerMinute / 10));
    this.perMs = Math.max(1, maxCallsPerMinute - this.burst) / 60_000;
    this.tokens = this.burst;
    this.last = clock.monotonic();
  }

  /** Takes one call's token: 0 when taken, else the milliseconds until one is there (nothing taken). */
  tryTake(): number {
    const now = this.clock.monotonic();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perMs));
  }
}
