/**
 * A bound on what JSON.parse may be asked to build from one frame. A 1 MiB
 * frame of `[[[[…` or of 100,000 object keys is legal JSON that takes
 * JSON.parse (and the walk after it) hundreds of milliseconds on the event
 * loop; no command needs a shape anywhere near these limits
 * (docs/protocol.md section 8). The scan is linear and allocates nothing.
 */

/** Deepest nesting of objects and arrays a frame may have. */
export const MAX_JSON_DEPTH = 32;
/** Most values (array elements and object members) a frame may hold. */
export const MAX_JSON_VALUES = 10_000;
/** Frames shorter than this cannot reach either limit's cost, and are not scanned. */
export const JSON_SHAPE_SCAN_FROM = 16 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Why `text` is too deep or too large to parse, or null when it is within the bounds. */
export function jsonShapeProblem(text: string): string | null {
  if (text.length < JSON_SHAPE_SCAN_FROM) return null;
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = closingQuote(text, i);
      if (i < 0) return null; // unterminated: JSON.parse refuses it cheaply
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_JSON_DEPTH) return `frame nests deeper than ${MAX_JSON_DEPTH} levels`;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA || c === COLON) {
      // A colon counts an object member, a comma an array element; both together stay proportional.
      if (++values > 2 * MAX_JSON_VALUES) return `frame holds more than ${MAX_JSON_VALUES} values`;
    }
  }
  return null;
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
