import { crc32 } from 'node:zlib';
import { decodeEvent, isId, isObject, type EventMessage } from '../protocol/index.js';
import { OutboxError } from './outbox-errors.js';

/**
 * The outbox's file: an append-only journal of JSON lines, each with its own
 * checksum, after a first line that names the format and its version.
 *
 *   credgw-outbox 1
 *   1c291ca3 {"t":"meta","dropped":0}
 *   5a0b77e2 {"t":"add","at":1764756902120,"ev":{"type":"event","id":"ev-…",…}}
 *   0e5d1f4c {"t":"ack","id":"ev-…"}
 *   8f1b9a10 {"t":"drop","id":"ev-…"}
 *
 * A line is the CRC-32 (8 hex digits) of its JSON text, a space, the JSON,
 * a newline. A line that is cut short (no newline: the process died inside
 * a write) or whose checksum does not match is skipped; the lines before it
 * and after it still count. The format line has no checksum on purpose: it
 * must stay readable to a credgw that knows nothing of later formats.
 * docs/protocol.md, "Events: what section 11 left open", has the rules.
 */

export const OUTBOX_FILE = 'outbox.journal';
export const OUTBOX_FORMAT_VERSION = 1;
const MAGIC = 'credgw-outbox';
const FORMAT_LINE = /^credgw-outbox (\d{1,9})$/;

export type JournalRecord =
  /** Totals carried over a rewrite. */
  | { t: 'meta'; dropped: number }
  /** An event made durable; `at` is when the gateway stored it (ms since the epoch). */
  | { t: 'add'; at: number; ev: EventMessage }
  /** The controller acked it. */
  | { t: 'ack'; id: string }
  /** The bound pushed it out. */
  | { t: 'drop'; id: string };

export interface JournalEntry {
  message: EventMessage;
  storedAtMs: number;
}

export interface JournalReplay {
  /** Events neither acked nor dropped, oldest first. */
  entries: Map<string, JournalEntry>;
  /** Events the bound has dropped since the file was created. */
  droppedTotal: number;
  /** Good record lines read (the format line not counted). */
  records: number;
  /** The file ended inside a line (or its last lines were unreadable): a write the process did not finish. */
  tornTail: boolean;
  /** Unreadable lines followed by good ones: damage that a crash of this process cannot cause. */
  badRecords: number;
}

/** The first line of every outbox file. */
export function formatLine(version: number = OUTBOX_FORMAT_VERSION): string {
  return `${MAGIC} ${version}\n`;
}

/** One journal line. JSON escapes every newline inside strings, so a line is one record. */
export function encodeRecord(record: JournalRecord): string {
  const json = JSON.stringify(record);
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
}

/** The record of one line, or null when the line is damaged or not a record this version writes. */
export function decodeRecord(line: string): JournalRecord | null {
  if (line.length < 10 || line[8] !== ' ') return null;
  const json = line.slice(9);
  const sum = Number.parseInt(line.slice(0, 8), 16);
  if (!/^[0-9a-f]{8}$/.test(line.slice(0, 8)) || crc32(json) !== sum) return null;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (!isObject(v)) return null;
  switch (v['t']) {
    case 'meta':
      return Number.isSafeInteger(v['dropped']) && (v['dropped'] as number) >= 0 ? { t: 'meta', dropped: v['dropped'] as number } : null;
    case 'add': {
      if (typeof v['at'] !== 'number' || !Number.isFinite(v['at']) || !isObject(v['ev'])) return null;
      const ev = decodeEvent(v['ev']);
      return ev.kind === 'message' ? { t: 'add', at: v['at'], ev: ev.message } : null;
    }
    case 'ack':
    case 'drop':
      return isId(v['id']) ? { t: v['t'], id: v['id'] } : null;
    default:
      return null;
  }
}

/**
 * Reads a journal's text back into its events. Refuses (OutboxError) a file
 * that is not an outbox, and one of a format version this credgw does not
 * know, rather than let anyone overwrite it. An empty text is an empty outbox.
 */
export function replayJournal(text: string, file: string): JournalReplay {
  const replay: JournalReplay = { entries: new Map(), droppedTotal: 0, records: 0, tornTail: false, badRecords: 0 };
  if (text.length === 0) return replay;
  const firstEnd = text.indexOf('\n');
  const first = firstEnd < 0 ? text : text.slice(0, firstEnd);
  const format = FORMAT_LINE.exec(first);
  if (!format) throw new OutboxError('OUTBOX_UNAVAILABLE', `${file} is not a credgw outbox (its first line is not "${MAGIC} N"); move it away to start an empty one`);
  const version = Number(format[1]);
  if (version > OUTBOX_FORMAT_VERSION) {
    throw new OutboxError(
      'OUTBOX_VERSION',
      `${file} was written by a newer credgw (outbox format ${version}; this one reads format ${OUTBOX_FORMAT_VERSION}): run that version, or move the file away to start an empty outbox (its unsent events are then lost)`,
    );
  }
  if (version !== OUTBOX_FORMAT_VERSION) throw new OutboxError('OUTBOX_UNAVAILABLE', `${file} has outbox format ${version}, which no credgw writes`);
  if (firstEnd < 0) return replay;
  let pendingBad = 0;
  let at = firstEnd + 1;
  while (at < text.length) {
    const end = text.indexOf('\n', at);
    if (end < 0) {
      // The last write stopped inside this line.
      replay.tornTail = true;
      break;
    }
    const record = decodeRecord(text.slice(at, end));
    at = end + 1;
    if (record === null) {
      pendingBad++;
      continue;
    }
    replay.badRecords += pendingBad;
    pendingBad = 0;
    replay.records++;
    apply(replay, record);
  }
  if (pendingBad > 0) replay.tornTail = true;
  return replay;
}

function apply(replay: JournalReplay, record: JournalRecord): void {
  switch (record.t) {
    case 'meta':
      replay.droppedTotal = record.dropped;
      return;
    case 'add':
      if (!replay.entries.has(record.ev.id)) replay.entries.set(record.ev.id, { message: record.ev, storedAtMs: record.at });
      return;
    case 'ack':
      replay.entries.delete(record.id);
      return;
    case 'drop':
      if (replay.entries.delete(record.id)) replay.droppedTotal++;
      return;
  }
}
