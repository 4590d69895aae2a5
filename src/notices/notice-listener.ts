import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { type Clock, CredgwError, isoTime, type TimerHandle } from '../shared/index.js';
import { spkiPinFromPem } from '../tls/index.js';
import { AddressAllowList, normalizeAddress } from './address-allow-list.js';
import { formatListenAddress, parseListenAddress, type ListenAddress } from './listen-address.js';
import { LogThrottle } from './log-throttle.js';
import { decodeNoticeBody } from './notice-body.js';
import { NOTICE_ERROR_STATUS, refusal, type NoticeErrorCode, type NoticeRefusal } from './notice-errors.js';
import type { NoticeRecorder, NoticeVaults } from './notice.js';
import { RateLimiter } from './rate-limiter.js';

/**
 * The notice listener (protocol section 12): HTTPS, one route,
 * `POST /v1/notices/rotation`. Checks run cheapest first and before the
 * body is read: source allow-list, rate limit per source, route, bearer
 * token, declared size. The body is read up to 16 KiB and no further; a
 * request whose headers and body take longer than the request time-out is
 * answered 408. A valid notice goes to the recorder (the outbox), and 202
 * is sent only once it says the event is durable.
 *
 * Every connection carries one request (`Connection: close`): a vault's
 * script sends one notice per gateway, and a connection that cannot be
 * reused cannot be held open either.
 *
 * Logged: codes, addresses, the notice's names. Never the body, the token,
 * or a field's value.
 */

export const NOTICE_PATH = '/v1/notices/rotation';
/** Largest body read (protocol section 12). */
export const NOTICE_BODY_MAX_BYTES = 16 * 1024;
export const DEFAULT_NOTICE_RATE_PER_SECOND = 20;
export const DEFAULT_NOTICE_BURST = 40;
/** From the TLS handshake's end to the body's end. */
export const DEFAULT_NOTICE_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_NOTICE_MAX_CONNECTIONS = 64;

export interface NoticeListenerOptions {
  /** `host:port` (`notices.listen`): `0.0.0.0:9470`, `[::]:9470`; port 0 picks a free one. */
  listen: string;
  /** PEM certificate (chain) and key (see loadListenerCertificate). */
  certPem: string;
  keyPem: string;
  /** The bearer token's value (the caller reads `notices.token`, a secret reference). */
  token: string;
  /** Addresses and CIDRs allowed to send (`notices.allowFrom`). Default: any. */
  allowFrom?: readonly string[];
  /** Per source address. Default 20. */
  ratePerSecond?: number;
  /** Per source address. Default 40. */
  burst?: number;
  /** Headers and body must arrive within this. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** Connections open at once; more are dropped. Default 64. */
  maxConnections?: number;
  vaults: NoticeVaults;
  recorder: NoticeRecorder;
  clock: Clock;
  logger: Logger;
}

export interface NoticeListenerStats {
  /** Notices recorded (202). */
  accepted: number;
  /** Requests refused, by code. */
  refused: Partial<Record<NoticeErrorCode, number>>;
}

export class NoticeListenerError extends CredgwError<'NOTICES_BAD_OPTIONS' | 'NOTICES_LISTEN_FAILED'> {
  override readonly name = 'NoticeListenerError';
}

/** What the listener knows of an open connection: its time-out and the response it owes. */
interface Connection {
  timer: TimerHandle | null;
  res: ServerResponse | null;
}

export class NoticeListener {
  private readonly connections = new Map<Socket, Connection>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly allow: AddressAllowList;
  private readonly limiter: RateLimiter;
  private readonly tokenDigest: Buffer;
  private readonly logThrottle: LogThrottle;
  private readonly log: Logger;
  private readonly counts: NoticeListenerStats = { accepted: 0, refused: {} };
  private readonly timeoutMs: number;
  /** base64 SHA-256 SPKI pin of the certificate served (what `credgw status` prints for the script's configuration). */
  readonly pin: string;
  private closing: Promise<void> | null = null;
  private server: https.Server | null = null;
  private bound: ListenAddress | null = null;

  private constructor(private readonly opts: NoticeListenerOptions) {
    if (opts.token.length === 0) throw new NoticeListenerError('NOTICES_BAD_OPTIONS', 'notices.token is empty');
    try {
      this.allow = new AddressAllowList(opts.allowFrom);
      this.limiter = new RateLimiter({
        ratePerSecond: opts.ratePerSecond ?? DEFAULT_NOTICE_RATE_PER_SECOND,
        burst: opts.burst ?? DEFAULT_NOTICE_BURST,
        clock: opts.clock,
      });
    } catch (err) {
      throw new NoticeListenerError('NOTICES_BAD_OPTIONS', `notices: ${(err as Error).message}`, { cause: err });
    }
    this.tokenDigest = sha256(opts.token);
    this.logThrottle = new LogThrottle(opts.clock);
    this.log = opts.logger;
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_NOTICE_REQUEST_TIMEOUT_MS;
    try {
      this.pin = spkiPinFromPem(opts.certPem);
    } catch (err) {
      throw new NoticeListenerError('NOTICES_BAD_OPTIONS', `notices: the certificate is not PEM (${(err as Error).message})`, { cause: err });
    }
  }

  /** Starts listening; rejects with NoticeListenerError. */
  static async start(opts: NoticeListenerOptions): Promise<NoticeListener> {
    const listener = new NoticeListener(opts);
    await listener.listen();
    return listener;
  }

  /** Where it listens (the real port when 0 was asked). */
  get address(): ListenAddress {
    return this.bound!;
  }

  stats(): NoticeListenerStats {
    return { accepted: this.counts.accepted, refused: { ...this.counts.refused } };
  }

  /** Stops accepting, lets notices being recorded finish, closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const server = this.server!;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...this.inFlight]);
      for (const [socket, conn] of this.connections) {
        this.opts.clock.clearTimeout(conn.timer);
        socket.destroy();
      }
      this.connections.clear();
      await closed;
      this.log.info({}, 'notice listener stopped');
    })();
    return this.closing;
  }

  private async listen(): Promise<void> {
    let want: ListenAddress;
    try {
      want = parseListenAddress(this.opts.listen);
    } catch (err) {
      throw new NoticeListenerError('NOTICES_BAD_OPTIONS', `notices.listen: ${(err as Error).message}`, { cause: err });
    }
    const server = https.createServer({
      cert: this.opts.certPem,
      key: this.opts.keyPem,
      minVersion: 'TLSv1.2',
      // Node's own bound on the handshake; the request time-out starts when it ends.
      handshakeTimeout: this.timeoutMs,
    });
    server.maxConnections = this.opts.maxConnections ?? DEFAULT_NOTICE_MAX_CONNECTIONS;
    server.on('secureConnection', (socket: Socket) => this.onConnection(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.on('tlsClientError', (err: Error, socket: Socket) => {
      this.log.debug({ err: { message: err.message }, remote: socket.remoteAddress }, 'notice listener TLS handshake failed');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new NoticeListenerError('NOTICES_LISTEN_FAILED', `cannot listen on ${formatListenAddress(want)} (${err.code ?? err.message})`, { cause: err })),
      );
      server.listen(want.port, want.host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err }, 'notice listener error'));
    const a = server.address() as AddressInfo;
    this.server = server;
    this.bound = { host: a.address, port: a.port };
    this.log.info({ listen: formatListenAddress(this.bound), pin: this.pin, allowFrom: this.allow.any ? 'any' : this.opts.allowFrom }, 'notice listener listening');
  }

  private onConnection(socket: Socket): void {
    const conn: Connection = { timer: null, res: null };
    conn.timer = this.opts.clock.setTimeout(() => this.onTimeout(socket, conn), this.timeoutMs);
    this.connections.set(socket, conn);
    socket.once('close', () => {
      this.opts.clock.clearTimeout(conn.timer);
      this.connections.delete(socket);
    });
  }

  private onTimeout(socket: Socket, conn: Connection): void {
    conn.timer = null;
    const remote = normalizeAddress(socket.remoteAddress)?.address ?? socket.remoteAddress;
    if (conn.res && !conn.res.headersSent) this.refuse(conn.res, remote, refusal('REQUEST_TIMEOUT', `the request did not arrive within ${this.timeoutMs} ms`));
    else socket.destroy();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const conn = this.connections.get(req.socket);
    if (conn) conn.res = res;
    const work = this.handle(req, res, conn)
      .catch((err: unknown) => {
        this.log.error({ err }, 'notice request failed');
        if (!res.headersSent) this.refuse(res, req.socket.remoteAddress, refusal('INTERNAL', 'internal error'));
        else res.destroy();
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, conn: Connection | undefined): Promise<void> {
    const remote = normalizeAddress(req.socket.remoteAddress)?.address ?? String(req.socket.remoteAddress);
    if (this.closing) return this.refuse(res, remote, refusal('UNAVAILABLE', 'the gateway is stopping; send the notice again'));
    if (!this.allow.allows(remote)) return this.refuse(res, remote, refusal('FORBIDDEN_SOURCE', 'this source address may not send notices'));
    const rate = this.limiter.take(remote);
    if (!rate.allowed) {
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(rate.retryAfterMs / 1000))));
      return this.refuse(res, remote, refusal('RATE_LIMITED', 'too many requests from this address'));
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== NOTICE_PATH) return this.refuse(res, remote, refusal('NOT_FOUND', `the only route is POST ${NOTICE_PATH}`));
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return this.refuse(res, remote, refusal('METHOD_NOT_ALLOWED', 'only POST'));
    }
    if (!this.tokenMatches(req.headers.authorization)) {
      res.setHeader('www-authenticate', 'Bearer realm="credgw notices"');
      return this.refuse(res, remote, refusal('UNAUTHORIZED', 'a valid bearer token is required'));
    }
    const type = req.headers['content-type'];
    if (type !== undefined && type.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      return this.refuse(res, remote, refusal('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json'));
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > NOTICE_BODY_MAX_BYTES) return this.refuse(res, remote, tooLarge());

    const body = await readBounded(req, res);
    if (body === null) return; // the client went away, or the request timed out and was answered
    if (typeof body !== 'string') return this.refuse(res, remote, body);
    if (conn) {
      this.opts.clock.clearTimeout(conn.timer);
      conn.timer = null;
    }
    const decoded = decodeNoticeBody(body, isoTime(this.opts.clock.now()));
    if (!decoded.ok) return this.refuse(res, remote, decoded.refusal);
    const { notice } = decoded;
    const accepts = this.opts.vaults.vaultAccepts(notice.vault);
    if (accepts === 'unknown') return this.refuse(res, remote, refusal('UNKNOWN_VAULT', 'no vault profile of that name'), notice.vault);
    if (accepts === 'disabled') return this.refuse(res, remote, refusal('NOTICES_DISABLED', 'this vault profile does not take rotation notices'), notice.vault);

    let eventId: string;
    try {
      ({ eventId } = await this.opts.recorder.record({ ...notice, source: 'listener' }));
    } catch (err) {
      this.log.error({ err, vault: notice.vault }, 'rotation notice not recorded');
      return this.refuse(res, remote, refusal('UNAVAILABLE', 'the notice could not be stored; send it again'), notice.vault);
    }
    this.counts.accepted++;
    this.log.info(
      { remote, vault: notice.vault, resourceName: notice.resourceName, accountName: notice.accountName, dnsName: notice.dnsName, rotatedAt: notice.rotatedAt, eventId },
      'rotation notice recorded',
    );
    sendJson(res, 202, { eventId });
  }

  /** Constant-time: both sides are hashed to the same length first. */
  private tokenMatches(header: string | undefined): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
    const same = timingSafeEqual(sha256(m?.[1] ?? ''), this.tokenDigest);
    return m !== null && same;
  }

  private refuse(res: ServerResponse, remote: string | undefined, r: NoticeRefusal, vault?: string): void {
    this.counts.refused[r.code] = (this.counts.refused[r.code] ?? 0) + 1;
    if (this.logThrottle.allow(`${r.code} ${remote}`)) {
      const fields = { code: r.code, remote, vault, reason: r.message };
      if (r.code === 'INTERNAL' || r.code === 'UNAVAILABLE') this.log.error(fields, 'rotation notice refused');
      else this.log.warn(fields, 'rotation notice refused');
    }
    sendJson(res, NOTICE_ERROR_STATUS[r.code], { error: { code: r.code, message: r.message } });
  }
}

function tooLarge(): NoticeRefusal {
  return refusal('BODY_TOO_LARGE', `the body is over ${NOTICE_BODY_MAX_BYTES} bytes`);
}

/**
 * The body as text, BODY_TOO_LARGE as soon as more than the limit has
 * arrived (the rest is not read), or null when the client went away or the
 * response was sent meanwhile (the request time-out).
 */
function readBounded(req: IncomingMessage, res: ServerResponse): Promise<string | NoticeRefusal | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (v: string | NoticeRefusal | null): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      res.off('close', onClose);
      resolve(v);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > NOTICE_BODY_MAX_BYTES) {
        req.pause();
        done(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => done(Buffer.concat(chunks).toString('utf8'));
    const onClose = (): void => done(null);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    res.once('close', onClose);
  });
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    connection: 'close',
  });
  res.end(text);
}
