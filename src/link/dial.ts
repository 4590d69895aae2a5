import net, { isIP, type Socket } from 'node:net';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ControllerConfig } from '../config/types.js';
import { isTlsVerificationError, trustedConnectOptions } from '../tls/index.js';
import { LinkConfigError, LinkError } from './link-errors.js';
import { openTunnel } from './proxy.js';

/**
 * Opens the byte stream the WebSocket runs on: TCP to the controller or an
 * HTTP CONNECT tunnel through the proxy, then TLS when the URL is wss://.
 * Done here rather than inside ws so that each phase fails with its own
 * LinkError code (CONNECT_FAILED, PROXY_*, TLS_ERROR) and TLS runs end to
 * end over the tunnel with our trust options.
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
  let trust: ConnectionOptions;
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
  return { ...trust, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
}
