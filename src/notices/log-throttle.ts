import type { Clock } from '../shared/index.js';

/**
 * Says whether a log line about `key` (a refusal code and an address) may
 * be written now: once per key per interval, so that a source sending a
 * flood of refused requests or foreign syslog lines costs one line a
 * minute, not one per packet. The refusals are still counted in stats.
 */
export class LogThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs = 60_000,
    private readonly maxKeys = 1_000,
  ) {}

  allow(key: string): boolean {
    const now = this.clock.monotonic();
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.intervalMs) return false;
    if (at === undefined && this.last.size >= this.maxKeys) {
      for (const [k, t] of this.last) if (now - t >= this.intervalMs) this.last.delete(k);
      if (this.last.size >= this.maxKeys) return false;
    }
    this.last.set(key, now);
    return true;
  }
}
