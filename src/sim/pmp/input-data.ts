/**
 * INPUT_DATA read as PAM360's Java JSON reader (org.json's JSONTokener)
 * reads it. Real clients send, and real servers answer, more than JSON:
 * Python's `str(dict)` (single quotes, True/False), unquoted keys and values.
 * What is taken beyond JSON, and nothing else:
 * - strings in single quotes as well as double quotes, with JSON's escapes
 *   plus `\'`;
 * - keys and values written bare (up to the next `, : ] } / \ " [ { ; = #`),
 *   trimmed; a bare value is `true`/`false`/`null` in any letter case (so
 *   Python's True and False are booleans), a JSON number, or else a string
 *   (so Python's None is the string "None", as org.json reads it);
 * - a trailing comma in an object or an array, and `;` between members.
 * Refused (the caller answers as PMP does for malformed INPUT_DATA): a
 * duplicate key, an unknown escape (Python's `\x..`), a line break inside a
 * string, a root that is not an object, anything after the root object, and
 * input over {@link INPUT_DATA_MAX_CHARS} characters or
 * {@link INPUT_DATA_MAX_DEPTH} levels of objects and arrays (the root is one). A
 * hand-written reader: no eval.
 */

export const INPUT_DATA_MAX_CHARS = 32 * 1024;
export const INPUT_DATA_MAX_DEPTH = 32;

export type LenientValue = string | number | boolean | null | LenientValue[] | LenientObject;
export interface LenientObject {
  [key: string]: LenientValue;
}

/** org.json's stop characters for a bare word (a quote `'` is not one of them). */
const BARE_STOP = new Set([',', ':', ']', '}', '/', '\\', '"', '[', '{', ';', '=', '#']);
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const ESCAPES: Readonly<Record<string, string>> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', '"': '"', "'": "'", '\\': '\\', '/': '/' };

/**
 * A recursive-descent reader. Every method returns undefined when the text
 * is malformed at that point (undefined is no LenientValue), and the caller
 * passes that up.
 */
class Reader {
  private pos = 0;

  constructor(private readonly text: string) {}

  /** The next character that is not whitespace (org.json skips every char ≤ ' '), without taking it; '' at the end. */
  peekClean(): string {
    while (this.pos < this.text.length && this.text.charCodeAt(this.pos) <= 32) this.pos += 1;
    return this.text.charAt(this.pos);
  }

  take(): string {
    const c = this.text.charAt(this.pos);
    this.pos += 1;
    return c;
  }

  atEnd(): boolean {
    return this.peekClean() === '';
  }

  value(depth: number): LenientValue | undefined {
    const c = this.peekClean();
    if (c === '"' || c === "'") {
      this.take();
      return this.quoted(c);
    }
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    const word = this.bare();
    return word === undefined ? undefined : bareValue(word);
  }

  object(depth: number): LenientObject | undefined {
    if (depth >= INPUT_DATA_MAX_DEPTH) return undefined;
    this.take(); // {
    // No prototype: a key such as "__proto__" is just a key.
    const obj = Object.create(null) as LenientObject;
    if (this.peekClean() === '}') {
      this.take();
      return obj;
    }
    for (;;) {
      const key = this.key();
      if (key === undefined || Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
      if (this.peekClean() !== ':') return undefined;
      this.take();
      const v = this.value(depth);
      if (v === undefined) return undefined;
      obj[key] = v;
      const sep = this.peekClean();
      this.take();
      if (sep === '}') return obj;
      if (sep !== ',' && sep !== ';') return undefined;
      if (this.peekClean() === '}') {
        this.take();
        return obj;
      }
    }
  }

  array(depth: number): LenientValue[] | undefined {
    if (depth >= INPUT_DATA_MAX_DEPTH) return undefined;
    this.take(); // [
    const arr: LenientValue[] = [];
    if (this.peekClean() === ']') {
      this.take();
      return arr;
    }
    for (;;) {
      const v = this.value(depth);
      if (v === undefined) return undefined;
      arr.push(v);
      const sep = this.peekClean();
      this.take();
      if (sep === ']') return arr;
      if (sep !== ',') return undefined;
      if (this.peekClean() === ']') {
        this.take();
        return arr;
      }
    }
  }

  private key(): string | undefined {
    const c = this.peekClean();
    if (c === '"' || c === "'") {
      this.take();
      return this.quoted(c);
    }
    // An object or array is no name.
    if (c === '{' || c === '[') return undefined;
    return this.bare();
  }

  private quoted(quote: string): string | undefined {
    let out = '';
    for (;;) {
      // The end, or a line break, before the closing quote: unterminated.
      if (this.pos >= this.text.length) return undefined;
      const c = this.take();
      if (c === quote) return out;
      if (c === '\n' || c === '\r') return undefined;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.take();
      if (e === 'u') {
        const hex = this.text.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) return undefined;
        this.pos += 4;
        out += String.fromCharCode(parseInt(hex, 16));
        continue;
      }
      const plain = ESCAPES[e];
      if (plain === undefined) return undefined;
      out += plain;
    }
  }

  /** A bare word, trimmed; an empty one is a missing value. */
  private bare(): string | undefined {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const c = this.text.charAt(this.pos);
      if (this.text.charCodeAt(this.pos) < 32 || BARE_STOP.has(c)) break;
      this.pos += 1;
    }
    const word = this.text.slice(start, this.pos).trim();
    return word === '' ? undefined : word;
  }
}

/** How org.json's stringToValue reads a bare word. */
function bareValue(word: string): LenientValue {
  const lower = word.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (NUMBER.test(word)) {
    const n = Number(word);
    if (Number.isFinite(n)) return n;
  }
  return word;
}

/** The object INPUT_DATA holds; undefined when it is malformed or out of bounds. */
export function parseInputDataText(text: string): LenientObject | undefined {
  if (text.length > INPUT_DATA_MAX_CHARS) return undefined;
  const r = new Reader(text);
  if (r.peekClean() !== '{') return undefined;
  const root = r.object(0);
  return root !== undefined && r.atEnd() ? root : undefined;
}
