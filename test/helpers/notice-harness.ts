import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { NoticeRecorder, NoticeVaults, RotationNotice, VaultAcceptance } from '../../src/notices/index.js';
import { createLogger } from '../../src/telemetry/logger.js';

/**
 * Fakes and clients for the notice listener and syslog receiver tests:
 * a recorder standing in for the outbox, a vault table, a log capture, and
 * a raw HTTPS client that can send a request in pieces (or not finish it).
 */

/** Every JSON line a logger wrote, as text and parsed. */
export function logCapture(): { logger: Logger; text: () => string; entries: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, text: () => lines.join(''), entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/**
 * Stands in for the outbox: keeps what it was given and answers an id
 * derived from the change (as the outbox does), so the same change gets
 * the same id. `hold()` makes the next records wait until `release()`;
 * `fail()` makes them reject.
 */
export class FakeRecorder implements NoticeRecorder {
  readonly notices: RotationNotice[] = [];
  private held: (() => void)[] | null = null;
  private failing = false;

  record(notice: RotationNotice): Promise<{ eventId: string }> {
    const id = `ev-${createHash('sha256').update([notice.vault, notice.resourceName, notice.accountName, notice.rotatedAt].join('\n')).digest('hex').slice(0, 16)}`;
    const finish = (): { eventId: string } => {
      if (this.failing) throw new Error('disk full');
      this.notices.push(notice);
      return { eventId: id };
    };
    if (this.held) {
      const held = this.held;
      return new Promise((resolve, reject) =>
        held.push(() => {
          try {
            resolve(finish());
          } catch (err) {
            reject(err as Error);
          }
        }),
      );
    }
    try {
      return Promise.resolve(finish());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  hold(): void {
    this.held = [];
  }

  /** How many records wait. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const go of held) go();
  }

  fail(on = true): void {
    this.failing = on;
  }
}

export class FakeVaults implements NoticeVaults {
  constructor(private readonly table: Record<string, VaultAcceptance>) {}
  vaultAccepts(name: string): VaultAcceptance {
    return this.table[name] ?? 'unknown';
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: unknown;
}

export interface RawTarget {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Local address to send from (any 127.x.y.z works on Linux loopback). */
  localAddress?: string;
  /** CA (PEM) that the server's certificate chains to. */
  ca: string;
}

/** A TLS connection to the listener, for writing a request piece by piece. */
export function connectRaw(target: RawTarget): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const tcp = net.connect({ host: target.host ?? '127.0.0.1', port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
    const socket = tls.connect({ socket: tcp, ca: target.ca, servername: 'localhost' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Reads the whole response (the listener closes every connection after it). */
export function readResponse(socket: tls.TLSSocket): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (chunks.length > 0 ? undefined : reject(err)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (status === 0) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = rest.join('\r\n\r\n');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // not JSON
      }
      resolve({ status, headers, body, json });
    });
  });
}

export interface RawRequest {
  method?: string;
  path?: string;
  token?: string | null;
  /** An object is sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One whole request. */
export async function send(target: RawTarget, req: RawRequest): Promise<RawResponse> {
  const socket = await connectRaw(target);
  const body = req.body === undefined ? '' : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = {
    host: 'localhost',
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...(req.token === null ? {} : { authorization: `Bearer ${req.token ?? 'notice-token-1'}` }),
    ...req.headers,
  };
  const head = `${req.method ?? 'POST'} ${req.path ?? '/v1/notices/rotation'} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
  const response = readResponse(socket);
  socket.write(head + body);
  return response;
}
