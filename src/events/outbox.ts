import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { parseIsoTime, type EventMessage } from '../protocol/index.js';
import { systemClock, type Clock } from '../shared/index.js';
import { ChangeIndex, DEFAULT_MERGE_WINDOW_MS } from './change-index.js';
import { EventTally } from './event-tally.js';
import { replaceFile, writeAll } from './journal-file.js';
import { OutboxError } from './outbox-errors.js';
import { encodeRecord, formatLine, OUTBOX_FILE, replayJournal, type JournalReplay } from './outbox-journal.js';
import { buildRotationEvent, type RotationNotice } from './rotation-event.js';

/** Default of `events.maxStored`: unacknowledged events kept before the oldest is dropped. */
export const DEFAULT_MAX_STORED = 10_000;
/** Default number of dead journal lines (acked, dropped) tolerated before a rewrite, at the least. */
export const DEFAULT_COMPACT_AFTER = 1000;
/** Acked ids remembered in memory, so that a late repeat of an acked change is not stored again. */
export const DEFAULT_REMEMBER_ACKED = 4096;
/** Mode of the journal: events name resources and accounts, nobody else needs them. */
export const OUTBOX_FILE_MODE = 0o600;

export interface OutboxOptions {
  /** The gateway's state directory (resolveStateDir); the journal is `<dir>/outbox.journal`. Created 0750 when missing. */
  dir: string;
  /** Most unacknowledged events kept; beyond it the oldest is dropped. Default DEFAULT_MAX_STORED (10,000). */
  maxStored?: number | undefined;
  /** Dead lines tolerated before the journal is rewritten: at least this many, and at least as many as live events. Default 1000. */
  compactAfter?: number | undefined;
  /** Acked ids remembered to answer a repeat as a duplicate. Default 4096. */
  rememberAcked?: number | undefined;
  /** A notice this close to a held change of the same names, from a source that has not reported it, is that change (change-index.ts). Default 120,000 ms; 0 off. */
  mergeWindowMs?: number | undefined;
  /** Stamps stored events (for the oldest age). Default systemClock. */
  clock?: Clock | undefined;
  /** Default: silent. */
  logger?: Logger | undefined;
  /** Where outcomes are counted (shared with the EventSender). Default: a new one, `outbox.tally`. */
  tally?: EventTally | undefined;
}

export interface RecordResult {
  eventId: string;
  /** False when the same change was already stored (or acked lately): nothing new was written. */
  stored: boolean;
}

/** For `credgw status`. */
export interface OutboxStats {
  pending: number;
  /** How long the oldest unacknowledged event has waited, in ms; null when none waits. */
  oldestAgeMs: number | null;
  /** Events the bound dropped since the outbox file was created. */
  droppedTotal: number;
  /** Record lines in the journal; it is rewritten when dead ones pile up. */
  journalRecords: number;
}

interface Entry {
  message: EventMessage;
  storedAtMs: number;
  /** Times handed to the link; an event found on disk counts as sent once (an earlier process had it). */
  sends: number;
}

interface AddWrite {
  kind: 'add';
  message: EventMessage;
  storedAtMs: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

type Write = AddWrite | { kind: 'ack'; id: string };

/**
 * The durable outbox of events (protocol section 11): a change recorded
 * here is on disk before `record` resolves, stays until the controller
 * acks it, and survives kill -9 and restarts. Records that arrive while a
 * write is in progress share the next write and its one fdatasync (group
 * commit). Acks are written without a sync of their own: an ack lost to a
 * crash means one more re-send, which at-least-once allows.
 * Format and rules: outbox-journal.ts and docs/protocol.md.
 */
export class Outbox {
  readonly tally: EventTally;
  readonly file: string;
  private readonly maxStored: number;
  private readonly compactAfter: number;
  private readonly rememberAcked: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Durable, unacknowledged events, oldest first. */
  private readonly entries = new Map<string, Entry>();
  /** Events queued or being written, until durable (a repeat waits for the first). */
  private readonly writing = new Map<string, Promise<void>>();
  private readonly recentlyAcked = new Set<string>();
  /** Every change held (pending, being written, recently acked), for the merge window. */
  private readonly changes: ChangeIndex;
  private readonly listeners = new Set<(message: EventMessage) => void>();
  private queue: Write[] = [];
  private draining: Promise<void> | null = null;
  /** Open for appending; null when the last write failed (the next batch rewrites the file from memory first). */
  private handle: FileHandle | null = null;
  private journalRecords = 0;
  private droppedTotal: number;
  private state: 'open' | 'closing' | 'closed' = 'open';

  private constructor(opts: OutboxOptions, replay: JournalReplay) {
    this.file = join(opts.dir, OUTBOX_FILE);
    this.maxStored = positiveInteger(opts.maxStored ?? DEFAULT_MAX_STORED, 'maxStored');
    this.compactAfter = positiveInteger(opts.compactAfter ?? DEFAULT_COMPACT_AFTER, 'compactAfter');
    this.rememberAcked = positiveInteger(opts.rememberAcked ?? DEFAULT_REMEMBER_ACKED, 'rememberAcked');
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? pino({ level: 'silent' });
    this.tally = opts.tally ?? new EventTally();
    this.droppedTotal = replay.droppedTotal;
    this.journalRecords = replay.records;
    this.changes = new ChangeIndex(opts.mergeWindowMs ?? DEFAULT_MERGE_WINDOW_MS);
    for (const [id, e] of replay.entries) {
      this.entries.set(id, { message: e.message, storedAtMs: e.storedAtMs, sends: 1 });
      const d = e.message.data;
      this.changes.add(id, { ...d, rotatedAtMs: parseIsoTime(d.rotatedAt) ?? 0 }, d.source);
    }
  }

  /**
   * Reads the journal in `dir` (or starts an empty one) and opens it for
   * appending. A cut-short last line is left out; a file of a newer format
   * is refused (OUTBOX_VERSION) and left as it is.
   */
  static async open(opts: OutboxOptions): Promise<Outbox> {
    const file = join(opts.dir, OUTBOX_FILE);
    let text = '';
    try {
      await mkdir(opts.dir, { recursive: true, mode: 0o750 });
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new OutboxError('OUTBOX_UNAVAILABLE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const replay = replayJournal(text, file);
    const outbox = new Outbox(opts, replay);
    await outbox.start(text.length === 0, replay);
    return outbox;
  }

  private async start(empty: boolean, replay: JournalReplay): Promise<void> {
    const over = this.entries.size - this.maxStored;
    if (over > 0) this.dropOldest([...this.entries.keys()].slice(0, over));
    if (replay.badRecords > 0) this.log.warn({ file: this.file, badRecords: replay.badRecords }, 'outbox journal has damaged lines, skipped');
    try {
      await rm(`${this.file}.tmp`, { force: true });
      if (empty || replay.tornTail || replay.badRecords > 0 || over > 0 || this.compactDue()) await this.rewrite();
      else this.handle = await open(this.file, 'a', OUTBOX_FILE_MODE);
    } catch (err) {
      throw new OutboxError('OUTBOX_UNAVAILABLE', `cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    this.log.info({ file: this.file, pending: this.entries.size, droppedTotal: this.droppedTotal, tornTail: replay.tornTail }, 'outbox open');
  }

  /**
   * Stores the event of a notice; resolves once it is durable (written and
   * fdatasync'ed), with its id. A change already stored resolves with the
   * same id and `stored: false` (once the first copy is durable); so does
   * another source's report of a held change within the merge window.
   * Rejects with BAD_REQUEST (GatewayError) for a notice that breaks the
   * event's rules, OUTBOX_UNAVAILABLE when the write failed, OUTBOX_CLOSED
   * after close().
   */
  async record(notice: RotationNotice): Promise<RecordResult> {
    if (this.state !== 'open') throw new OutboxError('OUTBOX_CLOSED', 'the outbox is closed');
    const message = buildRotationEvent(notice);
    const eventId = message.id;
    const held = this.entries.has(eventId) || this.recentlyAcked.has(eventId) || this.writing.has(eventId) ? eventId : this.changes.match(notice, notice.source);
    if (held !== undefined) {
      this.changes.noteSource(held, notice.source);
      this.tally.count(message.data.source, 'duplicate');
      await this.writing.get(held);
      return { eventId: held, stored: false };
    }
    this.changes.add(eventId, notice, notice.source);
    const durable = new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'add', message, storedAtMs: this.clock.now(), resolve, reject });
    });
    this.writing.set(eventId, durable);
    this.kick();
    await durable;
    return { eventId, stored: true };
  }

  /** The controller stored this event: let it go (durably by the next write). False when it was not pending. */
  ack(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    this.recentlyAcked.add(id);
    if (this.recentlyAcked.size > this.rememberAcked) {
      const forgotten = this.recentlyAcked.values().next().value as string;
      this.recentlyAcked.delete(forgotten);
      this.changes.remove(forgotten);
    }
    this.tally.count(entry.message.data.source, 'acked');
    if (this.state !== 'closed') {
      this.queue.push({ kind: 'ack', id });
      this.kick();
    }
    return true;
  }

  /** The unacknowledged events, oldest first: what goes out after each welcome. */
  pending(): EventMessage[] {
    return Array.from(this.entries.values(), (e) => e.message);
  }

  /** The pending event of this id, if it still is. */
  get(id: string): EventMessage | undefined {
    return this.entries.get(id)?.message;
  }

  /** Counts a hand-over to the link (sent the first time, resent after). */
  noteSent(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.tally.count(entry.message.data.source, entry.sends === 0 ? 'sent' : 'resent');
    entry.sends++;
  }

  /** Calls `listener` with each new event once it is durable. Returns the unsubscribe. */
  subscribe(listener: (message: EventMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): OutboxStats {
    const oldest = this.entries.values().next().value as Entry | undefined;
    return {
      pending: this.entries.size,
      oldestAgeMs: oldest ? Math.max(0, this.clock.now() - oldest.storedAtMs) : null,
      droppedTotal: this.droppedTotal,
      journalRecords: this.journalRecords,
    };
  }

  /** Writes what is queued (acks with a sync), then closes the file. Records after this reject. Idempotent. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    while (this.draining) await this.draining;
    const handle = this.handle;
    this.handle = null;
    this.state = 'closed';
    if (handle) {
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
  }

  private kick(): void {
    if (this.draining) return;
    this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.writeBatch(batch);
      }
    } finally {
      // In the same turn as the last look at the queue: a record queued after it finds no drain running and starts one.
      this.draining = null;
    }
  }

  /** One write and, when it holds events, one fdatasync for everything queued since the last. Never throws. */
  private async writeBatch(batch: Write[]): Promise<void> {
    const adds = batch.filter((w): w is AddWrite => w.kind === 'add');
    // The bound: the oldest of (stored events, then this batch's) make room.
    const victims = this.victims(this.entries.size + adds.length - this.maxStored, adds);
    let text = '';
    for (const w of batch) text += w.kind === 'add' ? encodeRecord({ t: 'add', at: w.storedAtMs, ev: w.message }) : encodeRecord({ t: 'ack', id: w.id });
    for (const id of victims) text += encodeRecord({ t: 'drop', id });
    try {
      if (this.handle === null) await this.rewrite();
      await writeAll(this.handle!, text);
      if (adds.length > 0) await this.handle!.datasync();
      this.journalRecords += batch.length + victims.length;
    } catch (err) {
      // The file may end in part of this batch: the next batch starts a clean file from memory.
      const handle = this.handle;
      this.handle = null;
      await handle?.close().catch(() => undefined);
      this.log.error({ err, file: this.file, events: adds.length }, 'outbox write failed');
      const failure = new OutboxError('OUTBOX_UNAVAILABLE', `cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
      for (const a of adds) {
        this.writing.delete(a.message.id);
        this.changes.remove(a.message.id);
        a.reject(failure);
      }
      return;
    }
    for (const a of adds) {
      this.entries.set(a.message.id, { message: a.message, storedAtMs: a.storedAtMs, sends: 0 });
      this.writing.delete(a.message.id);
      this.tally.count(a.message.data.source, 'stored');
    }
    this.dropOldest(victims);
    for (const a of adds) {
      a.resolve();
      if (this.entries.has(a.message.id)) this.announce(a.message);
    }
    if (this.compactDue()) {
      try {
        await this.rewrite();
      } catch (err) {
        this.log.error({ err, file: this.file }, 'outbox rewrite failed');
      }
    }
  }

  /** The `excess` oldest ids of the stored events followed by `adds`. */
  private victims(excess: number, adds: readonly AddWrite[]): string[] {
    const ids: string[] = [];
    if (excess <= 0) return ids;
    for (const id of this.entries.keys()) {
      if (ids.length === excess) return ids;
      ids.push(id);
    }
    for (const a of adds) {
      if (ids.length === excess) break;
      ids.push(a.message.id);
    }
    return ids;
  }

  private dropOldest(ids: readonly string[]): void {
    let dropped = 0;
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (!entry) continue;
      this.entries.delete(id);
      this.changes.remove(id);
      this.tally.count(entry.message.data.source, 'dropped');
      dropped++;
    }
    if (dropped === 0) return;
    this.droppedTotal += dropped;
    this.log.warn({ dropped, droppedTotal: this.droppedTotal, maxStored: this.maxStored }, 'outbox full, oldest events dropped');
  }

  private announce(message: EventMessage): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch (err) {
        this.log.error({ err, id: message.id }, 'outbox listener failed');
      }
    }
  }

  private compactDue(): boolean {
    const dead = this.journalRecords - 1 - this.entries.size;
    return dead > Math.max(this.compactAfter, this.entries.size);
  }

  /**
   * Replaces the journal by one holding only what is pending: written to a
   * temporary file, synced, renamed over the journal, the directory synced.
   * A crash at any point leaves either the old journal or the new one.
   */
  private async rewrite(): Promise<void> {
    let text = formatLine() + encodeRecord({ t: 'meta', dropped: this.droppedTotal });
    for (const e of this.entries.values()) text += encodeRecord({ t: 'add', at: e.storedAtMs, ev: e.message });
    const old = this.handle;
    this.handle = null;
    await old?.close().catch(() => undefined);
    await replaceFile({ file: this.file, text, mode: OUTBOX_FILE_MODE });
    this.handle = await open(this.file, 'a', OUTBOX_FILE_MODE);
    this.journalRecords = 1 + this.entries.size;
  }
}

function positiveInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Outbox: ${what} must be a positive integer, got ${value}`);
  return value;
}
