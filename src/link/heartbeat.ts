import type { Clock, TimerHandle } from '../shared/index.js';

export interface HeartbeatOptions {
  clock: Clock;
  /** Ping interval, the welcome's heartbeatMs. */
  intervalMs: number;
  /** Silence, in heartbeats, after which the peer is dead. Default 3 (protocol section 2). */
  livenessHeartbeats?: number;
  /** Sends one ping. */
  ping: () => void;
  /**
   * Called once when the deadline passed; the heartbeat has stopped. `side`
   * says which silence reached it: 'heard' (nothing from the peer) or
   * 'sent' (nothing from us that the peer counts, see {@link Heartbeat.sent}).
   */
  dead: (silentMs: number, side: 'heard' | 'sent') => void;
}

/**
 * Liveness of one connection (protocol section 2): a ping every interval,
 * and `dead` after livenessHeartbeats × interval without hearing anything
 * (or without the peer hearing from us, below).
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
 *
 * The peer counts its silence from the last frame it got from us, which can
 * be older than the last one we read (a command read just before the stall
 * and not answered yet): so the deadline is also passed livenessHeartbeats
 * × intervalMs after the last frame we sent that the peer counts (our ping,
 * our pong, or, before the first ping, the open of the connection).
 */
export class Heartbeat {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly deadAfterMs: number;
  private readonly ping: () => void;
  private readonly dead: (silentMs: number, side: 'heard' | 'sent') => void;
  private timer: TimerHandle | null = null;
  private active = false;
  private lastHeard = 0;
  /** When we last sent the peer a frame it counts (ping, pong; the open before): its silence of us started then at the latest. */
  private lastSent = 0;
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
    if (!this.active) return false;
    const now = this.clock.monotonic();
    return now - this.lastHeard >= this.deadAfterMs || now - this.lastSent >= this.deadAfterMs;
  }

  /** Starts; `sentAt` (monotonic, default now) is when the peer last heard from us: the connection's open. */
  start(sentAt?: number): void {
    this.stop();
    this.active = true;
    const now = this.clock.monotonic();
    this.lastHeard = now;
    this.lastSent = Math.min(sentAt ?? now, now);
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
    if (this.expired(now)) return false;
    this.lastHeard = now;
    return true;
  }

  /**
   * We sent the peer a frame it counts as hearing from us (a pong). Call it
   * after heard() accepted the frame that caused it: a pong sent on waking
   * does not undo a deadline that passed while we were stopped.
   */
  sent(): void {
    if (this.active) this.lastSent = this.clock.monotonic();
  }

  stop(): void {
    this.active = false;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** True, with the heartbeat stopped and `dead` called, once either silence has reached the deadline. */
  private expired(now: number): boolean {
    const heard = now - this.lastHeard;
    const sent = now - this.lastSent;
    if (heard < this.deadAfterMs && sent < this.deadAfterMs) return false;
    this.stop();
    this.dead(Math.max(heard, sent), heard >= sent ? 'heard' : 'sent');
    return true;
  }

  private schedule(now: number): void {
    const at = Math.min(this.nextPingAt, Math.min(this.lastHeard, this.lastSent) + this.deadAfterMs);
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, at - now));
  }

  private tick(): void {
    this.timer = null;
    const now = this.clock.monotonic();
    if (this.expired(now)) return;
    if (now >= this.nextPingAt) {
      this.nextPingAt = now + this.intervalMs;
      this.lastSent = now;
      this.ping();
    }
    // ping() may have led to stop() (a socket that closed under it).
    if (this.active) this.schedule(now);
  }
}
