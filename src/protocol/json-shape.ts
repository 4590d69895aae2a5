/**
 * A bound on what JSON.parse may be asked to build from one frame. A 1 MiB
 * frame of `[[[[…` or of 100,000 object keys is legal JSON that takes
 * JSON.parse (and the walk after it) hundreds of milliseconds on the event
 * loop; no command needs a shape anywhere near these limits
 * (docs/protocol.md section 8). The scan is linear, skips strings natively,
 * and still reads the frame's top-level `type`, `id` and `epoch`, so that a
 * command refused for its shape gets its one result.
 */

/** Deepest nesting of objects and arrays a frame may have. */
export const MAX_JSON_DEPTH = 32;
/** Most values (array elements and object members) a frame may hold. */
export const MAX_JSON_VALUES = 10_000;
/** Frames shorter than this cannot reach either limit's cost, and are not scanned. */
export const JSON_SHAPE_SCAN_FROM = 16 * 1024;

/** A frame over the bounds: why, and its top-level scalar `type`, `id` and `epoch` where it has them. */
export interface JsonShapeProblem {
  problem: string;
  head: { type?: string; id?: string; epoch?: number };
}

const HEAD_KEYS = new Set(['type', 'id', 'epoch']);
/** Longest top-level string value kept for the head (an id is at most 128 characters). */
const HEAD_VALUE_MAX = 256;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const NUMBER_CHAR = /[-+.0-9eE]/;

/** Why `text` is too deep or too large to parse (with its head), or null when it is within the bounds. */
export function jsonShapeProblem(text: string): JsonShapeProblem | null {
  if (text.length < JSON_SHAPE_SCAN_FROM) return null;
  let problem: string | null = null;
  const head: JsonShapeProblem['head'] = {};
  let depth = 0;
  let values = 0;
  // Top-level members: is the next string a key, and which head key is waiting for its value.
  let expectKey = false;
  let key: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (end < 0) return null; // unterminated: JSON.parse refuses it cheaply
      if (depth === 1) {
        if (expectKey) {
          key = end - i - 1 <= 5 ? text.slice(i + 1, end) : null;
          expectKey = false;
        } else if (key !== null) {
          if (HEAD_KEYS.has(key) && key !== 'epoch' && end - i - 1 <= HEAD_VALUE_MAX) (head as Record<string, string>)[key] = text.slice(i + 1, end);
          key = null;
        }
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) problem ??= `frame nests deeper than ${MAX_JSON_DEPTH} levels`;
      if (depth === 1) expectKey = c === OPEN_BRACE;
      else key = null;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA || c === COLON) {
      // A colon counts an object member, a comma an array element; both together stay proportional.
      if (++values > 2 * MAX_JSON_VALUES) problem ??= `frame holds more than ${MAX_JSON_VALUES} values`;
      if (depth === 1 && c === COMMA) expectKey = true;
    } else if (depth === 1 && key === 'epoch' && NUMBER_CHAR.test(text[i]!)) {
      let j = i;
      while (j < text.length && NUMBER_CHAR.test(text[j]!)) j++;
      head.epoch = Number(text.slice(i, j));
      key = null;
      i = j - 1;
    }
  }
  return problem === null ? null : { problem, head };
}

/** Index of the quote that closes the string opened at `open` (strings are skipped natively), or -1. */
function closingQuote(text: string, open: number): number {
  let at = text.indexOf('"', open + 1);
  while (at >= 0) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = text.indexOf('"', at + 1);
  }
  return -1;
}
