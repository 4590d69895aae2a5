import { constants as fsConstants, readFileSync, statSync, type Stats } from 'node:fs';
import { access } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import { lookup } from 'node:dns/promises';
import net, { isIP, type Socket } from 'node:net';
import { dirname } from 'node:path';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import { ConfigError } from '../config/config-error.js';
import { describeSecretRef, isSecretRef, readSecret, SecretError } from '../config/secrets.js';
import { openConfigStore, readConfigFile } from '../config/store.js';
import type { ControllerConfig, GatewayConfig, VaultProfile } from '../config/types.js';
import { effectivePort, openTunnel, redactProxy, resolveProxy, type ProxyTarget } from '../link/proxy.js';
import { SUBPROTOCOL } from '../protocol/index.js';
import { systemClock, unrefTimer, type Clock, type TimerHandle } from '../shared/clock.js';
import { VERSION } from '../shared/version.js';
import { describeCertificate, type CertificateInfo } from '../tls/certificates.js';
import { fetchPresentedCertificate } from '../tls/inspect.js';
import { derToPem } from '../tls/pin.js';
import { readCaFile, trustedConnectOptions } from '../tls/trust.js';
import { fetchGatewayStatus, TelemetryError } from '../telemetry/http-server.js';
import { testVaultConnection } from '../vault/diagnose.js';

/**
 * The checks behind `credgw diagnose`: config and file permissions, the
 * secrets (readable, never shown), the running daemon, then DNS, proxy,
 * TCP, TLS (with the certificate shown), auth and clock skew against the
 * controller, then each vault. One result per check, in order; the output
 * must be safe to paste into a support ticket, so every line is scrubbed of
 * the secrets read during the run and of URL user info before it leaves.
 *
 * The auth check opens a WebSocket with the gateway's token and closes it
 * (1000) before sending hello: the controller sees no session, so a running
 * daemon with the same gatewayId is not replaced.
 */

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** What is checked: "config", "controller", "vault pmp-prod", … */
  subject: string;
  /** Which check: "dns", "tls", "token", … */
  check: string;
  level: CheckLevel;
  /** One line, no secrets. */
  detail: string;
}

/** Clock skew against the controller above this is a warning (ms). */
export const SKEW_WARN_MS = 30_000;
/** …and above this a failure (ms): token lifetimes and audit times go wrong. */
export const SKEW_FAIL_MS = 5 * 60_000;
/** A certificate expiring sooner than this is a warning (ms). */
export const CERT_EXPIRY_WARN_MS = 14 * 24 * 3600_000;

export interface DiagnoseOptions {
  /** The config directory (`--config-dir`). */
  configDir: string;
  /** Environment for env:// secrets, CREDENTIALS_DIRECTORY, HTTPS_PROXY/NO_PROXY. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default systemClock. */
  clock?: Clock;
  /** Time-out of each network step, ms. Default 5000. */
  timeoutMs?: number;
  /** Default: silent. */
  logger?: Logger;
  /** Called with each result as soon as it is known (already scrubbed). */
  onResult?: (result: CheckResult) => void;
}

/** Runs every check; resolves with the results (it does not throw for a failed check). */
export async function runDiagnostics(opts: DiagnoseOptions): Promise<CheckResult[]> {
  const run = new Run(opts);
  await run.all();
  return run.results;
}

/** `ok    controller tls          detail` */
export function formatCheck(r: CheckResult): string {
  const level = r.level === 'fail' ? 'FAIL' : r.level;
  return `${level.padEnd(4)}  ${`${r.subject} ${r.check}`.padEnd(26)}  ${r.detail}`;
}

/** "12 ok, 1 warn, 0 FAIL". */
export function summarize(results: readonly CheckResult[]): { ok: number; warn: number; fail: number; line: string } {
  const n = (l: CheckLevel): number => results.filter((r) => r.level === l).length;
  const ok = n('ok');
  const warn = n('warn');
  const fail = n('fail');
  return { ok, warn, fail, line: `${ok} ok, ${warn} warn, ${fail} FAIL` };
}

class Run {
  readonly results: CheckResult[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly logger: Logger;
  /** Every secret value read or seen in this run: scrubbed from each line. */
  private readonly secrets = new Set<string>();
  /** Token references that could be read, and their values. */
  private readonly tokens = new Map<string, string>();

  constructor(private readonly opts: DiagnoseOptions) {
    this.env = opts.env ?? process.env;
    this.clock = opts.clock ?? systemClock;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.logger = opts.logger ?? pino({ level: 'silent' });
  }

  add(subject: string, check: string, level: CheckLevel, detail: string): void {
    const r: CheckResult = { subject, check, level, detail: this.scrub(detail) };
    this.results.push(r);
    this.opts.onResult?.(r);
  }

  private scrub(text: string): string {
    let out = text.replace(/\s*\n\s*/g, ' ');
    for (const s of this.secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
    // user:password@ in any URL, whoever wrote the message.
    return out.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]+@/gi, '$1***@');
  }

  async all(): Promise<void> {
    const config = this.checkConfig();
    if (!config) return;
    await this.checkSecrets(config);
    this.checkTlsFiles(config);
    await this.checkAudit(config);
    await this.checkDaemon(config);
    if (config.controller) await this.checkController(config, config.controller);
    else this.add('controller', 'config', 'warn', 'no controller configured: the gateway serves no commands');
    if (config.vaults.length === 0) this.add('vaults', 'config', 'warn', 'no vault profiles configured (add one with credgw vault add)');
    for (const v of config.vaults) await this.checkVault(v);
  }

  // ---- config and files ----

  private checkConfig(): GatewayConfig | undefined {
    const store = openConfigStore(this.opts.configDir);
    this.add('credgw', 'version', 'ok', `${VERSION} on Node ${process.version}, uid ${process.getuid?.() ?? '?'}`);
    if (!store.exists()) {
      this.add('config', 'file', 'fail', `${store.path} does not exist (create it with credgw config init, or pass --config-dir)`);
      return undefined;
    }
    this.checkConfigPermissions(store.dir, store.path);
    let raw;
    try {
      raw = readConfigFile(store.path, { parseOnly: true });
    } catch (err) {
      this.add('config', 'valid', 'fail', err instanceof ConfigError ? err.problems.join('; ') : String((err as Error).message));
      return undefined;
    }
    // A token pasted into the file instead of a reference must not reach the output through a message.
    const rawTokens = [(raw.controller as { token?: unknown } | null | undefined)?.token, ...(raw.vaults ?? []).map((v) => (v as { token?: unknown } | null)?.token)];
    for (const t of rawTokens) if (typeof t === 'string' && !isSecretRef(t)) this.secrets.add(t);
    const proxy = (raw.controller as { proxy?: unknown } | null | undefined)?.proxy;
    if (typeof proxy === 'string') this.rememberProxySecret(proxy);
    let config: GatewayConfig;
    try {
      config = store.load();
    } catch (err) {
      if (err instanceof ConfigError) {
        const shown = err.problems.slice(0, 5);
        const more = err.problems.length > shown.length ? `; and ${err.problems.length - shown.length} more (credgw config validate lists them)` : '';
        this.add('config', 'valid', 'fail', `${store.path}: ${shown.join('; ')}${more}`);
      } else {
        this.add('config', 'valid', 'fail', `${store.path}: ${(err as Error).message}`);
      }
      return undefined;
    }
    const parts = [`${config.vaults.length} vault${config.vaults.length === 1 ? '' : 's'}`, config.controller ? 'controller set' : 'no controller'];
    this.add('config', 'valid', 'ok', `${store.path}: gateway ${config.gatewayId} in cluster ${config.clusterId}, ${parts.join(', ')}`);
    return config;
  }

  private checkConfigPermissions(dir: string, path: string): void {
    const problems: string[] = [];
    let fail = false;
    const dirStat = statOrNull(dir);
    if (dirStat && (dirStat.mode & 0o002) !== 0 && (dirStat.mode & 0o1000) === 0) {
      fail = true;
      problems.push(`${dir} is writable by every user (mode ${mode(dirStat)}): anyone can replace the config; run: chmod o-w ${dir}`);
    }
    const st = statOrNull(path);
    if (st) {
      if ((st.mode & 0o002) !== 0) {
        fail = true;
        problems.push(`${path} is writable by every user (mode ${mode(st)}); run: chmod o-rwx ${path}`);
      } else if ((st.mode & 0o004) !== 0) {
        problems.push(`${path} is readable by every user (mode ${mode(st)}): it names vaults and secret files; run: chmod o-rwx ${path}`);
      }
    }
    if (problems.length > 0) this.add('config', 'permissions', fail ? 'fail' : 'warn', problems.join('; '));
    else if (st) this.add('config', 'permissions', 'ok', `${path} mode ${mode(st)}, owner ${st.uid}:${st.gid}`);
  }

  private async checkSecrets(config: GatewayConfig): Promise<void> {
    const refs: Array<{ subject: string; ref: string }> = [];
    if (config.controller) refs.push({ subject: 'controller', ref: config.controller.token });
    for (const v of config.vaults) refs.push({ subject: `vault ${v.name}`, ref: v.token });
    for (const { subject, ref } of refs) {
      try {
        const value = await readSecret(ref, this.env);
        this.secrets.add(value);
        this.tokens.set(ref, value);
        this.add(subject, 'token', 'ok', `${describeSecretRef(ref)}: readable, ${Buffer.byteLength(value, 'utf8')} bytes`);
      } catch (err) {
        this.add(subject, 'token', 'fail', err instanceof SecretError ? err.message : `${describeSecretRef(ref)}: ${(err as Error).message}`);
      }
    }
  }

  private checkTlsFiles(config: GatewayConfig): void {
    const c = config.controller;
    if (c?.caFile) this.checkCaFile('controller', 'caFile', c.caFile);
    if (c?.certFile) {
      try {
        const certs = readCaFile(c.certFile);
        const info = describeCertificate(certs[0]!);
        const left = Date.parse(info.validTo) - this.clock.now();
        const level: CheckLevel = left <= 0 ? 'fail' : left < CERT_EXPIRY_WARN_MS ? 'warn' : 'ok';
        this.add('controller', 'certFile', level, `${c.certFile}: subject ${info.subject}, valid to ${info.validTo}${left <= 0 ? ' (EXPIRED)' : ''}`);
      } catch (err) {
        this.add('controller', 'certFile', 'fail', (err as Error).message);
      }
    }
    if (c?.keyFile) {
      const st = statOrNull(c.keyFile);
      try {
        readFileSync(c.keyFile);
        if (st && (st.mode & 0o007) !== 0) {
          this.add('controller', 'keyFile', 'fail', `${c.keyFile} is accessible to other users (mode ${mode(st)}); run: chmod o-rwx ${c.keyFile}`);
        } else {
          this.add('controller', 'keyFile', 'ok', `${c.keyFile}: readable${st ? `, mode ${mode(st)}` : ''}`);
        }
      } catch (err) {
        this.add('controller', 'keyFile', 'fail', `cannot read ${c.keyFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    for (const v of config.vaults) if (v.caFile) this.checkCaFile(`vault ${v.name}`, 'caFile', v.caFile);
  }

  private checkCaFile(subject: string, check: string, file: string): void {
    try {
      const certs = readCaFile(file);
      this.add(subject, check, 'ok', `${file}: ${certs.length} certificate${certs.length === 1 ? '' : 's'}`);
    } catch (err) {
      this.add(subject, check, 'fail', (err as Error).message);
    }
  }

  private async checkAudit(config: GatewayConfig): Promise<void> {
    const target = config.telemetry.audit;
    if (target === 'stdout') {
      this.add('audit', 'target', 'ok', 'stdout (the journal)');
      return;
    }
    const dir = dirname(target);
    try {
      if (statOrNull(target)) await access(target, fsConstants.W_OK);
      else await access(dir, fsConstants.W_OK);
      this.add('audit', 'target', 'ok', `${target} is writable`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.add('audit', 'target', 'fail', `${statOrNull(target) ? target : dir} is not writable by uid ${process.getuid?.() ?? '?'} (${code}): the daemon will refuse to start`);
    }
  }

  private async checkDaemon(config: GatewayConfig): Promise<void> {
    const listen = config.telemetry.listen;
    if (listen === null) {
      this.add('daemon', 'status', 'warn', 'telemetry.listen is null: no status endpoint to ask');
      return;
    }
    try {
      const s = await fetchGatewayStatus(listen, { timeoutMs: this.timeoutMs });
      const unhealthy = s.vaults.filter((v) => v.healthy === false).map((v) => v.name);
      this.add(
        'daemon',
        'status',
        'ok',
        `running on ${listen}: pid ${s.pid}, ${s.lifecycle}, role ${s.role}${s.epoch === null ? '' : ` epoch ${s.epoch}`}, link ${s.link.state}` +
          (unhealthy.length > 0 ? `, unhealthy vaults: ${unhealthy.join(', ')}` : ''),
      );
    } catch (err) {
      if (err instanceof TelemetryError && err.code === 'NOT_RUNNING') this.add('daemon', 'status', 'warn', err.message);
      else this.add('daemon', 'status', 'fail', (err as Error).message);
    }
  }

  // ---- controller ----

  private async checkController(config: GatewayConfig, c: ControllerConfig): Promise<void> {
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
      this.rememberProxySecret(proxy.url.href);
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
      this.add(S, 'tcp', 'fail', proxy ? (err as Error).message : `cannot connect to ${host}:${port} (${errCodeOf(err) ?? (err as Error).message})`);
      return;
    }

    // tls
    let socket: Socket = raw;
    if (secure) {
      const trustText = `system roots${c.caFile ? ` + ${c.caFile}` : ''}, hostname checked${c.pinSha256 ? ', pin matches' : ''}`;
      try {
        const t = await this.tlsOver(raw, host, this.tlsOptions(c));
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

  private openRaw(proxy: ProxyTarget | null, host: string, port: number): Promise<Socket> {
    if (proxy) {
      const abort = new AbortController();
      return withTimeout(this.clock, this.timeoutMs, `tunnel through ${redactProxy(proxy.url)}`, () => openTunnel(proxy.url, host, port, abort.signal), () =>
        abort.abort(new Error(`tunnel through ${redactProxy(proxy.url)} timed out after ${this.timeoutMs} ms`)),
      );
    }
    let socket: Socket | undefined;
    return withTimeout(
      this.clock,
      this.timeoutMs,
      `connect to ${host}:${port}`,
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = net.connect({ host, port });
          socket = s;
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', (err) => {
            s.destroy();
            reject(err);
          });
        }),
      () => socket?.destroy(),
    );
  }

  private tlsOptions(c: ControllerConfig): ConnectionOptions {
    // The link's trust rule exactly: system roots + caFile, hostname checked, pin when set.
    const trust = trustedConnectOptions({ caFile: c.caFile, pinSha256: c.pinSha256, checkHostname: true });
    const read = (path: string | null): string | undefined => {
      if (path === null) return undefined;
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined; // reported by the keyFile/certFile lines
      }
    };
    const cert = read(c.certFile);
    const key = read(c.keyFile);
    return { ...trust, ...(cert !== undefined && key !== undefined ? { cert, key } : {}) };
  }

  private tlsOver(raw: Socket, host: string, options: ConnectionOptions): Promise<TLSSocket> {
    let socket: TLSSocket | undefined;
    return withTimeout(
      this.clock,
      this.timeoutMs,
      'TLS handshake',
      () =>
        new Promise<TLSSocket>((resolve, reject) => {
          const s = tls.connect({ ...options, socket: raw, host, ...(isIP(host) ? {} : { servername: host }), ALPNProtocols: ['http/1.1'] });
          socket = s;
          s.once('secureConnect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', (err) => {
            s.destroy();
            reject(err);
          });
        }),
      () => socket?.destroy(),
    );
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
    const socket = secure ? await this.tlsOver(raw, host, this.tlsOptions(c)).catch((err: unknown) => {
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

  private rememberProxySecret(text: string): void {
    try {
      const u = new URL(text);
      if (u.password) {
        this.secrets.add(u.password);
        this.secrets.add(decodeURIComponent(u.password));
      }
    } catch {
      // Not a URL: compile reports it.
    }
  }

  // ---- vaults ----

  private async checkVault(v: VaultProfile): Promise<void> {
    const subject = `vault ${v.name}`;
    if (!this.tokens.has(v.token)) {
      this.add(subject, 'connection', 'fail', 'not tested: the token cannot be read (see the token line above)');
      return;
    }
    try {
      const checks = await testVaultConnection(v, () => readSecret(v.token, this.env), {
        clock: this.clock,
        logger: this.logger,
        timeoutMs: Math.min(this.timeoutMs, v.timeoutMs),
      });
      for (const c of checks) this.add(subject, c.check === 'tcp connect' ? 'tcp' : c.check, c.ok ? 'ok' : 'fail', c.detail);
    } catch (err) {
      this.add(subject, 'connection', 'fail', `test failed: ${(err as Error).message}`);
    }
  }
}

function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
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
