import type { Clock } from '../shared/index.js';

/** Bad frames in a window after which the link closes 4000 (protocol section 8). */
export const VIOLATION_LIMIT = 10;
export const VIOLATION_WINDOW_MS = 60_000;

/**
 * Counts protocol violations of one connection over a sliding window.
 * Protocol section 8: "after 10 such frames in a minute it closes with
 * 4000", so `record()` reports `exceeded` on the 10th within the window.
 */
export class ViolationWindow {
  private times: number[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly limit = VIOLATION_LIMIT,
    private readonly windowMs = VIOLATION_WINDOW_MS,
  ) {}

  record(): { count: number; exceeded: boolean } {
    const now = this.clock.monotonic();
    this.times = this.times.filter((t) => now - t < this.windowMs);
    this.times.push(now);
    return { count: this.times.length, exceeded: this.times.length >= this.limit };
  }
}
