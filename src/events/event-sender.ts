import { pino, type Logger } from 'pino';
import type { EventMessage } from '../protocol/index.js';

/** Default of unacknowledged events sent on one link at a time; more go out as acks come back. */
export const DEFAULT_EVENTS_IN_FLIGHT = 100;

/** What the sender needs of the outbox (the Outbox class has it). */
export interface SenderOutbox {
  /** Unacknowledged events, oldest first. */
  pending(): EventMessage[];
  /** The pending event of this id; undefined once acked or dropped. */
  get(id: string): EventMessage | undefined;
  ack(id: string): boolean;
  /** Counts a hand-over to the link. */
  noteSent(id: string): void;
  /** Calls the listener with each new event once durable; returns the unsubscribe. */
  subscribe(listener: (message: EventMessage) => void): () => void;
}

export interface EventSenderOptions {
  outbox: SenderOutbox;
  /** Hands one frame to the link; false when the connection is gone and the frame was not sent. */
  send: (message: EventMessage) => boolean;
  /** Events sent and not yet acked, at most, per link session. Default DEFAULT_EVENTS_IN_FLIGHT (100). */
  maxInFlight?: number | undefined;
  /** Default: silent. */
  logger?: Logger | undefined;
}

export interface EventSenderStats {
  /** Sending: a welcome came and the link has not gone down since. */
  up: boolean;
  inFlight: number;
  /** Pending events not yet sent on this session. */
  waiting: number;
}

/**
 * Delivers the outbox's events at least once (protocol section 11). After
 * each `welcome` it sends every pending event, oldest first, keeping at
 * most `maxInFlight` unacknowledged at a time; each ack frees a place and
 * lets the next one go; an event stored while the link is up goes out at
 * once when there is room. When the link goes down it forgets what was in
 * flight: all of it is sent again after the next welcome. Pure logic: no
 * sockets, no timers (acks pace it).
 */
export class EventSender {
  private readonly outbox: SenderOutbox;
  private readonly sendFrame: (message: EventMessage) => boolean;
  private readonly maxInFlight: number;
  private readonly log: Logger;
  private readonly unsubscribe: () => void;
  private up = false;
  private readonly inFlight = new Set<string>();
  /** Ids to send on this session, in order; those before `next` are sent (or skipped). */
  private queue: string[] = [];
  private next = 0;

  constructor(opts: EventSenderOptions) {
    this.outbox = opts.outbox;
    this.sendFrame = opts.send;
    this.maxInFlight = opts.maxInFlight ?? DEFAULT_EVENTS_IN_FLIGHT;
    if (!Number.isSafeInteger(this.maxInFlight) || this.maxInFlight < 1) throw new RangeError(`EventSender: maxInFlight must be a positive integer, got ${this.maxInFlight}`);
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.unsubscribe = this.outbox.subscribe((message) => this.stored(message));
  }

  /** A welcome arrived (a new session): send every pending event again, paced. */
  welcomed(): void {
    this.inFlight.clear();
    this.queue = this.outbox.pending().map((m) => m.id);
    this.next = 0;
    this.up = true;
    if (this.queue.length > 0) this.log.info({ pending: this.queue.length }, 'sending pending events');
    this.pump();
  }

  /** The controller stored this event. */
  ack(id: string): void {
    this.inFlight.delete(id);
    this.outbox.ack(id);
    this.pump();
  }

  /** The link is down: whatever was in flight goes again after the next welcome. */
  linkDown(): void {
    this.up = false;
    this.inFlight.clear();
    this.queue = [];
    this.next = 0;
  }

  /** Stops listening to the outbox (daemon stop). */
  stop(): void {
    this.linkDown();
    this.unsubscribe();
  }

  stats(): EventSenderStats {
    return { up: this.up, inFlight: this.inFlight.size, waiting: this.queue.length - this.next };
  }

  private stored(message: EventMessage): void {
    if (!this.up) return;
    this.queue.push(message.id);
    this.pump();
  }

  private pump(): void {
    while (this.up && this.inFlight.size < this.maxInFlight && this.next < this.queue.length) {
      const id = this.queue[this.next]!;
      const message = this.outbox.get(id);
      if (message === undefined) {
        // Acked (a repeat of an earlier session's ack) or dropped by the bound since it was queued.
        this.next++;
        continue;
      }
      if (!this.sendFrame(message)) {
        // The connection is gone; its close will come as linkDown, then a welcome starts over.
        this.up = false;
        return;
      }
      this.next++;
      this.inFlight.add(id);
      this.outbox.noteSent(id);
    }
    // Keep the queue from growing with a long-lived session: drop the sent head now and then.
    if (this.next > 1024 && this.next * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.next);
      this.next = 0;
    }
  }
}
