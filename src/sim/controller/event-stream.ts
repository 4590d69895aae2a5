import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../shared/index.js';
import type { StoredEvent } from './event-journal.js';
import type { EventStore } from './event-store.js';

/**
 * The clusters' events as Server-Sent Events
 * (docs/reference-controller.md, "Events"). Each client has a cursor, the
 * last seq written to it; it is fed from the store, never from a queue of
 * its own: a write the socket cannot take pauses the client until 'drain',
 * so what waits for it is at most one socket buffer. A client that takes
 * nothing for a whole heartbeat interval while events wait is dropped.
 */

/** A comment line this often keeps proxies from closing a quiet stream, and paces the slow-client check. */
export const DEFAULT_EVENT_STREAM_HEARTBEAT_MS = 15_000;
/** Streams open at once, all clusters together. */
export const DEFAULT_MAX_EVENT_STREAMS = 100;

export interface EventStreamsOptions {
  store: EventStore;
  clock: Clock;
  logger: Logger;
  /** Default {@link DEFAULT_EVENT_STREAM_HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Default {@link DEFAULT_MAX_EVENT_STREAMS}. */
  maxStreams?: number;
}

interface StreamClient {
  clusterId: string;
  res: ServerResponse;
  /** The last seq written to this client. */
  sent: number;
  /** A write was refused: nothing more until the socket drains. */
  waiting: boolean;
  /** It was waiting at the last heartbeat and has not drained since. */
  stalled: boolean;
}

/** Why a stream cannot be opened now, or null. */
export type StreamRefusal = 'stopping' | 'full' | null;

/** One Server-Sent Event: `id` is the seq, so a reconnecting client's Last-Event-ID is its cursor. */
export function sseFrame(event: StoredEvent): string {
  return `id: ${event.seq}\nevent: ${event.name}\ndata: ${JSON.stringify(event)}\n\n`;
}

export class EventStreams {
  private readonly clients = new Set<StreamClient>();
  private readonly store: EventStore;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly heartbeatMs: number;
  private readonly maxStreams: number;
  private readonly unsubscribe: () => void;
  private ticker: TimerHandle | null = null;
  private stopped = false;

  constructor(opts: EventStreamsOptions) {
    this.store = opts.store;
    this.clock = opts.clock;
    this.log = opts.logger;
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_EVENT_STREAM_HEARTBEAT_MS;
    this.maxStreams = opts.maxStreams ?? DEFAULT_MAX_EVENT_STREAMS;
    this.unsubscribe = this.store.subscribe((clusterId) => this.stored(clusterId));
  }

  /** Open streams. */
  get size(): number {
    return this.clients.size;
  }

  refusal(): StreamRefusal {
    if (this.stopped) return 'stopping';
    return this.clients.size >= this.maxStreams ? 'full' : null;
  }

  /**
   * Starts a stream of the cluster's events after the cursor `after`
   * (check `refusal()` first). A cursor above any seq the cluster has had
   * starts from its oldest event, after a `reset` event.
   */
  open(clusterId: string, after: number, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies such as nginx would otherwise hold events back.
      'x-accel-buffering': 'no',
    });
    const client: StreamClient = { clusterId, res, sent: after, waiting: false, stalled: false };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.on('drain', () => {
      client.waiting = false;
      client.stalled = false;
      this.pump(client);
    });
    let head = ': credgw event stream\n\n';
    const lastSeq = this.store.lastSeq(clusterId);
    if (after > lastSeq) {
      head += `event: reset\ndata: ${JSON.stringify({ after, latest: lastSeq })}\n\n`;
      client.sent = 0;
    }
    this.write(client, head);
    this.log.info({ clusterId, after, streams: this.clients.size }, 'event stream opened');
    this.startTicker();
    this.pump(client);
  }

  /** Ends every stream (a clean end of the response) and refuses new ones. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    this.clock.clearTimeout(this.ticker);
    this.ticker = null;
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }

  private stored(clusterId: string): void {
    for (const client of this.clients) if (client.clusterId === clusterId) this.pump(client);
  }

  /** Writes the client's next events until the socket refuses one. */
  private pump(client: StreamClient): void {
    while (!client.waiting && this.clients.has(client)) {
      const event = this.store.next(client.clusterId, client.sent);
      if (!event) return;
      let text = sseFrame(event);
      const missed = event.seq - client.sent - 1;
      // Events the client never got were dropped by the store's bound before it read them.
      if (missed > 0) text = `event: gap\ndata: ${JSON.stringify({ after: client.sent, next: event.seq, missed })}\n\n${text}`;
      client.sent = event.seq;
      this.write(client, text);
    }
  }

  private write(client: StreamClient, text: string): void {
    const { res } = client;
    if (res.destroyed || res.writableEnded) {
      this.clients.delete(client);
      return;
    }
    if (!res.write(text)) client.waiting = true;
  }

  private startTicker(): void {
    if (this.ticker !== null || this.stopped) return;
    this.ticker = this.clock.setTimeout(() => {
      this.ticker = null;
      this.tick();
      if (this.clients.size > 0) this.startTicker();
    }, this.heartbeatMs);
  }

  /** A comment to every client that can take one; a client still waiting since the last tick is dropped. */
  private tick(): void {
    for (const client of [...this.clients]) {
      if (!client.waiting) {
        this.write(client, ': heartbeat\n\n');
      } else if (!client.stalled) {
        client.stalled = true;
      } else {
        this.log.warn({ clusterId: client.clusterId, sent: client.sent, buffered: client.res.writableLength }, 'event stream client too slow, dropped');
        this.clients.delete(client);
        client.res.destroy();
      }
    }
  }
}
