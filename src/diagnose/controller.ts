import http, { type IncomingMessage } from 'node:http';
import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import WebSocket from 'ws';
import type { ControllerConfig, GatewayConfig } from '../config/types.js';
import { controllerTlsOptions, openRawSocket, startTls } from '../link/dial.js';
import { effectivePort, redactProxy, resolveProxy, type ProxyTarget } from '../link/proxy.js';
import { SUBPROTOCOL } from '../protocol/index.js';
import { unrefTimer, type Clock, type TimerHandle } from '../shared/clock.js';
import { VERSION } from '../shared/version.js';
import { describeCertificate, type CertificateInfo } from '../tls/certificates.js';
import { fetchPresentedCertificate } from '../tls/inspect.js';
import { derToPem } from '../tls/pin.js';
import type { CheckLevel } from './check.js';

/**
 * The controller half of `credgw diagnose`: proxy, DNS, TCP (or the proxy
 * tunnel), TLS with the presented certificate shown, auth and clock skew,
 * each step only when the one before it passed. It reports through a
 * {@link ControllerProbeContext}, which scrubs every line before it leaves.
 *
 * The auth check opens a WebSocket with the gateway's token and closes it
 * (1000) before sending hello: the controller sees no session, so a running
 * daemon with the same gatewayId is not replaced.
 */

/** Clock skew against the controller above this is a warning (ms). */
export const SKEW_WARN_MS = 30_000;
/** …and above this a failure (ms): token lifetimes and audit times go wrong. */
export const SKEW_FAIL_MS = 5 * 60_000;
/** A certificate expiring sooner than this is a warning (ms). */
export const CERT_EXPIRY_WARN_MS = 14 * 24 * 3600_000;

/** What the probe needs from the diagnose run. */
export interface ControllerProbeContext {
  /** Records one result line; the run scrubs `detail` of remembered secrets. */
  add(subject: string, check: string, level: CheckLevel, detail: string): void;
  /** A value to scrub from every later line (a proxy password). */
  rememberSecret(value: string): void;
  clock: Clock;
  /** Time-out of each network step, ms. */
  timeoutMs: number;
  /** For HTTPS_PROXY/HTTP_PROXY/NO_PROXY. */
  env: NodeJS.ProcessEnv;
  /** Secret references (tokens, controller.proxyPassword) that could be read, and their values. */
  tokens: ReadonlyMap<string, string>;
}

/** Probes the controller step by step; adds one line per step and stops at the first failure. */
export function checkController(ctx: ControllerProbeContext, config: GatewayConfig, c: ControllerConfig): Promise<void> {
  return new ControllerProbe(ctx).run(config, c);
}

/** Remembers the password of a proxy URL (raw and percent-decoded) as a secret to scrub. */
export function rememberProxySecret(text: string, remember: (secret: string) => void): void {
  try {
    const u = new URL(text);
    if (u.password) {
      remember(u.password);
      remember(decodeURIComponent(u.password));
    }
  } catch {
    // Not a URL: compile reports it.
  }
}

class ControllerProbe {
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly tokens: ReadonlyMap<string, string>;
  /** controller.proxyPassword, as the link reads it at each dial; null when controller.proxy has none. */
  private proxyPassword: (() => Promise<string>) | null = null;

  constructor(private readonly ctx: ControllerProbeContext) {
    this.clock = ctx.clock;
    this.timeoutMs = ctx.timeoutMs;
    this.env = ctx.env;
    this.tokens = ctx.tokens;
  }

  private add(subject: string, check: string, level: CheckLevel, detail: string): void {
    this.ctx.add(subject, check, level, detail);
  }

  async run(config: GatewayConfig, c: ControllerConfig): Promise<void> {
    const S = 'controller';
    const url = new URL(c.url);
    const secure = url.protocol === 'wss:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = effectivePort(url);
    this.add(S, 'url', 'ok', `${url.protocol}//${url.host}${url.pathname}`);

    let proxy: ProxyTarget | null;
    try {
      proxy = resolveProxy(url, c.proxy, this.env);
    } catch (err) {
      this.add(S, 'proxy', 'fail', (err as Error).message);
      return;
    }
    if (proxy) {
      rememberProxySecret(proxy.url.href, (s) => this.ctx.rememberSecret(s));
      const ref = proxy.source === 'controller.proxy' ? c.proxyPassword : null;
      if (ref) this.proxyPassword = () => this.readRef(ref, 'see the proxyPassword line above');
      const creds = proxy.url.username || proxy.url.password ? ', with credentials (not shown)' : '';
      this.add(S, 'proxy', 'ok', `${redactProxy(proxy.url)} from ${proxy.source}${creds}`);
    } else {
      const envName = secure ? 'HTTPS_PROXY' : 'HTTP_PROXY';
      const envSet = [envName, envName.toLowerCase()].some((n) => (this.env[n] ?? '').trim() !== '');
      this.add(S, 'proxy', 'ok', envSet ? `none: NO_PROXY matches ${host}, connecting directly` : 'none: connecting directly');
    }

    // dns (through a proxy, the proxy resolves the name; a local failure is only a warning)
    if (isIP(host)) this.add(S, 'dns', 'ok', `${host} is an address, no lookup needed`);
    else {
      try {
        const all = await withTimeout(this.clock, this.timeoutMs, `lookup of ${host}`, () => lookup(host, { all: true }));
        this.add(S, 'dns', 'ok', `${host} resolves to ${all.map((a) => a.address).join(', ')}`);
      } catch (err) {
        const why = `${host} does not resolve here (${errCodeOf(err) ?? (err as Error).message})`;
        if (proxy) this.add(S, 'dns', 'warn', `${why}; the proxy resolves it`);
        else {
          this.add(S, 'dns', 'fail', why);
          return;
        }
      }
    }

    // tcp (or the proxy tunnel)
    let raw: Socket;
    const started = this.clock.monotonic();
    try {
      raw = await this.openRaw(proxy, host, port);
      const ms = Math.round(this.clock.monotonic() - started);
      this.add(S, 'tcp', 'ok', proxy ? `tunnel to ${host}:${port} through ${redactProxy(proxy.url)} in ${ms} ms` : `connected to ${host}:${port} in ${ms} ms`);
    } catch (err) {
      // The system's code (ECONNREFUSED, …) rides on the dial error's cause.
      const code = errCodeOf((err as Error).cause) ?? errCodeOf(err);
      this.add(S, 'tcp', 'fail', proxy ? (err as Error).message : `cannot connect to ${host}:${port} (${code ?? (err as Error).message})`);
      return;
    }

    // tls
    let socket: Socket = raw;
    if (secure) {
      const trustText = `system roots${c.caFile ? ` + ${c.caFile}` : ''}, hostname checked${c.pinSha256 ? ', pin matches' : ''}`;
      try {
        const t = await this.tlsOver(raw, host, port, controllerTlsOptions(c));
        const info = describeCertificate(derToPem(t.getPeerCertificate().raw));
        this.certificateLine(info, c.pinSha256);
        this.add(S, 'tls', 'ok', `trusted (${trustText}); ${t.getProtocol() ?? 'TLS'}`);
        socket = t;
      } catch (err) {
        raw.destroy();
        await this.showPresented(proxy, host, port, c.pinSha256);
        this.add(S, 'tls', 'fail', `not trusted (${trustText.replace(', pin matches', ', pin checked')}): ${(err as Error).message}`);
        return;
      }
    } else {
      this.add(S, 'tls', 'warn', 'ws:// without TLS (controller.insecure): the token crosses the network in clear; loopback development only');
    }

    // auth + the controller's Date for the skew
    const token = this.tokens.get(c.token);
    if (token === undefined) {
      socket.destroy();
      this.add(S, 'auth', 'fail', 'not tried: the token cannot be read (see the token line above)');
      return;
    }
    const sentAt = this.clock.now();
    const answer = await this.upgrade(url, socket, token, config);
    const receivedAt = this.clock.now();
    this.add(S, 'auth', answer.level, answer.detail);

    let date = answer.date;
    let localAt = (sentAt + receivedAt) / 2;
    if (date === undefined && answer.status !== 0) {
      // The upgrade answer carried no Date (ws servers do not send one): ask with a plain HEAD.
      const head = await this.headDate(proxy, host, port, secure, c).catch(() => undefined);
      if (head) {
        date = head.date;
        localAt = head.localAt;
      }
    }
    this.skewLine(date, localAt);
  }

  private certificateLine(info: CertificateInfo, pin: string | null): void {
    const left = Date.parse(info.validTo) - this.clock.now();
    const level: CheckLevel = left < CERT_EXPIRY_WARN_MS ? 'warn' : 'ok';
    const expiry = left < CERT_EXPIRY_WARN_MS ? ` (expires in ${Math.max(0, Math.floor(left / 86_400_000))} days)` : '';
    const pinText = pin ? (info.spkiPinSha256 === pin ? ' (matches controller.pinSha256)' : ` (controller.pinSha256 is ${pin})`) : '';
    this.add(
      'controller',
      'certificate',
      level,
      `subject ${info.subject}; issuer ${info.issuer}; valid ${info.validFrom} to ${info.validTo}${expiry}; SHA-256 ${info.fingerprintSha256}; pin ${info.spkiPinSha256}${pinText}`,
    );
  }

  /** After a failed handshake: what did the server present? (inspection only, nothing is sent) */
  private async showPresented(proxy: ProxyTarget | null, host: string, port: number, pin: string | null): Promise<void> {
    try {
      const socket = proxy ? await this.openRaw(proxy, host, port) : undefined;
      const cert = await fetchPresentedCertificate({ host, port, timeoutMs: this.timeoutMs, ...(socket ? { socket } : {}) });
      this.certificateLine(describeCertificate(cert.certPem), pin);
    } catch (err) {
      this.add('controller', 'certificate', 'fail', `cannot read the presented certificate: ${(err as Error).message}`);
    }
  }

  private skewLine(date: string | undefined, localAt: number): void {
    if (date === undefined) {
      this.add('controller', 'clock', 'warn', 'cannot tell the clock skew: the controller sent no Date header');
      return;
    }
    const remote = Date.parse(date);
    if (Number.isNaN(remote)) {
      this.add('controller', 'clock', 'warn', 'cannot tell the clock skew: the controller sent an unreadable Date header');
      return;
    }
    // Date has a resolution of one second: the remote time lies in [remote, remote + 1000).
    const skew = remote + 500 - localAt;
    const abs = Math.abs(skew);
    const words = abs < 1000 ? 'agrees with the controller (within 1 s)' : `is ${formatSkew(abs)} ${skew > 0 ? 'behind' : 'ahead of'} the controller`;
    const level: CheckLevel = abs > SKEW_FAIL_MS ? 'fail' : abs > SKEW_WARN_MS ? 'warn' : 'ok';
    const advice = level === 'ok' ? '' : '; synchronise the clock (timedatectl status, chrony or systemd-timesyncd)';
    this.add('controller', 'clock', level, `local clock ${words} (local ${new Date(localAt).toISOString()}, controller ${new Date(remote).toISOString()})${advice}`);
  }

  /** TCP or the proxy tunnel, as the link dials it (link/dial.ts), bounded by the check's time-out. */
  private openRaw(proxy: ProxyTarget | null, host: string, port: number): Promise<Socket> {
    const what = proxy ? `tunnel through ${redactProxy(proxy.url)}` : `connect to ${host}:${port}`;
    return this.bounded(what, (signal) => openRawSocket({ host, port, proxy: proxy?.url ?? null, proxyPassword: this.proxyPassword }, signal));
  }

  /** A secret the run has already read (checkSecrets); rejects when it could not be read. */
  private async readRef(ref: string, hint: string): Promise<string> {
    const value = this.tokens.get(ref);
    if (value === undefined) throw new Error(`${ref} cannot be read (${hint})`);
    return value;
  }

  /** `fn` under the check's time-out: its signal is aborted when the time runs out. */
  private bounded<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    return withTimeout(this.clock, this.timeoutMs, what, () => fn(abort.signal), () =>
      abort.abort(new Error(`${what} timed out after ${this.timeoutMs} ms`)),
    );
  }

  /** TLS over `raw`, as the link does it (link/dial.ts), bounded by the check's time-out. */
  private tlsOver(raw: Socket, host: string, port: number, options: ConnectionOptions): Promise<TLSSocket> {
    return this.bounded('TLS handshake', (signal) => startTls(raw, host, port, options, signal));
  }

  /** The WebSocket upgrade with the token; closed with 1000 as soon as it opens, before any hello. */
  private upgrade(
    url: URL,
    socket: Socket,
    token: string,
    config: GatewayConfig,
  ): Promise<{ level: CheckLevel; detail: string; status: number; date: string | undefined }> {
    return new Promise((resolve) => {
      let date: string | undefined;
      let status = 0;
      let settled = false;
      let protocolProblem: string | null = null;
      const done = (level: CheckLevel, detail: string): void => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve({ level, detail, status, date });
      };
      socket.on('error', () => undefined);
      const ws = new WebSocket(url, SUBPROTOCOL, {
        createConnection: (() => socket) as never,
        headers: {
          Authorization: `Bearer ${token}`,
          'X-Credgw-Gateway': config.gatewayId,
          'X-Credgw-Cluster': config.clusterId,
          'User-Agent': `credgw/${VERSION} (diagnose)`,
        },
        perMessageDeflate: false,
        followRedirects: false,
      });
      const timer = this.clock.setTimeout(() => {
        ws.terminate();
        socket.destroy();
        done('fail', `no answer to the WebSocket upgrade within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
      ws.on('upgrade', (res: IncomingMessage) => {
        status = res.statusCode ?? 101;
        date = headerOf(res, 'date');
        const offered = headerOf(res, 'sec-websocket-protocol');
        if (offered !== SUBPROTOCOL) protocolProblem = `the controller accepted the token but answered subprotocol ${offered === undefined ? '(none)' : JSON.stringify(offered.slice(0, 64))} instead of ${SUBPROTOCOL}`;
      });
      ws.on('unexpected-response', (_req, res: IncomingMessage) => {
        status = res.statusCode ?? 0;
        date = headerOf(res, 'date');
        res.resume();
        ws.terminate();
        socket.destroy();
        if (status === 401) done('fail', 'token refused (HTTP 401): check controller.token against the token the cloud issued for this gateway');
        else if (status === 403) done('fail', 'the controller refused this gateway (HTTP 403)');
        else done('fail', `the controller answered the upgrade with HTTP ${status} instead of 101 (is controller.url the gateway endpoint?)`);
      });
      let closeTimer: TimerHandle | null = null;
      ws.on('open', () => {
        ws.close(1000, 'credgw diagnose');
        // A controller that never answers the close frame must not hold the CLI for ws's 30 s.
        closeTimer = unrefTimer(this.clock.setTimeout(() => ws.terminate(), 1000));
        done('ok', `token accepted (HTTP 101, subprotocol ${SUBPROTOCOL}); closed before hello`);
      });
      ws.on('close', () => {
        this.clock.clearTimeout(closeTimer);
        socket.destroy();
      });
      ws.on('error', (err: Error) => {
        socket.destroy();
        if (protocolProblem) done('fail', protocolProblem);
        else done('fail', `WebSocket upgrade failed: ${err.message}`);
      });
    });
  }

  /** HEAD / on a fresh connection (same route, same trust), for the controller's Date header. */
  private async headDate(
    proxy: ProxyTarget | null,
    host: string,
    port: number,
    secure: boolean,
    c: ControllerConfig,
  ): Promise<{ date: string | undefined; localAt: number }> {
    const raw = await this.openRaw(proxy, host, port);
    const socket = secure ? await this.tlsOver(raw, host, port, controllerTlsOptions(c)).catch((err: unknown) => {
      raw.destroy();
      throw err;
    }) : raw;
    const sentAt = this.clock.now();
    let req: http.ClientRequest | undefined;
    return withTimeout(
      this.clock,
      this.timeoutMs,
      'HEAD request',
      () =>
        new Promise((resolve, reject) => {
          req = http.request({
            method: 'HEAD',
            path: '/',
            headers: { host: port === (secure ? 443 : 80) ? host : `${host}:${port}`, 'user-agent': `credgw/${VERSION} (diagnose)`, connection: 'close' },
            createConnection: () => socket,
          });
          req.once('response', (res) => {
            res.resume();
            socket.destroy();
            resolve({ date: headerOf(res, 'date'), localAt: (sentAt + this.clock.now()) / 2 });
          });
          req.once('error', (err) => {
            socket.destroy();
            reject(err);
          });
          req.end();
        }),
      () => {
        req?.destroy();
        socket.destroy();
      },
    );
  }
}

function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function errCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function formatSkew(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** Runs `fn`; rejects with ETIMEDOUT after `ms` on the clock (calling `onTimeout` to release what fn opened). */
function withTimeout<T>(clock: Clock, ms: number, what: string, fn: () => Promise<T>, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = clock.setTimeout(() => {
      if (settled) return;
      settled = true;
      onTimeout?.();
      reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' }));
    }, ms);
    fn().then(
      (v) => {
        clock.clearTimeout(timer);
        if (settled) {
          (v as { destroy?: () => void } | null)?.destroy?.();
          return;
        }
        settled = true;
        resolve(v);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        if (settled) return;
        settled = true;
        reject(err);
      },
    );
  });
}
