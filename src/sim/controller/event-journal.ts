import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeEvent, isId, isObject, parseIsoTime, type CredentialRotatedData, type EventName } from '../../protocol/index.js';
import { CredgwError, type CredgwErrorOptions } from '../../shared/index.js';

/**
 * The controller's events on disk, beside the epoch state file
 * (`<state file>.events`), so that a restarted controller still serves
 * what it acked (docs/reference-controller.md, "Events"). A first line
 * naming the format, then one stored event per line as JSON:
 *
 *   credgw-controller-events 1
 *   {"seq":1,"clusterId":"site-1","id":"ev-…","name":"credentialRotated","data":{…},"receivedAt":"…","gatewayId":"gw-a"}
 *
 * Lines are appended and `fdatasync`'ed before the events are acked; the
 * file is rewritten (temporary file, fsync, rename, directory fsync) with
 * only the events still held once dead lines dominate. A line without its
 * newline is a write cut short by a crash and is left out.
 */

export const EVENT_JOURNAL_HEADER = 'credgw-controller-events 1';
const HEADER_PREFIX = 'credgw-controller-events ';

/** One event as the controller holds and serves it. */
export interface StoredEvent {
  /** The cluster's sequence number: 1, 2, 3 … in the order events were stored (the API's cursor). */
  seq: number;
  clusterId: string;
  /** The event's own id (protocol section 11): the same change always has the same id. */
  id: string;
  name: EventName;
  data: CredentialRotatedData;
  /** When the controller stored the first copy (ISO 8601, UTC). */
  receivedAt: string;
  /** The gateway whose copy was stored first. */
  gatewayId: string;
}

export class EventJournalError extends CredgwError<'EVENT_STATE_INVALID'> {
  override readonly name = 'EventJournalError';
  constructor(
    message: string,
    readonly path: string,
    options?: CredgwErrorOptions,
  ) {
    super('EVENT_STATE_INVALID', message, options);
  }
}

/** The events file that goes with an epoch state file. */
export function eventsFileFor(stateFile: string): string {
  return `${stateFile}.events`;
}

/** What a journal held when it was read. */
export interface JournalContents {
  /** Every readable event, in file order. */
  events: StoredEvent[];
  /** Lines that could not be read and were skipped (a cut-short last line included). */
  damaged: number;
  /** The file exists, has its header and ends with a whole line: no rewrite needed. */
  clean: boolean;
}

/** One stored event as a line's JSON, or null when the line is not one. */
export function parseEventLine(line: string): StoredEvent | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  const { seq, clusterId, receivedAt, gatewayId } = v;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  if (!isId(clusterId) || !isId(gatewayId) || typeof receivedAt !== 'string' || parseIsoTime(receivedAt) === null) return null;
  // The same checks as on the wire: nothing read back can carry a password field.
  const decoded = decodeEvent({ type: 'event', id: v['id'], name: v['name'], data: v['data'] });
  if (decoded.kind !== 'message') return null;
  const { id, name, data } = decoded.message;
  return { seq, clusterId, id, name, data, receivedAt, gatewayId };
}

export function formatEventLine(event: StoredEvent): string {
  const { seq, clusterId, id, name, data, receivedAt, gatewayId } = event;
  return `${JSON.stringify({ seq, clusterId, id, name, data, receivedAt, gatewayId })}\n`;
}

/** Reads a journal's text; a file of another format or a newer version is refused. */
export function readJournalText(text: string, file: string): JournalContents {
  if (text === '') return { events: [], damaged: 0, clean: false };
  const lines = text.split('\n');
  const header = lines[0]!;
  if (header !== EVENT_JOURNAL_HEADER) {
    const what = header.startsWith(HEADER_PREFIX) ? `a format this controller does not read ("${header.slice(0, 64)}")` : 'not an events journal';
    throw new EventJournalError(`the events file ${file} is ${what}; move it away to start with no stored events`, file);
  }
  // The text after the last newline is a line whose write was cut short ('' when the file ends well).
  const tail = lines.pop()!;
  let damaged = tail === '' || lines.length === 0 ? 0 : 1;
  const events: StoredEvent[] = [];
  for (const line of lines.slice(1)) {
    const event = parseEventLine(line);
    if (event) events.push(event);
    else damaged++;
  }
  return { events, damaged, clean: damaged === 0 && tail === '' };
}

/** The journal file: read once at start, then appended to and rewritten by the EventStore. */
export class EventJournal {
  private handle: FileHandle | null = null;
  /** Event lines in the file (the rewrite rule counts them). */
  private lineCount = 0;
  /** An append failed: the file may end in part of a line, which the next append ends first. */
  private torn = false;

  constructor(readonly file: string) {}

  /** Event lines in the file. */
  get lines(): number {
    return this.lineCount;
  }

  /** Reads the file; a missing one holds nothing. */
  async read(): Promise<JournalContents> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], damaged: 0, clean: false };
      throw new EventJournalError(`cannot read the events file ${this.file}`, this.file, { cause: err });
    }
    const contents = readJournalText(text, this.file);
    this.lineCount = contents.events.length + contents.damaged;
    return contents;
  }

  /** Appends the events and waits for fdatasync: once this resolves they survive a crash. */
  async append(events: StoredEvent[]): Promise<void> {
    let head = this.torn ? '\n' : '';
    if (!this.handle) {
      this.handle = await open(this.file, 'a', 0o600);
      // A file removed since it was read starts again, header first.
      if ((await this.handle.stat()).size === 0) {
        head = `${EVENT_JOURNAL_HEADER}\n`;
        this.lineCount = 0;
      }
    }
    const handle = this.handle;
    const bytes = Buffer.from(head + events.map(formatEventLine).join(''), 'utf8');
    try {
      let at = 0;
      while (at < bytes.length) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
      await handle.datasync();
    } catch (err) {
      // The next append opens the file again (and sees it as it is then).
      this.torn = true;
      await this.closeHandle().catch(() => undefined);
      throw err;
    }
    this.torn = false;
    this.lineCount += events.length;
  }

  /**
   * Replaces the file by exactly `events`: a crash at any point leaves the
   * old file or the new one, whole.
   */
  async rewrite(events: StoredEvent[]): Promise<void> {
    await this.closeHandle();
    const tmp = join(dirname(this.file), `.${basename(this.file)}.tmp`);
    const out = await open(tmp, 'w', 0o600);
    try {
      await out.writeFile(`${EVENT_JOURNAL_HEADER}\n${events.map(formatEventLine).join('')}`, 'utf8');
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, this.file);
    this.torn = false;
    const dir = await open(dirname(this.file), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.lineCount = events.length;
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close();
  }
}
