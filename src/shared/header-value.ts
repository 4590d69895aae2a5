/**
 * Printable ISO-8859-1 (Latin-1): visible ASCII, the space, and U+00A0-U+00FF.
 * undici writes header values as latin1 and refuses anything above U+00FF;
 * C0/C1 controls (CR, LF, NUL…) are never safe in a header.
 */
const HEADER_VALUE = /^[\x21-\x7e\xa1-\xff](?:[\x20-\x7e\xa0-\xff]*[\x21-\x7e\xa1-\xff])?$/;

/** Longest value accepted: PAM360 organisation names are display names, not documents. */
const MAX_HEADER_VALUE_LENGTH = 256;

/**
 * Whether `value` can travel as an HTTP header value byte for byte: 1-256
 * printable Latin-1 characters, no leading or trailing space (a server
 * trims those, so the value it reads would differ from the one meant).
 * Used for the `orgName` header, whose value may come from config or from a
 * resource's custom attribute.
 */
export function isHeaderValue(value: string): boolean {
  return value.length <= MAX_HEADER_VALUE_LENGTH && HEADER_VALUE.test(value);
}
