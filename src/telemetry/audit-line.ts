import { AUDIT_LINE_FIELDS, type AuditEvent, type AuditFieldKind } from '../shared/index.js';

/**
 * The bytes of one audit line: `{"type":"audit"`, then the event's fields
 * in the order and the way AUDIT_LINE_FIELDS (shared/audit-event.ts) gives
 * them, as JSON.stringify would write each value (an optional field left
 * out when undefined), `}` and a newline, in UTF-8.
 *
 * Only the declared fields are read, never the object's own keys, so
 * nothing else can reach the trail: a caller passing a wider object (one
 * with a `password`, say) gets those keys dropped.
 *
 * Written straight into the audit batch (a buffer outside the JS heap)
 * rather than built as a string (docs/benchmarks.md, "Why the hot path
 * looks as it does"). Tests compare whole lines with JSON.stringify's on
 * awkward text.
 */
export function writeAuditLine(e: AuditEvent, out: Buffer, at: number): number {
  at = putAscii(LINE_OPEN, out, at);
  for (const f of LINE_FIELDS) {
    const v = e[f.name];
    if (v === undefined && f.kind === 'optional-string') continue;
    at = putAscii(f.key, out, at);
    if (f.kind === 'number') at = putAscii(typeof v === 'number' ? jsonNumber(v) : 'null', out, at);
    else if (f.kind === 'boolean') at = putAscii(v === true ? 'true' : 'false', out, at);
    else at = putString(typeof v === 'string' ? v : null, out, at);
  }
  return putAscii(LINE_CLOSE, out, at);
}

interface LineField {
  name: keyof AuditEvent;
  kind: AuditFieldKind;
  /** The key with its punctuation: `,"name":`. */
  key: string;
}

const LINE_OPEN = '{"type":"audit"';
const LINE_CLOSE = '}\n';
const LINE_FIELDS: readonly LineField[] = (Object.keys(AUDIT_LINE_FIELDS) as (keyof AuditEvent)[]).map((name) => ({
  name,
  kind: AUDIT_LINE_FIELDS[name],
  key: `,"${name}":`,
}));
const STRING_FIELDS = LINE_FIELDS.filter((f) => f.kind === 'string' || f.kind === 'optional-string');

/** The most bytes a value other than a string's text takes: a JSON number ("-2.2250738585072014e-308"), a literal, or a string's quotes. */
const MAX_VALUE_BYTES = 24;
/** Keys, punctuation, numbers and literals of a line: all but the text of its strings. */
const FIXED_BYTES = LINE_OPEN.length + LINE_CLOSE.length + LINE_FIELDS.reduce((n, f) => n + f.key.length + MAX_VALUE_BYTES, 0);
/** JSON writes one UTF-16 unit as at most 6 bytes (`\u001f`; UTF-8 needs at most 3). */
const MAX_BYTES_PER_UNIT = 6;

/** An upper bound of writeAuditLine's length for `e`: room to reserve before writing. */
export function auditLineBound(e: AuditEvent): number {
  let units = 0;
  for (const f of STRING_FIELDS) {
    const v = e[f.name];
    if (typeof v === 'string') units += v.length;
  }
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

/** Characters JSON.stringify escapes in a string: quote, backslash, C0 controls, and (lone) surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string (or null) as JSON. Printable ASCII without a quote or a
 * backslash (nearly every value: IDs, names, codes, times) is copied byte by
 * byte in the pass that checks it; anything else is written as
 * JSON.stringify writes it.
 */
function putString(v: string | null, out: Buffer, at: number): number {
  if (v === null) return putAscii('null', out, at);
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
