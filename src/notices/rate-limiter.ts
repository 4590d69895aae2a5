import type { Clock } from '../shared/index.js';

/**
 * A token bucket per key (a source address): `burst` requests at once, then
 * `ratePerSecond` on average. Time comes from the injected clock's
 * monotonic reading. The table of buckets is bounded: when it is full, the
 * buckets that have refilled completely (the same as a new one) are
 * forgotten, and if none has, the request is refused rather than the table
 * grown.
 */

export interface RateLimiterOptions {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests allowed at once (the bucket's size). */
  burst: number;
  clock: Clock;
  /** Most keys tracked at once. Default 10,000. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

const DEFAULT_MAX_KEYS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly maxKeys: number;

  constructor(private readonly opts: RateLimiterOptions) {
    if (!(opts.ratePerSecond > 0) || !(opts.burst >= 1)) throw new RangeError('ratePerSecond must be > 0 and burst >= 1');
    this.perMs = opts.ratePerSecond / 1000;
    this.maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  /** Takes one token for `key`, or says how long until one is there. */
  take(key: string): RateDecision {
    const now = this.opts.clock.monotonic();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.opts.burst, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxKeys && !this.sweep(now)) return { allowed: false, retryAfterMs: Math.ceil(1 / this.perMs) };
      b = { tokens: this.opts.burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: Math.ceil((1 - b.tokens) / this.perMs) };
  }

  /** Keys tracked now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Forgets full buckets; true when that made room. */
  private sweep(now: number): boolean {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.opts.burst) this.buckets.delete(key);
    }
    return this.buckets.size < this.maxKeys;
  }
}
