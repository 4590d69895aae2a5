import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { checkLoopbackListen } from '../config/index.js';
import { CredgwError } from '../shared/index.js';
import type { Metrics } from './metrics.js';
import { computeReadiness, isGatewayStatus, sanitizeStatus, type GatewayStatus, type Readiness } from './status.js';

/**
 * The loopback telemetry endpoint (`telemetry.listen`, default
 * 127.0.0.1:9469), and its one client (`credgw status`, `credgw diagnose`):
 *
 * - `GET /healthz` 200 `{"status":"ok"}` while the process is alive and its
 *   loops tick; 503 `{"status":"unhealthy","reasons":[…]}` otherwise.
 * - `GET /readyz`  200 `{"ready":true,"reasons":[],"warnings":[]}` when the
 *   link is up, the role is known and a vault is healthy; 503 with the
 *   reasons otherwise. `warnings` names what needs the operator without
 *   making the daemon unready (a restart pending after a reload).
 * - `GET /metrics` Prometheus text format.
 * - `GET /status`  the GatewayStatus document as JSON.
 *
 * It binds to loopback only (a non-loopback address is refused before
 * anything listens) and answers only requests whose Host header names a
 * loopback address, so a web page the admin happens to open cannot read it
 * through DNS rebinding. It never shows a secret: the status document has
 * no field for one and its URLs lose their user info on the way out.
 */

export type TelemetryErrorCode =
  /** telemetry.listen is not a loopback host:port. */
  | 'TELEMETRY_NOT_LOOPBACK'
  /** The server could not listen (port in use, permission). */
  | 'TELEMETRY_LISTEN_FAILED'
  /** Nothing listens on the endpoint: no daemon is running there. */
  | 'NOT_RUNNING'
  /** Something accepted the connection but did not answer in time. */
  | 'NOT_ANSWERING'
  /** Something answered, but not with a credgw status document. */
  | 'BAD_RESPONSE';

export class TelemetryError extends CredgwError<TelemetryErrorCode> {
  override readonly name = 'TelemetryError';
}

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * `host:port` → where to bind or dial. `localhost` means 127.0.0.1 (the
 * name may resolve to ::1 first on one side and not the other). Throws
 * TelemetryError TELEMETRY_NOT_LOOPBACK for anything not on loopback.
 */
export function parseListen(listen: string): ListenAddress {
  const why = checkLoopbackListen(listen);
  if (why) throw new TelemetryError('TELEMETRY_NOT_LOOPBACK', `telemetry.listen ${JSON.stringify(listen)} ${why}`);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen)!;
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(m[3]) };
}

/** `host:port` with brackets around an IPv6 address. */
export function formatAddress(a: ListenAddress): string {
  return `${isIPv6(a.host) ? `[${a.host}]` : a.host}:${a.port}`;
}

/** What /healthz reports: a boolean, or the answer with its reasons (LivenessMonitor.check() maps to this). */
export type LiveAnswer = boolean | { live: boolean; reasons: string[] } | { healthy: boolean; reasons: string[] };

export interface TelemetryServerOptions {
  /** `host:port` on loopback; port 0 picks a free one. */
  listen: string;
  /** The current status document. */
  status: () => GatewayStatus;
  /** Readiness for /readyz. Default: computeReadiness(status()). */
  ready?: () => Readiness;
  /** Liveness for /healthz (for example the liveness monitor's check()). */
  live: () => LiveAnswer;
  metrics: Metrics;
  logger: Logger;
}

export interface TelemetryServer {
  /** Where it listens (the real port when 0 was asked). */
  readonly address: ListenAddress;
  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void>;
}

/** Starts the endpoint; rejects with TelemetryError when the address is not loopback or cannot be bound. */
export async function startTelemetryServer(opts: TelemetryServerOptions): Promise<TelemetryServer> {
  const want = parseListen(opts.listen);
  const log = opts.logger;
  const server = http.createServer((req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      log.error({ err, path: req.url }, 'telemetry request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: 'internal error' });
      else res.destroy();
    });
  });
  // A scrape is tiny; a client that dribbles its request is cut.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new TelemetryError(
          'TELEMETRY_LISTEN_FAILED',
          `cannot listen on ${formatAddress(want)} (${err.code ?? err.message})${err.code === 'EADDRINUSE' ? ': another process (another credgw?) uses it; change telemetry.listen' : ''}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(want.port, want.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address: ListenAddress = { host: bound.address, port: bound.port };
  log.info({ listen: formatAddress(address) }, 'telemetry endpoint listening');

  let closing: Promise<void> | null = null;
  return {
    address,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: TelemetryServerOptions): Promise<void> {
  if (!loopbackHostHeader(req.headers.host)) {
    sendJson(res, 403, { error: 'FORBIDDEN', message: 'the Host header must name a loopback address' });
    return;
  }
  const path = new URL(req.url ?? '/', 'http://telemetry').pathname;
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics' || path === '/status';
  if (!known) {
    sendJson(res, 404, { error: 'NOT_FOUND', message: 'endpoints: /healthz /readyz /metrics /status' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendJson(res, 405, { error: 'METHOD_NOT_ALLOWED', message: 'only GET and HEAD' });
    return;
  }
  switch (path) {
    case '/healthz': {
      let answer: { live: boolean; reasons: string[] };
      try {
        answer = liveAnswer(opts.live());
      } catch (err) {
        opts.logger.error({ err }, 'liveness check failed');
        answer = { live: false, reasons: ['the liveness check failed'] };
      }
      if (answer.live) sendJson(res, 200, { status: 'ok' });
      else sendJson(res, 503, { status: 'unhealthy', reasons: answer.reasons });
      return;
    }
    case '/readyz': {
      const r = opts.ready ? opts.ready() : computeReadiness(opts.status());
      sendJson(res, r.ready ? 200 : 503, { ready: r.ready, reasons: r.reasons, warnings: r.warnings });
      return;
    }
    case '/metrics': {
      const text = await opts.metrics.render();
      send(res, 200, opts.metrics.contentType, text);
      return;
    }
    case '/status':
      sendJson(res, 200, sanitizeStatus(opts.status()));
      return;
  }
}

function liveAnswer(a: LiveAnswer): { live: boolean; reasons: string[] } {
  if (typeof a === 'boolean') return { live: a, reasons: a ? [] : ['the process reports itself not live'] };
  const live = 'live' in a ? a.live : a.healthy;
  return { live, reasons: live ? [] : a.reasons.length > 0 ? a.reasons : ['the process reports itself not live'] };
}

/** Host header names loopback (or is absent, as in HTTP/1.0 from curl -0). */
function loopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined || host === '') return true;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(host.trim());
  if (!m) return false;
  const name = (m[1] ?? m[2] ?? '').toLowerCase();
  return name === 'localhost' || name === '::1' || (isIPv4(name) && name.startsWith('127.'));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`);
}

function send(res: ServerResponse, status: number, contentType: string, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export interface FetchStatusOptions {
  /** Longest connect + answer, ms. Default 5000. */
  timeoutMs?: number;
}

/** Biggest status document read (a gateway with many vaults stays far below). */
const MAX_STATUS_BYTES = 1024 * 1024;

/**
 * GET /status from the endpoint at `listen`. Rejects with TelemetryError:
 * NOT_RUNNING when nothing listens there, NOT_ANSWERING on a time-out,
 * BAD_RESPONSE when the answer is not a credgw status document.
 */
export async function fetchGatewayStatus(listen: string, opts: FetchStatusOptions = {}): Promise<GatewayStatus> {
  const target = parseListen(listen);
  const where = formatAddress(target);
  const timeoutMs = opts.timeoutMs ?? 5000;
  // Loaded here, not at the top: the daemon serves this endpoint with node:http and must not pay for the client.
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  try {
    let res;
    try {
      res = await request(`http://${where}/status`, { dispatcher: agent, headers: { accept: 'application/json' } });
    } catch (err) {
      const code = errCode(err);
      if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EADDRNOTAVAIL') {
        throw new TelemetryError('NOT_RUNNING', `credgw is not running (no answer on ${where})`, { cause: err });
      }
      if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new TelemetryError('NOT_ANSWERING', `something accepts connections on ${where} but does not answer within ${timeoutMs} ms (a wedged daemon? see journalctl -u credgw)`, { cause: err });
      }
      throw new TelemetryError('NOT_RUNNING', `credgw is not running (no answer on ${where}: ${code ?? (err as Error).message})`, { cause: err });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_STATUS_BYTES) {
        res.body.destroy();
        throw new TelemetryError('BAD_RESPONSE', `the answer on ${where} is larger than ${MAX_STATUS_BYTES} bytes: not a credgw status endpoint`);
      }
      chunks.push(chunk as Buffer);
    }
    if (res.statusCode !== 200) {
      throw new TelemetryError('BAD_RESPONSE', `${where}/status answered HTTP ${res.statusCode}: not a credgw status endpoint (is telemetry.listen right?)`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      doc = undefined;
    }
    if (!isGatewayStatus(doc)) {
      throw new TelemetryError('BAD_RESPONSE', `${where}/status did not answer with a credgw status document (is telemetry.listen right?)`);
    }
    return doc;
  } finally {
    await agent.close();
  }
}

function errCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
