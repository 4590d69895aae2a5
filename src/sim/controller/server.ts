import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CloseCode,
  DEFAULT_HEARTBEAT_MS,
  HEADER_CLUSTER,
  HEADER_GATEWAY,
  LIVENESS_HEARTBEATS,
  MAX_FRAME_BYTES,
  SUBPROTOCOL,
  WELCOME_TIMEOUT_MS,
  decodeGatewayFrame,
  isId,
  truncate,
} from '../../protocol/index.js';
import { sleep, systemClock, type Clock, type TimerHandle } from '../../shared/clock.js';
import { spkiPinFromPem } from '../../tls/index.js';
import { EpochStore } from './epoch-store.js';
import { ControllerHub, type ApiError, type ApiErrorCode, type ClusterSnapshot, type CommandOutcome, type GatewayPeer } from './hub.js';

/**
 * The reference controller: the cloud side of shared/design/protocol.md as
 * a real server. One HTTP(S) server carries both the gateways' WebSocket
 * (`/gateway`, subprotocol credgw.v1) and the HTTP API of the "console
 * launch" side (`/api/v1/...`). Socket concerns live here (auth before the
 * upgrade, framing, violations, liveness); roles and commands live in the
 * ControllerHub. See docs/reference-controller.md.
 */

export interface ReferenceControllerTls {
  certPem: string;
  keyPem: string;
  /** CA(s) that sign gateway client certificates; with `requestCert`. */
  caPem?: string | null;
  /** Require a client certificate signed by `caPem` (mutual TLS). Default false. */
  requestCert?: boolean;
}

export interface ReferenceControllerOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Listen address. Default '127.0.0.1'. */
  host?: string;
  /** Bearer tokens accepted from gateways on the upgrade. Required, at least one. */
  tokens: string[];
  /**
   * Bearer tokens for the HTTP API. Default null: the API is open (bind it
   * to loopback). /healthz is always open.
   */
  apiTokens?: string[] | null;
  /** Certificate and key for wss/https; null serves plain ws/http (insecure, loopback only). Default null. */
  tls?: ReferenceControllerTls | null;
  /** Heartbeat announced in welcome and used for our pings and liveness (ms). Default 1000. */
  heartbeatMs?: number;
  /** JSON file keeping the last epoch per cluster across restarts; null keeps it in memory. Default null. */
  stateFile?: string | null;
  /** Default: a silent pino logger. */
  logger?: Logger;
  /** Default: the system clock. */
  clock?: Clock;
  /** A connection must say hello within this time (ms). Default 10000. */
  helloTimeoutMs?: number;
  /** Past a command's timeoutMs, wait this long for the gateway's own answer before 504 (ms). Default 2000. */
  resultGraceMs?: number;
  /** Final results kept (memory only) for idempotent retries by id (ms). Default 60000. */
  resultRetentionMs?: number;
  /** Unusable frames tolerated per minute before closing with 4000 (the 10th closes). Default 10. */
  maxViolationsPerMinute?: number;
}

export interface ReferenceController {
  /** `ws(s)://host:port/gateway` */
  readonly wsUrl: string;
  /** `http(s)://host:port` (the API is under /api/v1). */
  readonly httpUrl: string;
  readonly port: number;
  /** The server certificate (with TLS). */
  readonly certPem: string | undefined;
  /** Its base64 SHA-256 SPKI pin (with TLS). */
  readonly pin: string | undefined;
  cluster(clusterId: string): ClusterSnapshot | undefined;
  clusters(): ClusterSnapshot[];
  /** The same as POST /api/v1/clusters/{clusterId}/commands, in process. */
  submit(clusterId: string, body: unknown): Promise<CommandOutcome>;
  /** Closes every gateway connection (1001), answers pending commands 503, stops listening. */
  close(): Promise<void>;
  /**
   * Test hook: stop answering the gateway's pings and stop pinging it, so
   * that the gateway hears no control frame and its liveness rule fires.
   */
  withholdPongs(gatewayId: string, on: boolean): void;
  /** Test hook: sends any frame (text or binary) as is. Throws when the gateway is not connected. */
  sendRaw(gatewayId: string, data: string | Buffer): void;
  /** Test hook: destroys the gateway's socket without a close frame (a network cut). */
  dropConnection(gatewayId: string): void;
  /** gatewayIds with a connection that said hello. */
  connectedGateways(): string[];
}

const VIOLATION_WINDOW_MS = 60_000;
const MAX_API_BODY_BYTES = MAX_FRAME_BYTES;
const CLOSE_DRAIN_MS = 1_000;

function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time check of a bearer token against a set of digests. */
function bearerMatches(header: string | undefined, digests: Buffer[]): boolean {
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = tokenDigest(m[1]!);
  let ok = false;
  for (const d of digests) ok = timingSafeEqual(given, d) || ok;
  return ok;
}

function oneHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? undefined : v;
}

/** Refuses an upgrade with a plain HTTP answer before any WebSocket exists. */
function refuseUpgrade(socket: Duplex, status: number, code: ApiErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message, retryable: false } });
  const extra = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** One WebSocket connection, from upgrade to close. */
class Session implements GatewayPeer {
  /** awaiting-hello → joined → closed; or awaiting-hello → closed. */
  state: 'awaiting-hello' | 'joined' | 'closed' = 'awaiting-hello';
  withholding = false;
  private lastHeard: number;
  private violations: number[] = [];
  private heartbeat: TimerHandle | null = null;
  private helloTimer: TimerHandle | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly gatewayId: string,
    readonly clusterId: string,
    private readonly ctx: { hub: ControllerHub; clock: Clock; log: Logger; heartbeatMs: number; helloTimeoutMs: number; maxViolations: number; sessions: Set<Session> },
  ) {
    this.lastHeard = ctx.clock.monotonic();
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | Buffer[], isBinary));
    ws.on('ping', (data) => {
      this.heard();
      if (!this.withholding) ws.pong(data);
    });
    ws.on('pong', () => this.heard());
    ws.on('error', (err) => ctx.log.warn({ gatewayId, err: { message: err.message, code: (err as { code?: string }).code } }, 'gateway socket error'));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    this.helloTimer = ctx.clock.setTimeout(() => {
      if (this.state === 'awaiting-hello') this.close(CloseCode.PROTOCOL_ERROR, 'no hello in time');
    }, ctx.helloTimeoutMs);
    this.scheduleHeartbeat();
  }

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(text, (err) => {
      if (err) this.ctx.log.warn({ gatewayId: this.gatewayId, err: { message: err.message } }, 'send to gateway failed');
    });
  }

  /** Leaves the cluster at once (so promotion does not wait for the close handshake), then closes. */
  close(code: number, reason: string): void {
    this.detach(code === CloseCode.REPLACED ? 'replaced' : 'closed');
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  terminate(reason: 'liveness' | 'closed'): void {
    this.detach(reason);
    this.ws.terminate();
  }

  private detach(reason: 'liveness' | 'closed' | 'replaced'): void {
    if (this.state === 'closed') return;
    const wasJoined = this.state === 'joined';
    this.state = 'closed';
    this.stopTimers();
    if (wasJoined) this.ctx.hub.leave(this, reason);
  }

  private stopTimers(): void {
    this.ctx.clock.clearTimeout(this.heartbeat);
    this.ctx.clock.clearTimeout(this.helloTimer);
    this.heartbeat = null;
    this.helloTimer = null;
  }

  private heard(): void {
    this.lastHeard = this.ctx.clock.monotonic();
  }

  /** Pings every heartbeatMs; terminates a connection silent for 3 × heartbeatMs (section 2). */
  private scheduleHeartbeat(): void {
    this.ctx.clock.clearTimeout(this.heartbeat);
    this.heartbeat = this.ctx.clock.setTimeout(() => {
      this.heartbeat = null;
      if (this.state === 'closed') return;
      const silentFor = this.ctx.clock.monotonic() - this.lastHeard;
      if (silentFor >= LIVENESS_HEARTBEATS * this.ctx.heartbeatMs) {
        this.ctx.log.warn({ gatewayId: this.gatewayId, silentFor }, 'gateway silent, terminating');
        this.terminate('liveness');
        return;
      }
      if (!this.withholding && this.ws.readyState === this.ws.OPEN) this.ws.ping();
      this.scheduleHeartbeat();
    }, this.ctx.heartbeatMs);
  }

  private onClose(code: number, reason: string): void {
    this.ctx.sessions.delete(this);
    this.ctx.log.info({ gatewayId: this.gatewayId, code, reason: truncate(reason, 120) }, 'gateway connection closed');
    this.detach('closed');
  }

  private violation(reason: string): void {
    const now = this.ctx.clock.monotonic();
    this.violations = this.violations.filter((t) => now - t < VIOLATION_WINDOW_MS);
    this.violations.push(now);
    this.ctx.log.warn({ gatewayId: this.gatewayId, reason: truncate(reason, 200), count: this.violations.length }, 'protocol violation');
    if (this.violations.length >= this.ctx.maxViolations) this.close(CloseCode.PROTOCOL_ERROR, 'too many protocol errors');
  }

  private onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    this.heard();
    if (this.state === 'closed') return;
    if (isBinary) {
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not allowed');
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data).toString('utf8');
    const decoded = decodeGatewayFrame(text);
    if (decoded.kind === 'version') {
      this.close(CloseCode.UNSUPPORTED_VERSION, 'unsupported protocol version');
      return;
    }
    if (decoded.kind !== 'message') {
      this.violation(decoded.kind === 'violation' ? decoded.reason : 'unexpected frame');
      return;
    }
    const msg = decoded.message;
    try {
      if (this.state === 'awaiting-hello') {
        if (msg.type !== 'hello') {
          this.close(CloseCode.PROTOCOL_ERROR, 'the first frame must be hello');
          return;
        }
        if (msg.gatewayId !== this.gatewayId || msg.clusterId !== this.clusterId) {
          this.close(CloseCode.PROTOCOL_ERROR, 'hello does not match the X-Credgw headers');
          return;
        }
        this.ctx.clock.clearTimeout(this.helloTimer);
        this.helloTimer = null;
        this.state = 'joined';
        this.ctx.hub.join(this, msg);
        return;
      }
      switch (msg.type) {
        case 'hello':
          this.violation('hello on a joined connection');
          return;
        case 'result':
          this.ctx.hub.result(this, msg);
          return;
        case 'resign':
          this.ctx.hub.resign(this, msg.epoch);
          return;
        case 'health':
          this.ctx.hub.health(this, msg);
          return;
      }
    } catch (err) {
      // A bug or a failed epoch write: do not go on with this connection in
      // an unknown state.
      this.ctx.log.error({ gatewayId: this.gatewayId, err }, 'gateway frame handling failed');
      this.close(1011, 'internal error');
    }
  }
}

/** Starts the reference controller; resolves once it listens. */
export async function startReferenceController(opts: ReferenceControllerOptions): Promise<ReferenceController> {
  if (!Array.isArray(opts.tokens) || opts.tokens.length === 0 || opts.tokens.some((t) => typeof t !== 'string' || t.length === 0)) {
    throw new TypeError('startReferenceController: at least one non-empty gateway token is required');
  }
  const clock = opts.clock ?? systemClock;
  const log = opts.logger ?? pino({ level: 'silent' });
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const host = opts.host ?? '127.0.0.1';
  const gatewayDigests = opts.tokens.map(tokenDigest);
  const apiDigests = opts.apiTokens && opts.apiTokens.length > 0 ? opts.apiTokens.map(tokenDigest) : null;
  const epochStore = new EpochStore(opts.stateFile ?? null);
  const hub = new ControllerHub({
    heartbeatMs,
    epochStore,
    clock,
    logger: log,
    ...(opts.resultGraceMs === undefined ? {} : { resultGraceMs: opts.resultGraceMs }),
    ...(opts.resultRetentionMs === undefined ? {} : { resultRetentionMs: opts.resultRetentionMs }),
  });
  const sessions = new Set<Session>();
  let closing: Promise<void> | null = null;
  const ctx = {
    hub,
    clock,
    log,
    heartbeatMs,
    helloTimeoutMs: opts.helloTimeoutMs ?? WELCOME_TIMEOUT_MS,
    maxViolations: opts.maxViolationsPerMinute ?? 10,
    sessions,
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    autoPong: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handleApi(req, res, hub, apiDigests, log).catch((err: unknown) => {
      log.error({ err }, 'api request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error', retryable: true } });
      else res.destroy();
    });
  };
  const server = opts.tls
    ? https.createServer(
        {
          cert: opts.tls.certPem,
          key: opts.tls.keyPem,
          ...(opts.tls.caPem ? { ca: opts.tls.caPem } : {}),
          requestCert: opts.tls.requestCert === true,
          rejectUnauthorized: opts.tls.requestCert === true,
        },
        onRequest,
      )
    : http.createServer(onRequest);

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (closing) return refuseUpgrade(socket, 503, 'CONTROLLER_STOPPING', 'the controller is stopping');
    const path = new URL(req.url ?? '/', 'http://controller').pathname;
    if (path !== '/gateway') return refuseUpgrade(socket, 404, 'NOT_FOUND', 'the gateway endpoint is /gateway');
    if (!bearerMatches(oneHeader(req, 'authorization'), gatewayDigests)) {
      log.warn({ remoteAddress: req.socket.remoteAddress }, 'gateway upgrade refused: bad or missing token');
      return refuseUpgrade(socket, 401, 'UNAUTHORIZED', 'bad or missing bearer token');
    }
    const offered = (oneHeader(req, 'sec-websocket-protocol') ?? '').split(',').map((s) => s.trim());
    if (!offered.includes(SUBPROTOCOL)) return refuseUpgrade(socket, 400, 'BAD_REQUEST', `the subprotocol ${SUBPROTOCOL} is required`);
    const gatewayId = oneHeader(req, HEADER_GATEWAY);
    const clusterId = oneHeader(req, HEADER_CLUSTER);
    if (!isId(gatewayId) || !isId(clusterId)) {
      return refuseUpgrade(socket, 400, 'BAD_REQUEST', 'X-Credgw-Gateway and X-Credgw-Cluster must be ids of [A-Za-z0-9._:-]');
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new Session(ws, gatewayId, clusterId, ctx);
      sessions.add(session);
      log.info({ gatewayId, clusterId, remoteAddress: req.socket.remoteAddress }, 'gateway connected');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = opts.tls ? 's' : '';
  const base = `${hostForUrl(host)}:${port}`;
  const certPem = opts.tls?.certPem;
  const pin = certPem ? spkiPinFromPem(certPem) : undefined;
  log.info({ port, host, tls: Boolean(opts.tls), heartbeatMs }, 'reference controller listening');

  const current = (gatewayId: string): Session | undefined => {
    for (const s of sessions) if (s.gatewayId === gatewayId && s.state === 'joined') return s;
    return undefined;
  };
  const need = (gatewayId: string): Session => {
    const s = current(gatewayId);
    if (!s) throw new Error(`gateway ${gatewayId} is not connected`);
    return s;
  };

  const close = (): Promise<void> => {
    closing ??= (async () => {
      hub.stop();
      const open = [...sessions];
      const closed = Promise.all(open.map((s) => (s.ws.readyState === s.ws.CLOSED ? Promise.resolve() : new Promise<void>((r) => s.ws.once('close', () => r())))));
      for (const s of open) s.close(CloseCode.GOING_AWAY, 'controller stopping');
      const drain = new AbortController();
      await Promise.race([closed, sleep(clock, CLOSE_DRAIN_MS, drain.signal).catch(() => undefined)]);
      drain.abort();
      for (const s of sessions) s.ws.terminate();
      wss.close();
      // Answered requests leave idle keep-alive sockets; anything still
      // uploading after the drain time is cut.
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = clock.setTimeout(() => server.closeAllConnections(), CLOSE_DRAIN_MS);
      await stopped;
      clock.clearTimeout(cut);
      log.info({ port }, 'reference controller stopped');
    })();
    return closing;
  };

  return {
    wsUrl: `ws${scheme}://${base}/gateway`,
    httpUrl: `http${scheme}://${base}`,
    port,
    certPem,
    pin,
    cluster: (id) => hub.snapshot(id),
    clusters: () => hub.clusterIds().map((id) => hub.snapshot(id)!),
    submit: (clusterId, body) => hub.submit(clusterId, body),
    close,
    withholdPongs: (gatewayId, on) => {
      need(gatewayId).withholding = on;
    },
    sendRaw: (gatewayId, data) => {
      need(gatewayId).ws.send(data, { binary: typeof data !== 'string' });
    },
    dropConnection: (gatewayId) => {
      need(gatewayId).terminate('closed');
    },
    connectedGateways: () => [...sessions].filter((s) => s.state === 'joined').map((s) => s.gatewayId).sort(),
  };
}

// ---- HTTP API -------------------------------------------------------------------

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: ApiErrorCode, message: string): void {
  const error: ApiError = { code, message, retryable: status >= 500 };
  sendJson(res, status, { error });
}

/** Reads a body up to `max` bytes; null when it is larger. */
async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function decodePathSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

const CLUSTER_PATH = /^\/api\/v1\/clusters\/([^/]+)$/;
const COMMANDS_PATH = /^\/api\/v1\/clusters\/([^/]+)\/commands$/;

async function handleApi(req: IncomingMessage, res: ServerResponse, hub: ControllerHub, apiDigests: Buffer[] | null, log: Logger): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://controller').pathname;
  const method = req.method ?? 'GET';
  if (path === '/healthz') {
    if (method !== 'GET') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET');
    return sendJson(res, 200, { status: 'ok' });
  }
  if (!path.startsWith('/api/v1/')) return sendError(res, 404, 'NOT_FOUND', 'no such endpoint');
  if (apiDigests && !bearerMatches(oneHeader(req, 'authorization'), apiDigests)) {
    res.setHeader('www-authenticate', 'Bearer');
    return sendError(res, 401, 'UNAUTHORIZED', 'bad or missing bearer token');
  }
  if (path === '/api/v1/clusters') {
    if (method !== 'GET') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET');
    return sendJson(res, 200, { clusters: hub.clusterIds().map((id) => hub.snapshot(id)) });
  }
  const commands = COMMANDS_PATH.exec(path);
  if (commands) {
    if (method !== 'POST') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use POST');
    const clusterId = decodePathSegment(commands[1]!);
    if (clusterId === null) return sendError(res, 400, 'BAD_CLUSTER_ID', 'the cluster id is not valid percent-encoding');
    const raw = await readBody(req, MAX_API_BODY_BYTES);
    if (raw === null) {
      res.setHeader('connection', 'close');
      return sendError(res, 413, 'BODY_TOO_LARGE', 'the body exceeds 1 MiB');
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendError(res, 400, 'BAD_JSON', 'the body is not JSON');
    }
    const outcome = await hub.submit(clusterId, body);
    log.debug({ clusterId, status: outcome.status }, 'api command answered');
    return sendJson(res, outcome.status, outcome.body);
  }
  const cluster = CLUSTER_PATH.exec(path);
  if (cluster) {
    if (method !== 'GET') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET');
    const id = decodePathSegment(cluster[1]!);
    if (id === null) return sendError(res, 400, 'BAD_CLUSTER_ID', 'the cluster id is not valid percent-encoding');
    const snap = hub.snapshot(id);
    if (!snap) return sendError(res, 404, 'UNKNOWN_CLUSTER', 'no such cluster');
    return sendJson(res, 200, snap);
  }
  return sendError(res, 404, 'NOT_FOUND', 'no such endpoint');
}
