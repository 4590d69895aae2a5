import type { AuditEvent } from '../shared/audit-event.js';

/**
 * The bytes of one audit line: the JSON that JSON.stringify would write for
 * the event's own fields, in this order, with `reason` left out when
 * undefined, then a newline, in UTF-8.
 *
 * The fields are named one by one, not spread, so nothing but the event's
 * own fields can reach the trail: a caller passing a wider object (one with
 * a `password`, say) gets those keys dropped.
 *
 * One line per command, so it is written straight into the audit batch (a
 * buffer outside the JS heap) rather than built as a string: a string line
 * is a tree of concatenations that has to be flattened and then encoded,
 * about 1.8 KiB of garbage per command. A value of printable ASCII without
 * a quote or a backslash (nearly all of them: IDs, names, codes, times) is
 * copied byte by byte in the same pass that checks it; any other value is
 * written as JSON.stringify writes it. Tests compare whole lines with
 * JSON.stringify's on awkward text.
 */
export function writeAuditLine(e: AuditEvent, out: Buffer, at: number): number {
  at = putField('{"type":"audit","time":', e.time, out, at);
  at = putField(',"event":', e.event, out, at);
  at = putField(',"commandId":', e.commandId, out, at);
  at = putAscii(',"epoch":', out, at);
  at = putAscii(jsonNumber(e.epoch), out, at);
  at = putField(',"gatewayId":', e.gatewayId, out, at);
  at = putField(',"requestedBy":', e.requestedBy, out, at);
  at = putField(',"ticketId":', e.ticketId, out, at);
  if (e.reason !== undefined) at = putField(',"reason":', e.reason, out, at);
  at = putField(',"vault":', e.vault, out, at);
  at = putField(',"resource":', e.resource, out, at);
  at = putField(',"resourceId":', e.resourceId, out, at);
  at = putField(',"accountId":', e.accountId, out, at);
  at = putField(',"accountName":', e.accountName, out, at);
  at = putField(',"outcome":', e.outcome, out, at);
  at = putAscii(e.sealed === true ? ',"sealed":true,"durationMs":' : ',"sealed":false,"durationMs":', out, at);
  at = putAscii(jsonNumber(e.durationMs), out, at);
  return putAscii('}\n', out, at);
}

/** Keys, punctuation, numbers and literals of a line, beyond the values. */
const FIXED_BYTES = 512;
/** JSON writes one UTF-16 unit as at most 6 bytes (`\u001f`; UTF-8 needs at most 3). */
const MAX_BYTES_PER_UNIT = 6;

/** An upper bound of writeAuditLine's length for `e`: room to reserve before writing. */
export function auditLineBound(e: AuditEvent): number {
  const units =
    e.time.length +
    e.event.length +
    e.commandId.length +
    e.gatewayId.length +
    (e.requestedBy?.length ?? 0) +
    (e.ticketId?.length ?? 0) +
    (e.reason?.length ?? 0) +
    e.vault.length +
    (e.resource?.length ?? 0) +
    (e.resourceId?.length ?? 0) +
    (e.accountId?.length ?? 0) +
    (e.accountName?.length ?? 0) +
    e.outcome.length;
  return FIXED_BYTES + MAX_BYTES_PER_UNIT * units;
}

/** One audit line in a buffer of its own (a line too long for a batch). */
export function auditLineBytes(e: AuditEvent): Buffer {
  const buf = Buffer.allocUnsafe(auditLineBound(e));
  return buf.subarray(0, writeAuditLine(e, buf, 0));
}

/** One audit line as a string (tests, and any caller without a batch). */
export function auditLine(e: AuditEvent): string {
  return auditLineBytes(e).toString('utf8');
}

/** Text known to be ASCII (keys, numbers, literals). */
function putAscii(s: string, out: Buffer, at: number): number {
  for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
  return at;
}

/** A key (with its punctuation) and its string value. */
function putField(key: string, v: string | null | undefined, out: Buffer, at: number): number {
  return putString(v, out, putAscii(key, out, at));
}

/** Characters JSON.stringify escapes in a string: quote, backslash, C0 controls, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string (or null) as JSON. */
function putString(v: string | null | undefined, out: Buffer, at: number): number {
  if (v === null || v === undefined) return putAscii('null', out, at);
  const start = at;
  out[at++] = 0x22;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    // Printable ASCII other than `"` and `\` is its own JSON and its own UTF-8.
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      return start + out.write(NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`, start, 'utf8');
    }
    out[at++] = c;
  }
  out[at++] = 0x22;
  return at;
}

/** A number as JSON: as JSON.stringify writes it (NaN and the infinities become null). */
function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}
