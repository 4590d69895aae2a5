import { lookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { ControllerConfig, GatewayConfig } from '../config/index.js';
import {
  controllerTlsOptions,
  effectivePort,
  openRawSocket,
  redactProxy,
  resolveProxy,
  startTls,
  type ProxyTarget,
} from '../link/index.js';
import type { Clock } from '../shared/index.js';
import { stripBrackets } from '../shared/index.js';
import { derToPem, describeCertificate, fetchPresentedCertificate, type CertificateInfo } from '../tls/index.js';
import type { CheckLevel } from './check.js';
import { probeAuth } from './controller-auth.js';
import { headDate, skewCheck } from './controller-clock.js';
import { withTimeout } from './with-timeout.js';

export { SKEW_FAIL_MS, SKEW_WARN_MS } from './controller-clock.js';

/**
 * The controller half of `credgw diagnose`: proxy, DNS, TCP (or the proxy
 * tunnel), TLS with the presented certificate shown, auth and clock skew,
 * each step only when the one before it passed. It reports through a
 * {@link ControllerProbeContext}, which scrubs every line before it leaves.
 * The auth check (controller-auth.ts) and the clock check
 * (controller-clock.ts) have files of their own.
 */

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
    const host = stripBrackets(url.hostname);
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
    const answer = await probeAuth({ url, socket, token, gatewayId: config.gatewayId, clusterId: config.clusterId, clock: this.clock, timeoutMs: this.timeoutMs });
    const receivedAt = this.clock.now();
    this.add(S, 'auth', answer.level, answer.detail);

    let date = answer.date;
    let localAt = (sentAt + receivedAt) / 2;
    if (date === undefined && answer.status !== 0) {
      // The upgrade answer carried no Date (ws servers do not send one): ask with a plain HEAD.
      const head = await this.freshSocket(proxy, host, port, secure, c)
        .then((fresh) => headDate({ socket: fresh, host, port, secure, clock: this.clock, timeoutMs: this.timeoutMs }))
        .catch(() => undefined);
      if (head) {
        date = head.date;
        localAt = head.localAt;
      }
    }
    const skew = skewCheck(date, localAt);
    this.add(S, 'clock', skew.level, skew.detail);
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

  /** A fresh connection for the HEAD request: the same route and the same trust as the probe's. */
  private async freshSocket(proxy: ProxyTarget | null, host: string, port: number, secure: boolean, c: ControllerConfig): Promise<Socket> {
    const raw = await this.openRaw(proxy, host, port);
    if (!secure) return raw;
    try {
      return await this.tlsOver(raw, host, port, controllerTlsOptions(c));
    } catch (err) {
      raw.destroy();
      throw err;
    }
  }
}

function errCodeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
