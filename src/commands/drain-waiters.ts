import type { Clock, TimerHandle } from '../shared/index.js';

interface DrainWaiter {
  resolve: (drained: boolean) => void;
  timer: TimerHandle;
}

/** The drain() calls of a graceful stop, waiting for the last command in flight or queued to end. */
export class DrainWaiters {
  private readonly waiters = new Set<DrainWaiter>();

  constructor(private readonly clock: Clock) {}

  /** Resolves true at the next `settled()`, false when `timeoutMs` passes first. */
  wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: DrainWaiter = {
        resolve,
        timer: this.clock.setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Nothing is in flight or queued any more: every waiter resolves true. */
  settled(): void {
    for (const waiter of this.waiters) {
      this.clock.clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
    this.waiters.clear();
  }
}
