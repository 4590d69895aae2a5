import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import {
  CloseCode,
  DEFAULT_HEARTBEAT_MS,
  HEADER_CLUSTER,
  HEADER_GATEWAY,
  MAX_FRAME_BYTES,
  SUBPROTOCOL,
  WELCOME_TIMEOUT_MS,
  isId,
} from '../../protocol/index.js';
import { sleep, systemClock, type Clock } from '../../shared/index.js';
import { spkiPinFromPem } from '../../tls/index.js';
import { bearerMatches, oneHeader, tokenDigest } from './bearer.js';
import { EpochStore } from './epoch-store.js';
import { eventsFileFor } from './event-journal.js';
import { EventStore } from './event-store.js';
import { EventStreams } from './event-stream.js';
import { handleApi, sendJson } from './http-api.js';
import { ControllerHub } from './hub.js';
import type { ApiErrorCode, ClusterSnapshot, CommandOutcome } from './hub-types.js';
import { Session, type SessionContext } from './session.js';

/**
 * The reference controller: the cloud side of shared/design/protocol.md as
 * a real server. One HTTP(S) server carries both the gateways' WebSocket
 * (`/gateway`, subprotocol credgw.v1) and the HTTP API of the "console
 * launch" side (`/api/v1/...`). The upgrade is checked here (token,
 * subprotocol, ids) before any WebSocket exists; each connection is then a
 * Session (framing, violations, liveness), the API is http-api.ts, and
 * roles and commands live in the ControllerHub, the gateways' events in
 * the EventStore (served as pages and as Server-Sent Events). See
 * docs/reference-controller.md.
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
  /**
   * JSON file keeping the last epoch per cluster across restarts; null keeps
   * it in memory. The events are kept beside it, in `<stateFile>.events`.
   * Default null.
   */
  stateFile?: string | null;
  /** Events held per cluster (newest kept). Default 10000. */
  maxEventsPerCluster?: number;
  /** Comment lines on event streams this often; a stream client that takes nothing for this long while events wait is dropped (ms). Default 15000. */
  eventStreamHeartbeatMs?: number;
  /** Event streams open at once. Default 100. */
  maxEventStreams?: number;
  /** Default: a silent pino logger. */
  logger?: Logger;
  /** Default: the system clock. Also the time of every HTTP answer's Date header. */
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
  /** Where events are kept across restarts; null: in memory. */
  readonly eventsFile: string | null;
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

const CLOSE_DRAIN_MS = 1_000;

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
  const events = await EventStore.open({
    file: opts.stateFile ? eventsFileFor(opts.stateFile) : null,
    clock,
    logger: log,
    ...(opts.maxEventsPerCluster === undefined ? {} : { maxPerCluster: opts.maxEventsPerCluster }),
  });
  const streams = new EventStreams({
    store: events,
    clock,
    logger: log,
    ...(opts.eventStreamHeartbeatMs === undefined ? {} : { heartbeatMs: opts.eventStreamHeartbeatMs }),
    ...(opts.maxEventStreams === undefined ? {} : { maxStreams: opts.maxEventStreams }),
  });
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
  const ctx: SessionContext = {
    hub,
    events,
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
    // The controller's own time, not Node's cached wall clock: what `credgw diagnose` reads for the skew check.
    res.setHeader('Date', new Date(clock.now()).toUTCString());
    handleApi(req, res, { hub, events, streams, log, apiDigests }).catch((err: unknown) => {
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

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    streams.stop();
    await events.close();
    throw err;
  }
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
      streams.stop();
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
      await events.close();
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
    eventsFile: events.file,
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
