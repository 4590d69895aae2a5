import type { Clock, TimerHandle } from '../shared/index.js';
import { CallBudget } from './dns-index-budget.js';
import type { IndexTask, TaskQueue } from './dns-index-tasks.js';

export interface CallPumpOptions {
  clock: Clock;
  maxCallsPerMinute: number;
  /** Calls under way at once. */
  concurrency: number;
  queue: TaskQueue;
  /** Makes one call; must not reject. */
  run: (task: IndexTask) => Promise<void>;
}

/**
 * Starts a DNS-name index's queued calls as fast as its budget and its
 * concurrency allow, and no faster: when the budget is spent, or a failure
 * asks for a pause, its one timer restarts it.
 */
export class CallPump {
  /** Calls started since the pump was made. */
  calls = 0;
  private readonly budget: CallBudget;
  private timer: TimerHandle | null = null;
  private running = 0;
  private stopped = false;

  constructor(private readonly opts: CallPumpOptions) {
    this.budget = new CallBudget(opts.clock, opts.maxCallsPerMinute);
  }

  /** Starts what may start now. */
  kick(): void {
    if (this.stopped || this.timer !== null) return;
    while (this.running < this.opts.concurrency && this.opts.queue.size > 0) {
      const wait = this.budget.tryTake();
      if (wait > 0) {
        this.pauseFor(wait);
        return;
      }
      const task = this.opts.queue.next()!;
      this.running++;
      this.calls++;
      void this.opts.run(task).then(() => {
        this.running--;
        this.kick();
      });
    }
  }

  /** No call starts for `ms` (a longer or shorter pause under way is replaced). */
  pauseFor(ms: number): void {
    if (this.stopped) return;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
  }

  stop(): void {
    this.stopped = true;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
