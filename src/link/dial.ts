import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import net, { isIP, type createConnection, type Socket } from 'node:net';
import tls, { type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import type { ControllerConfig } from '../config/index.js';
import { MAX_FRAME_BYTES, SUBPROTOCOL } from '../protocol/index.js';
import { isTlsVerificationError, rootsPlusSecureContext, trustedConnectOptions } from '../tls/index.js';
import { LinkConfigError, LinkError } from './link-errors.js';
import { openTunnel } from './proxy.js';

/**
 * Dials the controller, one phase at a time: the token, TCP to the
 * controller or an HTTP CONNECT tunnel through the proxy, TLS when the URL
 * is wss://, then the WebSocket upgrade. Done here rather than inside ws so
 * that each phase fails with its own LinkError code (TOKEN_UNREADABLE,
 * CONNECT_FAILED, PROXY_*, TLS_ERROR, UNAUTHORIZED, …) and TLS runs end to
 * end over the tunnel with our trust options. The link and `credgw
 * diagnose` dial through these same functions.
 */

export interface DialTarget {
  /** Controller host, without IPv6 brackets. */
  host: string;
  port: number;
  /** HTTP CONNECT proxy, or null for a direct connection. */
  proxy: URL | null;
  /** Reads the proxy's password (controller.proxyPassword) at each dial, so a rotated secret is used; null when the URL carries what it needs. */
  proxyPassword?: (() => Promise<string>) | null;
  /** TLS options (trust, pin, client cert) for wss://, or null for ws://. May throw a LinkError. */
  tls: (() => ConnectionOptions) | null;
}

/** The code and message of a foreign error, never its other fields (they could hold request options). */
export function brief(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return (code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message).trim();
  }
  return String(err);
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new LinkError('CONNECT_TIMEOUT', 'dial aborted');
}

/**
 * Waits for `ready` on `socket`, failing with `wrap(err)` on 'error' and with
 * the signal's reason on abort; the socket is destroyed on any failure.
 */
function settle(socket: Socket, ready: 'connect' | 'secureConnect', signal: AbortSignal, wrap: (err: Error) => Error, also?: Socket): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const done = (err: Error | null): void => {
      socket.removeListener(ready, onReady);
      socket.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        also?.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onReady = (): void => done(null);
    const onError = (err: Error): void => done(wrap(err));
    const onAbort = (): void => done(abortReason(signal));
    socket.once(ready, onReady);
    socket.once('error', onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** TCP to the controller, or an HTTP CONNECT tunnel to it through `target.proxy`. */
export async function openRawSocket(target: Pick<DialTarget, 'host' | 'port' | 'proxy' | 'proxyPassword'>, signal: AbortSignal): Promise<Socket> {
  const { host, port } = target;
  if (target.proxy) {
    const proxy = target.proxyPassword ? await withPassword(target.proxy, target.proxyPassword) : target.proxy;
    signal.throwIfAborted();
    return openTunnel(proxy, host, port, signal);
  }
  return settle(net.connect({ host, port }), 'connect', signal, (err) => new LinkError('CONNECT_FAILED', `cannot connect to ${host}:${port}: ${brief(err)}`, { cause: err }));
}

/** A copy of `proxy` carrying the password read now; PROXY_PASSWORD_UNREADABLE when it cannot be read. */
async function withPassword(proxy: URL, read: () => Promise<string>): Promise<URL> {
  let password: string;
  try {
    password = await read();
  } catch (err) {
    throw new LinkError('PROXY_PASSWORD_UNREADABLE', brief(err));
  }
  const url = new URL(proxy.href);
  url.password = password; // percent-encoded here, decoded again for the Basic header
  return url;
}

/**
 * TLS over `raw` with `options` (trust, pin, client certificate). The
 * certificate is checked against `host` (an IP against IP SANs; SNI carries
 * names only). `raw` is destroyed when the handshake fails.
 */
export function startTls(raw: Socket, host: string, port: number, options: ConnectionOptions, signal: AbortSignal): Promise<TLSSocket> {
  const where = `${host}:${port}`;
  const socket = tls.connect({ ...options, socket: raw, host, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] });
  return settle(
    socket,
    'secureConnect',
    signal,
    (err) =>
      isTlsVerificationError(err)
        ? new LinkError('TLS_ERROR', `TLS with ${where} failed: ${brief(err)}`, { cause: err })
        : new LinkError('CONNECT_FAILED', `connection to ${where} failed during TLS: ${brief(err)}`, { cause: err }),
    raw,
  ) as Promise<TLSSocket>;
}

export async function openControllerSocket(target: DialTarget, signal: AbortSignal): Promise<Socket> {
  const raw = await openRawSocket(target, signal);
  if (!target.tls) return raw;
  let options: ConnectionOptions;
  try {
    options = target.tls();
  } catch (err) {
    raw.destroy();
    throw err;
  }
  return startTls(raw, target.host, target.port, options, signal);
}

/**
 * TLS options for the controller: system roots + controller.caFile with the
 * hostname checked, the pin when set, the client certificate when set. The
 * files are read on every call so rotated files are picked up. An
 * unreadable file is a LinkConfigError naming its key at start, a
 * TLS_CONFIG LinkError on a later dial.
 */
export function controllerTlsOptions(c: ControllerConfig, atStart = false): ConnectionOptions {
  let trust: ReturnType<typeof trustedConnectOptions>;
  try {
    trust = trustedConnectOptions({ caFile: c.caFile, pinSha256: c.pinSha256, checkHostname: true });
  } catch (err) {
    if (atStart) throw new LinkConfigError('controller.caFile', brief(err));
    throw new LinkError('TLS_CONFIG', brief(err));
  }
  const read = (key: string, path: string | null): string | undefined => {
    if (path === null) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if (atStart) throw new LinkConfigError(key, `cannot read ${path}: ${brief(err)}`);
      throw new LinkError('TLS_CONFIG', `cannot read ${key} ${path}: ${brief(err)}`);
    }
  };
  const cert = read('controller.certFile', c.certFile);
  const key = read('controller.keyFile', c.keyFile);
  // One context from the parts: tls.connect would otherwise build it from `ca`, parsing every system root again.
  let secureContext: SecureContext;
  try {
    secureContext = rootsPlusSecureContext(trust.extraCa, { ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) });
  } catch (err) {
    if (atStart) throw new LinkConfigError('controller.keyFile', `the client certificate and key cannot be used: ${brief(err)}`);
    throw new LinkError('TLS_CONFIG', `the client certificate and key cannot be used: ${brief(err)}`);
  }
  return { ca: trust.ca, checkServerIdentity: trust.checkServerIdentity, secureContext };
}

/** Reads the bearer token for one dial: TOKEN_UNREADABLE when it cannot be read, is empty, or cannot travel in a header. */
export async function readControllerToken(read: () => Promise<string>): Promise<string> {
  let token: string;
  try {
    token = (await read()).trim();
  } catch (err) {
    throw new LinkError('TOKEN_UNREADABLE', brief(err));
  }
  if (token === '') throw new LinkError('TOKEN_UNREADABLE', 'the controller token is empty');
  // Checked here so the failure names the token, not a header error from deep inside http.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new LinkError('TOKEN_UNREADABLE', 'the controller token has characters an HTTP header cannot carry');
  return token;
}

/** Who asks for the upgrade (protocol section 1). */
export interface UpgradeRequest {
  /** The controller's ws:// or wss:// URL. */
  url: URL;
  /** Sent as `Authorization: Bearer <token>`; header-safe (see readControllerToken). */
  token: string;
  gatewayId: string;
  clusterId: string;
  /** The User-Agent header: `credgw/<version>`. */
  userAgent: string;
}

export interface UpgradeOptions extends UpgradeRequest {
  /** The connected socket (TLS-verified for wss://) the request goes out on; ws takes it over. */
  socket: Socket;
  /** Called at most once when the controller answers without completing the upgrade; the WebSocket and the socket are then torn down. */
  refused: (refusal: UpgradeRefusal) => void;
}

/** How the controller answered an upgrade it did not complete. */
export interface UpgradeRefusal {
  /** UNAUTHORIZED (HTTP 401), UPGRADE_REFUSED (another status than 101) or PROTOCOL_MISMATCH (101 without credgw.v1). */
  readonly error: LinkError;
  /** The answer's HTTP status. */
  readonly status: number;
  /** The answer's Date header, if it has one. */
  readonly date: string | undefined;
  /** The answer in words: `answered the upgrade with HTTP 403`, `answered subprotocol (none) instead of credgw.v1`. */
  readonly answered: string;
}

/**
 * Sends the WebSocket upgrade over `socket` and returns the WebSocket,
 * still connecting: the caller listens for 'open', 'error' and 'close'.
 * An answer other than 101 with credgw.v1 goes to `refused`. Throws
 * CONNECT_FAILED (the socket destroyed) when ws refuses to start.
 */
export function upgrade(options: UpgradeOptions): WebSocket {
  const { socket, refused } = options;
  // Errors after the hand-over reach the caller through ws; this keeps a late
  // socket error between hand-over and ws's own listeners from being unhandled.
  socket.on('error', () => undefined);
  let ws: WebSocket;
  try {
    ws = new WebSocket(options.url, SUBPROTOCOL, {
      // The socket is already connected (and TLS-verified) by the dial.
      createConnection: (() => socket) as unknown as typeof createConnection,
      headers: {
        Authorization: `Bearer ${options.token}`,
        'X-Credgw-Gateway': options.gatewayId,
        'X-Credgw-Cluster': options.clusterId,
        'User-Agent': options.userAgent,
      },
      maxPayload: MAX_FRAME_BYTES,
      // Compression of frames that carry passwords invites CRIME-style attacks, and costs CPU.
      perMessageDeflate: false,
      // A redirect would carry the bearer token elsewhere.
      followRedirects: false,
      autoPong: true,
    });
  } catch (err) {
    // Node's header checks name the header, never its value.
    socket.destroy();
    throw new LinkError('CONNECT_FAILED', brief(err));
  }
  const refuse = (refusal: UpgradeRefusal): void => {
    refused(refusal);
    ws.terminate();
    socket.destroy();
  };
  ws.on('upgrade', (res: IncomingMessage) => {
    const offered = headerOf(res, 'sec-websocket-protocol');
    if (offered === SUBPROTOCOL) return;
    const answered = `answered subprotocol ${offered === undefined ? '(none)' : JSON.stringify(offered.slice(0, 64))} instead of ${SUBPROTOCOL}`;
    refuse({ error: new LinkError('PROTOCOL_MISMATCH', `controller ${answered}`), status: res.statusCode ?? 101, date: headerOf(res, 'date'), answered });
  });
  ws.on('unexpected-response', (_req, res: IncomingMessage) => {
    const status = res.statusCode ?? 0;
    res.resume();
    const answered = `answered the upgrade with HTTP ${status}`;
    refuse({ error: new LinkError(status === 401 ? 'UNAUTHORIZED' : 'UPGRADE_REFUSED', `controller ${answered}`), status, date: headerOf(res, 'date'), answered });
  });
  return ws;
}

/** One header of an HTTP answer (the first, if repeated). */
function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
