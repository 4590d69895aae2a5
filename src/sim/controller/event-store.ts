import type { Logger } from 'pino';
import type { EventMessage } from '../../protocol/index.js';
import { CredgwError, isoTime, type Clock } from '../../shared/index.js';
import { EventJournal, type StoredEvent } from './event-journal.js';

/**
 * The events gateways send (protocol section 11), per cluster: each stored
 * once by its id whichever gateway or source reported it, numbered in the
 * order stored (the API's cursor), bounded, and kept on disk when the
 * controller has a state file. `record` resolves once the event is stored
 * (durable, with a file): that is when the gateway gets its ack.
 */

/** Events held per cluster unless configured: the newest; older ones are dropped. */
export const DEFAULT_MAX_EVENTS_PER_CLUSTER = 10_000;
/** Events accepted and not yet written, at most; more are refused (not acked) until the disk catches up. */
export const MAX_UNWRITTEN_EVENTS = 4096;
/** A file with fewer event lines than this is never rewritten. */
const REWRITE_MIN_LINES = 1000;

export class EventStoreError extends CredgwError<'EVENTS_BUSY' | 'EVENTS_CLOSED'> {
  override readonly name = 'EventStoreError';
}

export interface EventStoreOptions {
  /** The events file, or null to keep events in memory only. */
  file: string | null;
  /** Events held per cluster, newest kept. Default {@link DEFAULT_MAX_EVENTS_PER_CLUSTER}. */
  maxPerCluster?: number;
  clock: Clock;
  logger: Logger;
}

/** What became of a recorded event: stored now, or a repeat of one stored (or being stored) before. */
export type RecordOutcome = 'stored' | 'repeat';

/** A page of a cluster's events after a cursor. */
export interface EventPage {
  events: StoredEvent[];
  /** The cursor for the next page: the last seq returned, else the cursor read from. */
  next: number;
  /** More events are held after this page. */
  more: boolean;
  /** The cursor was above any seq this cluster has had (the controller lost its events, or a foreign cursor): read from the start. */
  reset: boolean;
  /** Events after the cursor that are no longer held (dropped by the bound) before the first returned. */
  missed: number;
}

export interface ClusterEventStats {
  /** The oldest and the newest seq held; null when none is. */
  oldest: number | null;
  latest: number | null;
  held: number;
  /** Copies of an event already stored (another gateway, another source, a re-send), since the start. */
  repeats: number;
  /** Events dropped by the bound, since the start. */
  dropped: number;
}

interface ClusterEvents {
  /** Held events in seq order: those from `head` on. */
  list: StoredEvent[];
  head: number;
  byId: Map<string, StoredEvent>;
  /** Ids accepted and not yet stored, with the promise of their write. */
  pending: Map<string, Promise<void>>;
  /** The last seq given out (stored or being written). */
  lastSeq: number;
  repeats: number;
  dropped: number;
}

interface Unwritten {
  clusterId: string;
  gatewayId: string;
  message: EventMessage;
  receivedAt: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class EventStore {
  private readonly clusters = new Map<string, ClusterEvents>();
  private readonly journal: EventJournal | null;
  private readonly max: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly listeners = new Set<(clusterId: string) => void>();
  /** Accepted events waiting for the next write (group commit: one write and one fdatasync per batch). */
  private queue: Unwritten[] = [];
  private writing = 0;
  private flushing: Promise<void> | null = null;
  private closed = false;

  private constructor(opts: EventStoreOptions) {
    this.journal = opts.file === null ? null : new EventJournal(opts.file);
    this.max = opts.maxPerCluster ?? DEFAULT_MAX_EVENTS_PER_CLUSTER;
    if (!Number.isSafeInteger(this.max) || this.max < 1) throw new RangeError(`EventStore: maxPerCluster must be a positive integer, got ${this.max}`);
    this.log = opts.logger;
    this.clock = opts.clock;
  }

  /**
   * Opens the store: reads the file (if any) and rewrites it when it was
   * damaged, missing or over the bound. A file that is not an events
   * journal throws EventJournalError (EVENT_STATE_INVALID).
   */
  static async open(opts: EventStoreOptions): Promise<EventStore> {
    const store = new EventStore(opts);
    const journal = store.journal;
    if (!journal) return store;
    const contents = await journal.read();
    let damaged = contents.damaged;
    let overBound = 0;
    for (const event of contents.events) {
      const c = store.cluster(event.clusterId);
      // Lines out of order or repeated cannot come from this store: skipped like damaged ones.
      if (event.seq <= c.lastSeq || c.byId.has(event.id)) {
        damaged++;
        continue;
      }
      c.lastSeq = event.seq;
      overBound += store.hold(c, event);
    }
    if (damaged > 0) store.log.warn({ file: journal.file, damaged }, 'events file has damaged lines, skipped');
    if (!contents.clean || damaged > 0 || overBound > 0) await journal.rewrite(store.held());
    store.log.info({ file: journal.file, events: store.heldCount(), clusters: store.clusters.size }, 'events loaded');
    return store;
  }

  /** The events file, or null in memory. */
  get file(): string | null {
    return this.journal?.file ?? null;
  }

  /**
   * Stores an event once by id per cluster; resolves when it is stored
   * (written and synced with a file) or was already, and rejects when it
   * could not be stored (the gateway gets no ack and sends it again).
   */
  record(clusterId: string, gatewayId: string, message: EventMessage): Promise<RecordOutcome> {
    if (this.closed) return Promise.reject(new EventStoreError('EVENTS_CLOSED', 'the controller is stopping'));
    const c = this.cluster(clusterId);
    if (c.byId.has(message.id)) {
      c.repeats++;
      return Promise.resolve('repeat');
    }
    const pending = c.pending.get(message.id);
    if (pending) {
      c.repeats++;
      return pending.then(() => 'repeat');
    }
    if (this.queue.length + this.writing >= MAX_UNWRITTEN_EVENTS) {
      return Promise.reject(new EventStoreError('EVENTS_BUSY', `${MAX_UNWRITTEN_EVENTS} events are waiting for the disk`));
    }
    const receivedAt = isoTime(this.clock.now());
    const written = new Promise<void>((resolve, reject) => this.queue.push({ clusterId, gatewayId, message, receivedAt, resolve, reject }));
    c.pending.set(message.id, written);
    this.kick();
    return written.then(() => 'stored');
  }

  /** Up to `limit` events of the cluster after the cursor `after`, oldest first. */
  page(clusterId: string, after: number, limit: number): EventPage {
    const c = this.clusters.get(clusterId);
    const reset = after > (c?.lastSeq ?? 0);
    const from = reset ? 0 : after;
    if (!c) return { events: [], next: from, more: false, reset, missed: 0 };
    const at = this.indexAfter(c, from);
    const events = c.list.slice(at, at + limit);
    const first = c.list[at];
    return {
      events,
      next: events.length > 0 ? events[events.length - 1]!.seq : from,
      more: at + limit < c.list.length,
      reset,
      missed: first ? first.seq - from - 1 : 0,
    };
  }

  /** The first held event after `seq` (the stream's next one), or undefined. */
  next(clusterId: string, seq: number): StoredEvent | undefined {
    const c = this.clusters.get(clusterId);
    return c ? c.list[this.indexAfter(c, seq)] : undefined;
  }

  /** The last seq the cluster has given out (0 when none): a cursor above it is from somewhere else. */
  lastSeq(clusterId: string): number {
    return this.clusters.get(clusterId)?.lastSeq ?? 0;
  }

  stats(clusterId: string): ClusterEventStats {
    const c = this.clusters.get(clusterId);
    if (!c) return { oldest: null, latest: null, held: 0, repeats: 0, dropped: 0 };
    const held = c.list.length - c.head;
    return {
      oldest: held > 0 ? c.list[c.head]!.seq : null,
      latest: held > 0 ? c.list[c.list.length - 1]!.seq : null,
      held,
      repeats: c.repeats,
      dropped: c.dropped,
    };
  }

  /** Calls `listener` with the cluster's id after events are stored there; returns the unsubscribe. */
  subscribe(listener: (clusterId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Refuses new events, waits for the writes under way, closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.journal?.close();
  }

  // ---- inside ---------------------------------------------------------------

  private cluster(clusterId: string): ClusterEvents {
    let c = this.clusters.get(clusterId);
    if (!c) {
      c = { list: [], head: 0, byId: new Map(), pending: new Map(), lastSeq: 0, repeats: 0, dropped: 0 };
      this.clusters.set(clusterId, c);
    }
    return c;
  }

  /** Index in `list` of the first held event with a seq above `seq` (seqs increase along the list). */
  private indexAfter(c: ClusterEvents, seq: number): number {
    let lo = c.head;
    let hi = c.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c.list[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds a stored event, dropping the oldest beyond the bound; returns how many were dropped. */
  private hold(c: ClusterEvents, event: StoredEvent): number {
    c.list.push(event);
    c.byId.set(event.id, event);
    let dropped = 0;
    while (c.list.length - c.head > this.max) {
      c.byId.delete(c.list[c.head++]!.id);
      dropped++;
    }
    // Keep the array from growing: cut the dropped head now and then.
    if (c.head > 1024 && c.head * 2 > c.list.length) {
      c.list = c.list.slice(c.head);
      c.head = 0;
    }
    return dropped;
  }

  private heldCount(): number {
    let n = 0;
    for (const c of this.clusters.values()) n += c.list.length - c.head;
    return n;
  }

  /** Every held event, cluster by cluster, oldest first (what a rewritten file holds). */
  private held(): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const c of this.clusters.values()) for (let i = c.head; i < c.list.length; i++) out.push(c.list[i]!);
    return out;
  }

  /** Starts writing the queue unless a write loop runs; one that ends with events queued starts again. */
  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flush()
      .catch((err: unknown) => this.log.error({ err }, 'event store write loop failed'))
      .finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.kick();
      });
  }

  /**
   * Writes the queue batch by batch. Seqs are given when a batch is taken
   * and taken back when its write fails (batches are written one at a
   * time), so seqs stay dense and become visible in order.
   */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      this.writing = batch.length;
      const events = batch.map((u): StoredEvent => {
        const { id, name, data } = u.message;
        return { seq: ++this.cluster(u.clusterId).lastSeq, clusterId: u.clusterId, id, name, data, receivedAt: u.receivedAt, gatewayId: u.gatewayId };
      });
      try {
        if (this.journal) await this.journal.append(events);
      } catch (err) {
        this.log.error({ err, events: batch.length }, 'events not stored, not acked');
        for (const e of [...events].reverse()) this.cluster(e.clusterId).lastSeq = e.seq - 1;
        this.settle(batch, err);
        continue;
      }
      this.commit(events);
      this.settle(batch, null);
      await this.rewriteIfDue();
    }
  }

  private settle(batch: Unwritten[], err: unknown): void {
    this.writing = 0;
    for (const u of batch) {
      this.cluster(u.clusterId).pending.delete(u.message.id);
      if (err === null) u.resolve();
      else u.reject(err);
    }
  }

  private commit(events: StoredEvent[]): void {
    const touched = new Set<string>();
    for (const event of events) {
      const c = this.cluster(event.clusterId);
      const dropped = this.hold(c, event);
      if (dropped > 0 && c.dropped === 0) this.log.warn({ clusterId: event.clusterId, maxPerCluster: this.max }, 'event store full, oldest events dropped');
      c.dropped += dropped;
      touched.add(event.clusterId);
      this.log.info({ clusterId: event.clusterId, gatewayId: event.gatewayId, id: event.id, seq: event.seq, source: event.data.source }, 'event stored');
    }
    for (const clusterId of touched) {
      for (const listener of this.listeners) {
        try {
          listener(clusterId);
        } catch (err) {
          this.log.error({ err }, 'event listener failed');
        }
      }
    }
  }

  /** Rewrites the file with the held events once dead lines outnumber both REWRITE_MIN_LINES and the held ones. */
  private async rewriteIfDue(): Promise<void> {
    const journal = this.journal;
    if (!journal) return;
    if (journal.lines <= REWRITE_MIN_LINES || journal.lines <= 2 * this.heldCount()) return;
    try {
      await journal.rewrite(this.held());
    } catch (err) {
      // The old file is still whole (the rename did not happen); appends go on there.
      this.log.error({ err, file: journal.file }, 'events file rewrite failed');
    }
  }
}
