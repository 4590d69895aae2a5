import type { Clock, TimerHandle } from '../shared/index.js';

export interface HeartbeatOptions {
  clock: Clock;
  /** Ping interval, the welcome's heartbeatMs. */
  intervalMs: number;
  /** Silence, in heartbeats, after which the peer is dead. Default 3 (protocol section 2). */
  livenessHeartbeats?: number;
  /** Sends one ping. */
  ping: () => void;
  /** Called once when nothing was heard for livenessHeartbeats × intervalMs; the heartbeat has stopped. */
  dead: (silentMs: number) => void;
}

/**
 * Liveness of one connection (protocol section 2): a ping every interval,
 * and `dead` after livenessHeartbeats × interval without hearing anything.
 * `heard()` only stores a time, so a busy connection pays nothing per frame;
 * the one timer wakes at the next ping or at the silence deadline,
 * whichever is first.
 *
 * The deadline is final: something read after it passed does not revive
 * the connection. After a stall (a stopped process, a starved event loop)
 * the socket buffer may hold frames that sat there for longer than the
 * liveness window — among them commands of an epoch the controller has
 * since moved to another gateway, which it dropped us for hearing nothing
 * from us for as long. Acting on them would serve at a stale epoch.
 */
export class Heartbeat {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly deadAfterMs: number;
  private readonly ping: () => void;
  private readonly dead: (silentMs: number) => void;
  private timer: TimerHandle | null = null;
  private active = false;
  private lastHeard = 0;
  private nextPingAt = 0;

  constructor(options: HeartbeatOptions) {
    this.clock = options.clock;
    this.intervalMs = options.intervalMs;
    this.deadAfterMs = (options.livenessHeartbeats ?? 3) * options.intervalMs;
    this.ping = options.ping;
    this.dead = options.dead;
  }

  get running(): boolean {
    return this.active;
  }

  /**
   * True once the silence deadline has passed, even before the timer has
   * fired to say so: a process that was stopped (SIGSTOP, a starved event
   * loop) wakes with its I/O handled before its timers.
   */
  get overdue(): boolean {
    return this.active && this.clock.monotonic() - this.lastHeard >= this.deadAfterMs;
  }

  start(): void {
    this.stop();
    this.active = true;
    const now = this.clock.monotonic();
    this.lastHeard = now;
    this.nextPingAt = now + this.intervalMs;
    this.schedule(now);
  }

  /**
   * Something (a frame, a ping, a pong) arrived. Returns false when the
   * frame must be ignored: the heartbeat is not running, or the silence
   * deadline had already passed when it was read (then `dead` is called
   * now, if the timer has not done it yet).
   */
  heard(): boolean {
    if (!this.active) return false;
    const now = this.clock.monotonic();
    const silent = now - this.lastHeard;
    if (silent >= this.deadAfterMs) {
      this.stop();
      this.dead(silent);
      return false;
    }
    this.lastHeard = now;
    return true;
  }

  stop(): void {
    this.active = false;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(now: number): void {
    const at = Math.min(this.nextPingAt, this.lastHeard + this.deadAfterMs);
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, at - now));
  }

  private tick(): void {
    this.timer = null;
    const now = this.clock.monotonic();
    const silent = now - this.lastHeard;
    if (silent >= this.deadAfterMs) {
      this.active = false;
      this.dead(silent);
      return;
    }
    if (now >= this.nextPingAt) {
      this.nextPingAt = now + this.intervalMs;
      this.ping();
    }
    // ping() may have led to stop() (a socket that closed under it).
    if (this.active) this.schedule(now);
  }
}
