import http from 'node:http';
import { isIP, type Socket } from 'node:net';
import { stripBrackets } from '../shared/index.js';
import { LinkConfigError, LinkError } from './link-errors.js';
import { bypassesProxy } from './no-proxy.js';

export { bypassesProxy } from './no-proxy.js';

/**
 * The HTTP CONNECT proxy of the controller link (protocol section 1):
 * `controller.proxy`, else the environment's HTTPS_PROXY (HTTP_PROXY for a
 * ws:// controller) honouring NO_PROXY (no-proxy.ts). Only `http://`
 * proxies: the tunnel itself carries TLS end to end to the controller, so
 * the proxy never sees the token. The password of controller.proxy is a
 * secret reference (controller.proxyPassword) read at every dial (dial.ts);
 * HTTPS_PROXY may carry `user:password@` as curl reads it.
 */

/** What controller.proxy looks like: its password is a secret reference of its own. */
const CONFIG_PROXY_HELP = 'http://[user@]host:port (the password goes in controller.proxyPassword)';
/** What HTTPS_PROXY looks like; the scheme is optional, as in curl. */
const ENV_PROXY_HELP = '[http://][user:password@]host:port';

export interface ProxyTarget {
  /** The proxy's URL (may carry user:password for Basic auth). */
  readonly url: URL;
  /** Where the proxy came from, for messages: "controller.proxy" or the env variable's name. */
  readonly source: string;
}

/** `http://host:port` of a proxy, without credentials, for logs. */
export function redactProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * `text` with the user info of every URL in it replaced by `***`:
 * `http://user:pass@[::1]:3128` → `http://***@[::1]:3128`. The user info
 * runs to the last `@` before the host, as URL parsers read it. It cannot
 * start with `[` (RFC 3986), so a help text such as
 * `http://[user:password@]host:port` is left as written.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#[\]@][^\s/?#[\]]*@/gi, '$1***@');
}

function parseProxyUrl(value: string, source: string, help: string): URL {
  // curl reads a proxy without a scheme (`proxy.corp:3128`) as http://.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new LinkConfigError(source, `must be a URL like ${help}`);
  }
  if (url.protocol !== 'http:') throw new LinkConfigError(source, `proxy scheme ${url.protocol} is not supported (use http://host:port; the tunnel carries TLS)`);
  if (!url.hostname) throw new LinkConfigError(source, 'proxy URL has no host');
  return url;
}

function envValue(env: NodeJS.ProcessEnv, name: string): { name: string; value: string } | null {
  // Lower case first, as curl and undici read them.
  for (const n of [name.toLowerCase(), name.toUpperCase()]) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return { name: n, value: v.trim() };
  }
  return null;
}

/** The port a URL connects to, with the scheme's default. */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80;
}

/**
 * The proxy to use for `target`, or null for a direct connection.
 * `configured` (controller.proxy) wins and is used as given; NO_PROXY only
 * filters the environment's proxy, so an explicit setting is never
 * silently ignored. Throws LinkConfigError for an unusable proxy URL.
 */
export function resolveProxy(target: URL, configured: string | null, env: NodeJS.ProcessEnv): ProxyTarget | null {
  if (configured !== null && configured.trim() !== '') {
    return { url: parseProxyUrl(configured.trim(), 'controller.proxy', CONFIG_PROXY_HELP), source: 'controller.proxy' };
  }
  const fromEnv = envValue(env, target.protocol === 'wss:' ? 'HTTPS_PROXY' : 'HTTP_PROXY');
  if (!fromEnv) return null;
  const noProxy = envValue(env, 'NO_PROXY');
  if (noProxy && bypassesProxy(target.hostname, effectivePort(target), noProxy.value)) return null;
  return { url: parseProxyUrl(fromEnv.value, fromEnv.name, ENV_PROXY_HELP), source: fromEnv.name };
}

function basicAuth(url: URL): string | null {
  if (!url.username && !url.password) return null;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`;
}

/**
 * Opens an HTTP CONNECT tunnel to `host:port` through `proxy` and resolves
 * with the raw socket (the caller runs TLS over it). Fails with a LinkError:
 * PROXY_AUTH_REQUIRED on 407, PROXY_REFUSED on another status, PROXY_FAILED
 * when the proxy cannot be reached. Messages never carry the credentials.
 */
export function openTunnel(proxy: URL, host: string, port: number, signal: AbortSignal): Promise<Socket> {
  const authority = `${isIP(stripBrackets(host)) === 6 ? `[${stripBrackets(host)}]` : host}:${port}`;
  const headers: Record<string, string> = { host: authority };
  const auth = basicAuth(proxy);
  if (auth) headers['proxy-authorization'] = auth;
  const where = redactProxy(proxy);
  return new Promise<Socket>((resolve, reject) => {
    let settled = false;
    const req = http.request({
      host: stripBrackets(proxy.hostname),
      port: proxy.port ? Number(proxy.port) : 80,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      setHost: false,
    });
    const finish = (err: Error | null, socket?: Socket): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else if (socket) {
        resolve(socket);
      }
    };
    const onAbort = (): void => finish(signal.reason instanceof Error ? signal.reason : new LinkError('CONNECT_TIMEOUT', 'dial aborted'));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('connect', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        socket.destroy();
        finish(
          status === 407
            ? new LinkError('PROXY_AUTH_REQUIRED', `proxy ${where} refused the credentials (407): check the proxy user and controller.proxyPassword (or the user:password of HTTPS_PROXY)`)
            : new LinkError('PROXY_REFUSED', `proxy ${where} refused the tunnel to ${authority} with HTTP ${status}`),
        );
        return;
      }
      if (head.length > 0) socket.unshift(head);
      finish(null, socket);
    });
    // Some proxies answer CONNECT without the upgrade semantics Node expects.
    req.once('response', (res: http.IncomingMessage) => {
      res.resume();
      finish(new LinkError('PROXY_REFUSED', `proxy ${where} refused the tunnel to ${authority} with HTTP ${res.statusCode ?? 0}`));
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      finish(new LinkError('PROXY_FAILED', `cannot reach proxy ${where}: ${err.code ?? err.message}`, { cause: err }));
    });
    req.end();
  });
}
