import { compareCodeUnits, unrefTimer, type Clock, type TimerHandle } from '../shared/index.js';
import type { LoopStatus } from './status.js';

/**
 * Is the process doing its work, or only alive? Each of the daemon's loops
 * (the link's dial/heartbeat loop, each vault's health probe, …) registers
 * with the longest silence it may keep and ticks whenever it makes
 * progress. The daemon pings the systemd watchdog only while healthy()
 * holds, so a wedged loop gets the process restarted instead of leaving a
 * live process with a dead tunnel.
 *
 * The monitor also runs its own event-loop ticker: a timer that expects to
 * fire every `eventLoopIntervalMs`. When the event loop is blocked or
 * starved, the timer fires late; a firing later than `maxEventLoopLagMs`
 * does not count as a tick, so sustained lag (or a long block) turns the
 * monitor unhealthy even though every other loop ticked just before.
 */

/** The name under which the event-loop ticker registers. */
export const EVENT_LOOP = 'event-loop';

export interface LivenessOptions {
  /** Period of the event-loop ticker, ms. Default 1000. */
  eventLoopIntervalMs?: number;
  /** A ticker firing later than this is not a tick, ms. Default 2000. */
  maxEventLoopLagMs?: number;
  /**
   * Longest the event-loop ticker may go without an on-time tick, ms.
   * Default 10000 (systemd's watchdog is typically 20–30 s; this leaves it room).
   */
  eventLoopMaxSilenceMs?: number;
}

export interface LivenessCheck {
  healthy: boolean;
  /** One sentence per loop that is overdue; empty when healthy. */
  reasons: string[];
}

interface Loop {
  maxSilenceMs: number;
  /** Monotonic time of the last tick, or of registration before the first tick. */
  lastTickAt: number;
  ticked: boolean;
}

export class LivenessMonitor {
  private readonly loops = new Map<string, Loop>();
  private readonly intervalMs: number;
  private readonly maxLagMs: number;
  private readonly eventLoopSilenceMs: number;
  private ticker: TimerHandle | null = null;
  private lastLagMs = 0;

  constructor(
    private readonly clock: Clock,
    options: LivenessOptions = {},
  ) {
    this.intervalMs = options.eventLoopIntervalMs ?? 1000;
    this.maxLagMs = options.maxEventLoopLagMs ?? 2000;
    this.eventLoopSilenceMs = options.eventLoopMaxSilenceMs ?? 10_000;
    if (!(this.intervalMs > 0) || !(this.maxLagMs >= 0) || !(this.eventLoopSilenceMs > this.intervalMs)) {
      throw new RangeError('LivenessMonitor: need eventLoopIntervalMs > 0, maxEventLoopLagMs >= 0 and eventLoopMaxSilenceMs > eventLoopIntervalMs');
    }
  }

  /**
   * Watches a loop that must tick at least every `maxSilenceMs`. The clock
   * starts now (a loop is not overdue before it had a chance to run).
   * Registering again replaces the allowance and restarts the clock.
   */
  register(name: string, maxSilenceMs: number): void {
    if (!(maxSilenceMs > 0)) throw new RangeError(`LivenessMonitor: maxSilenceMs of ${name} must be > 0`);
    this.loops.set(name, { maxSilenceMs, lastTickAt: this.clock.monotonic(), ticked: false });
  }

  /** Stops watching a loop (a vault profile removed by a reload, the link when stopping). */
  unregister(name: string): void {
    this.loops.delete(name);
  }

  /** The loop made progress. A tick of an unregistered loop is ignored (it may have just been removed). */
  tick(name: string): void {
    const loop = this.loops.get(name);
    if (!loop) return;
    loop.lastTickAt = this.clock.monotonic();
    loop.ticked = true;
  }

  /** True when every registered loop ticked within its allowed silence. */
  healthy(): boolean {
    return this.check().healthy;
  }

  /** healthy() with the reasons, for /healthz. */
  check(): LivenessCheck {
    const now = this.clock.monotonic();
    const reasons: string[] = [];
    for (const [name, loop] of this.loops) {
      const silent = now - loop.lastTickAt;
      if (silent > loop.maxSilenceMs) {
        const lag = name === EVENT_LOOP && this.lastLagMs > this.maxLagMs ? `; last timer ran ${Math.round(this.lastLagMs)} ms late` : '';
        reasons.push(
          `${name} has not ticked for ${Math.round(silent)} ms (allowed ${loop.maxSilenceMs} ms${loop.ticked ? '' : ', never ticked'}${lag})`,
        );
      }
    }
    return { healthy: reasons.length === 0, reasons };
  }

  /** Every loop's state, for GatewayStatus.loops. */
  snapshot(): Record<string, LoopStatus> {
    const now = this.clock.monotonic();
    const out: Record<string, LoopStatus> = {};
    // Code-unit order: localeCompare would load ICU's collation data at the first /status (docs/benchmarks.md).
    for (const [name, loop] of [...this.loops].sort(([a], [b]) => compareCodeUnits(a, b))) {
      const ago = now - loop.lastTickAt;
      out[name] = { healthy: ago <= loop.maxSilenceMs, lastTickAgoMs: loop.ticked ? Math.round(ago) : null };
    }
    return out;
  }

  /** How late the event-loop ticker last fired, ms (0 before it ran). */
  get eventLoopLagMs(): number {
    return this.lastLagMs;
  }

  /** Starts the event-loop ticker (restarts it when running). */
  start(): void {
    this.stop();
    this.register(EVENT_LOOP, this.eventLoopSilenceMs);
    this.schedule();
  }

  /** Stops the ticker and forgets the event-loop entry. Idempotent. */
  stop(): void {
    this.clock.clearTimeout(this.ticker);
    this.ticker = null;
    this.loops.delete(EVENT_LOOP);
  }

  private schedule(): void {
    const expected = this.clock.monotonic() + this.intervalMs;
    // unref'd: the ticker watches the process, it must not keep it running.
    this.ticker = unrefTimer(
      this.clock.setTimeout(() => {
        this.lastLagMs = Math.max(0, this.clock.monotonic() - expected);
        if (this.lastLagMs <= this.maxLagMs) this.tick(EVENT_LOOP);
        this.schedule();
      }, this.intervalMs),
    );
  }
}
