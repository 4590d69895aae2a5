import { withSignal, type AbortLike } from '../shared/index.js';
import type { Clock } from '../shared/index.js';

/**
 * A small metadata cache (resource lists, account lists, notes; never
 * passwords) with a time-to-live on the injected Clock's monotonic time (a
 * wall-clock step neither expires nor extends entries) and one load per key
 * at a time: concurrent callers share the load, each waiting under its own
 * abort signal, so one caller's deadline does not fail the others.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: V }>();
  private readonly loads = new Map<string, Promise<V>>();

  /**
   * @param ttlMs how long a value stays fresh; 0 disables caching.
   * @param maxEntries past it, the oldest entries go first. Default 10000.
   */
  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The value if it is fresh. */
  peek(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock.monotonic() - e.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** A fresh cached value (`cached: true`) or a newly loaded one. */
  async get(key: string, load: () => Promise<V>, signal?: AbortLike): Promise<{ value: V; cached: boolean }> {
    const hit = this.peek(key);
    if (hit !== undefined) return { value: hit, cached: true };
    return { value: await this.refresh(key, load, signal), cached: false };
  }

  /** Loads anew (joining a load already under way). */
  refresh(key: string, load: () => Promise<V>, signal?: AbortLike): Promise<V> {
    let p = this.loads.get(key);
    if (!p) {
      // A load that delete() gave up on still answers its callers but stores nothing.
      const current = (): boolean => this.loads.get(key) === p;
      p = load().then(
        (value) => {
          if (current()) {
            this.loads.delete(key);
            this.store(key, value);
          }
          return value;
        },
        (err: unknown) => {
          if (current()) this.loads.delete(key);
          throw err;
        },
      );
      this.loads.set(key, p);
    }
    return withSignal(p, signal);
  }

  /** Stores a value loaded elsewhere (a whole list read while asking for a page). */
  set(key: string, value: V): void {
    this.store(key, value);
  }

  clear(): void {
    this.entries.clear();
  }

  /** A fresh value that `match` picks, without loading anything. */
  find(match: (value: V, key: string) => boolean): V | undefined {
    for (const key of this.entries.keys()) {
      const value = this.peek(key);
      if (value !== undefined && match(value, key)) return value;
    }
    return undefined;
  }

  /** Drops the keys `drop` picks (cached or loading); a load under way still answers its callers but stores nothing. */
  deleteWhere(drop: (key: string, value: V | undefined) => boolean): void {
    for (const [key, e] of this.entries) if (drop(key, e.value)) this.entries.delete(key);
    for (const key of this.loads.keys()) if (drop(key, undefined)) this.loads.delete(key);
  }

  private store(key: string, value: V): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { at: this.clock.monotonic(), value });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}
