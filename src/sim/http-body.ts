import type { IncomingMessage } from 'node:http';

/**
 * Request bodies and path segments as both simulators (the PMP simulator
 * and the reference controller) read them.
 */

/** True when the request announces a body (a Content-Length other than 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads the whole body, up to `maxBytes`; null when it is larger (reading
 * stops there and the request stream is destroyed).
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A percent-decoded path segment; undefined when its percent-encoding is broken. */
export function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
