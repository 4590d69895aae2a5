import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Bearer tokens as the controller checks them, on the gateways' upgrade and on the HTTP API. */

/** What is kept of a token: its SHA-256, so every comparison has the same length. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time check of a bearer token against a set of digests. */
export function bearerMatches(header: string | undefined, digests: Buffer[]): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = tokenDigest(m[1]!);
  let ok = false;
  for (const d of digests) ok = timingSafeEqual(given, d) || ok;
  return ok;
}

/** A header sent once; undefined when absent or repeated. */
export function oneHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? undefined : v;
}
