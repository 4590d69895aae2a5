import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import WebSocket, { type RawData } from 'ws';
import type { ControllerConfig } from '../config/types.js';
import {
  CAPABILITIES,
  CloseCode,
  encode,
  PROTOCOL_VERSION,
  WELCOME_TIMEOUT_MS,
  type CommandMessage,
  type GatewayMessage,
  type HelloMessage,
  type RejectedCommand,
  type RoleMessage,
  type VaultHealth,
  type WelcomeMessage,
} from '../protocol/index.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { StateMachine } from '../shared/state-machine.js';
import { isValidPin } from '../tls/index.js';
import { BACKOFF_RESET_AFTER_MS, backoffDelay, DEFAULT_BACKOFF, refusedDelay, type BackoffPolicy } from './backoff.js';
import { brief, controllerTlsOptions, openControllerSocket } from './dial.js';
import { LinkConfigError, LinkError, type LinkFailureCode } from './link-errors.js';
import { LinkConnection, type LinkSession } from './link-connection.js';
import { LINK_TRANSITIONS, type LinkState } from './link-state.js';
import { stripBrackets } from './no-proxy.js';
import { effectivePort, redactProxy, resolveProxy, type ProxyTarget } from './proxy.js';

/** Longest connect + proxy tunnel + TLS + upgrade, in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** How long a close handshake we start may take before the socket is destroyed, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

export type { LinkSession } from './link-connection.js';

export interface StateChange {
  from: LinkState;
  to: LinkState;
  reason: string;
}

export interface BackoffInfo {
  /** The delay before the next dial, in ms. */
  delayMs: number;
  /** The attempt counter the delay was computed from. */
  attempt: number;
  /** Why the last connection failed or ended. */
  code: LinkFailureCode;
}

export interface DownInfo {
  /** The WebSocket close code (1006 when the socket just went away). */
  code: number;
  reason: string;
}

/** The link's events and their arguments. */
export type LinkEvents = {
  state: [change: StateChange];
  welcome: [message: WelcomeMessage, session: LinkSession];
  role: [message: RoleMessage, session: LinkSession];
  command: [message: CommandMessage, session: LinkSession];
  /** A command with a valid id but bad fields: answer BAD_REQUEST / UNKNOWN_COMMAND on `session`. */
  rejected: [rejected: RejectedCommand, session: LinkSession];
  /** An open connection closed (after 'welcome' or while waiting for it). */
  down: [info: DownInfo, session: LinkSession];
  /** A reconnect was scheduled. */
  backoff: [info: BackoffInfo];
  /** A heartbeat ping went out: the link's loop is making progress (liveness, systemd watchdog). */
  heartbeat: [];
};

export interface LinkCounters {
  /** Connections that reached 'up' (welcome received). */
  connects: number;
  /** Open connections that closed. */
  disconnects: number;
  /** Dials after the first one. */
  reconnectAttempts: number;
  /** Protocol violations (section 8) received. */
  violations: number;
}

export interface ControllerLinkOptions {
  /** The controller section of the compiled config. */
  controller: ControllerConfig;
  gatewayId: string;
  clusterId: string;
  /** Sent in hello; higher wins the active role among healthy gateways. */
  priority: number;
  /** The gateway's version, sent in hello. */
  version: string;
  /** Capabilities announced in hello. Default CAPABILITIES (listAccounts, getPassword, sealedDelivery). */
  capabilities?: readonly string[];
  /** Reads the bearer token; called at every dial so a rotated token is picked up. */
  readToken: () => Promise<string>;
  /** Reads controller.proxyPassword; called at every dial through controller.proxy. Default: the proxy URL's own credentials. */
  readProxyPassword?: () => Promise<string>;
  /** Current vault health, sent in every hello. */
  vaultHealth: () => VaultHealth[];
  logger: Logger;
  clock: Clock;
  /** Random source in [0, 1] for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Environment for HTTPS_PROXY / NO_PROXY. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Reconnect policy. Default { baseMs: 250, capMs: 30000 } (protocol section 2). */
  backoff?: BackoffPolicy;
  /** How long to wait for welcome after hello, in ms. Default 10000 (protocol section 3). */
  welcomeTimeoutMs?: number;
  /** Longest TCP + proxy + TLS + upgrade, in ms. Default 15000. */
  connectTimeoutMs?: number;
  /** Longest close handshake we start (stop(), 4000, 4002, 1003) before the socket is destroyed, in ms. Default 5000. */
  closeTimeoutMs?: number;
}

/** Messages logged once per failed or ended connection, by code. */
const FAILURE_LOG: Record<LinkFailureCode, { level: 'warn' | 'error' | 'info'; msg: string }> = {
  TOKEN_UNREADABLE: { level: 'error', msg: 'cannot read the controller token' },
  CONNECT_FAILED: { level: 'warn', msg: 'cannot connect to the controller' },
  CONNECT_TIMEOUT: { level: 'warn', msg: 'controller connection timed out' },
  PROXY_FAILED: { level: 'error', msg: 'cannot reach the proxy' },
  PROXY_PASSWORD_UNREADABLE: { level: 'error', msg: 'cannot read the proxy password' },
  PROXY_AUTH_REQUIRED: { level: 'error', msg: 'proxy refused the credentials' },
  PROXY_REFUSED: { level: 'error', msg: 'proxy refused the tunnel' },
  TLS_ERROR: { level: 'error', msg: 'TLS with the controller failed' },
  TLS_CONFIG: { level: 'error', msg: 'cannot read the controller TLS files' },
  UNAUTHORIZED: { level: 'error', msg: 'controller refused the token' },
  UPGRADE_REFUSED: { level: 'error', msg: 'controller refused the WebSocket upgrade' },
  PROTOCOL_MISMATCH: { level: 'error', msg: 'controller does not speak credgw.v1' },
  WELCOME_TIMEOUT: { level: 'warn', msg: 'controller sent no welcome' },
  VERSION_MISMATCH: { level: 'error', msg: 'controller speaks another protocol version' },
  PROTOCOL_ERROR: { level: 'warn', msg: 'controller broke the protocol' },
  LIVENESS: { level: 'warn', msg: 'controller went silent' },
  REPLACED: { level: 'warn', msg: 'another connection holds this gatewayId' },
  CLOSED: { level: 'info', msg: 'controller connection closed' },
};

/**
 * Failures after which the next delay is the cap: coming straight back cannot help. A 407 is a
 * wrong proxy password, and retrying it quickly locks a directory-backed proxy account.
 */
const REFUSED: ReadonlySet<LinkFailureCode> = new Set<LinkFailureCode>(['UNAUTHORIZED', 'PROXY_AUTH_REQUIRED', 'REPLACED']);

/**
 * The gateway's outbound WebSocket to the cloud controller (protocol
 * sections 1, 2, 3 and 8): dial (through an HTTP CONNECT proxy when one
 * applies), verify TLS, hello → welcome, heartbeats, decode frames into
 * typed events, and reconnect with full-jitter backoff until stop().
 */
export class ControllerLink extends EventEmitter<LinkEvents> {
  private readonly controller: ControllerConfig;
  private readonly url: URL;
  private readonly secure: boolean;
  private readonly host: string;
  private readonly port: number;
  private readonly proxy: ProxyTarget | null;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly policy: BackoffPolicy;
  private readonly welcomeTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly opts: ControllerLinkOptions;
  /** Backoff attempts needed for the window to reach the cap (where a refusal puts the counter). */
  private readonly attemptsToCap: number;

  private readonly machine: StateMachine<LinkState>;
  private conn: LinkConnection | null = null;
  private sessionSeq = 0;
  private attempt = 0;
  private dials = 0;
  private dialAbort: AbortController | null = null;
  private dialTimer: TimerHandle | null = null;
  private backoffTimer: TimerHandle | null = null;
  private stopWaiters: Array<() => void> = [];
  private currentSession: LinkSession | null = null;
  private connectedSinceMs: number | null = null;
  private readonly stats: LinkCounters = { connects: 0, disconnects: 0, reconnectAttempts: 0, violations: 0 };

  constructor(options: ControllerLinkOptions) {
    super();
    this.opts = options;
    this.controller = options.controller;
    this.log = options.logger.child({ component: 'link' });
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.policy = options.backoff ?? DEFAULT_BACKOFF;
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? WELCOME_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.attemptsToCap = Math.max(0, Math.ceil(Math.log2(this.policy.capMs / this.policy.baseMs)));
    // No logger given to the machine: the link logs its own 'link state' line, at info.
    this.machine = new StateMachine<LinkState>('link', 'idle', LINK_TRANSITIONS);
    this.machine.onTransition(({ from, to, reason }) => {
      this.log.info({ from, to, reason }, 'link state');
      this.safeEmit('state', { from, to, reason });
    });

    let url: URL;
    try {
      url = new URL(this.controller.url);
    } catch {
      throw new LinkConfigError('controller.url', 'must be a URL like wss://controller.example.com/gateway');
    }
    if (url.protocol === 'ws:') {
      if (!this.controller.insecure) {
        throw new LinkConfigError('controller.url', 'ws:// (no TLS) is allowed only with controller.insecure: true (loopback development and tests); use wss://');
      }
    } else if (url.protocol !== 'wss:') {
      throw new LinkConfigError('controller.url', `scheme ${url.protocol} is not supported; use wss://`);
    }
    if (url.username || url.password) throw new LinkConfigError('controller.url', 'must not carry credentials; the token is controller.token');
    this.url = url;
    this.secure = url.protocol === 'wss:';
    this.host = stripBrackets(url.hostname);
    this.port = effectivePort(url);
    if ((this.controller.certFile === null) !== (this.controller.keyFile === null)) {
      throw new LinkConfigError(this.controller.certFile === null ? 'controller.certFile' : 'controller.keyFile', 'certFile and keyFile go together');
    }
    if (this.controller.pinSha256 !== null && !isValidPin(this.controller.pinSha256)) {
      throw new LinkConfigError('controller.pinSha256', 'must be the base64 SHA-256 of the certificate public key (44 characters)');
    }
    if (this.secure) this.tlsOptions(true); // read the files once now so a bad path fails at start
    this.proxy = resolveProxy(url, this.controller.proxy, options.env ?? process.env);
  }

  /** The current state (see LinkState). */
  get state(): LinkState {
    return this.machine.state;
  }

  /**
   * Up, and the controller heard from within the liveness deadline as of
   * now. False from the moment that deadline passes, before the connection
   * is torn down: the controller has moved the role by then (protocol
   * section 2), so nothing may be served on the old grant.
   */
  get live(): boolean {
    return this.machine.state === 'up' && this.conn !== null && this.conn.live;
  }

  /** The session of the connection that is up, or null. */
  get current(): LinkSession | null {
    return this.currentSession;
  }

  /** Time (clock.now()) the current connection got its welcome, or null when not up. */
  get connectedSince(): number | null {
    return this.connectedSinceMs;
  }

  /** A snapshot of the counters for metrics. */
  get counters(): Readonly<LinkCounters> {
    return { ...this.stats };
  }

  /** Starts dialling. Only from 'idle'. */
  start(): void {
    this.clearLinkTimers();
    this.machine.transition('connecting', 'start');
    void this.dial();
  }

  /** Sends a frame on the current connection (health, resign). False when the link is not up. */
  send(message: GatewayMessage): boolean {
    const session = this.currentSession;
    if (!session) {
      this.log.debug({ type: message.type }, 'frame dropped, link not up');
      return false;
    }
    return session.send(message);
  }

  /**
   * Closes the connection with `code` (default 1001 going away), waits for
   * the close (at most closeTimeoutMs, then the socket is destroyed), and
   * never reconnects. Idempotent.
   */
  async stop(options: { code?: number; reason?: string } = {}): Promise<void> {
    const code = options.code ?? CloseCode.GOING_AWAY;
    const reason = options.reason ?? 'gateway stopping';
    if (this.machine.state === 'stopped') {
      if (this.conn) await new Promise<void>((resolve) => this.stopWaiters.push(resolve));
      return;
    }
    this.clearLinkTimers();
    const conn = this.conn;
    this.machine.transition('stopped', reason);
    this.currentSession = null;
    this.connectedSinceMs = null;
    this.dialAbort?.abort(new LinkError('CLOSED', 'link stopped'));
    this.dialAbort = null;
    if (!conn || conn.closed) {
      this.conn = null;
      return;
    }
    conn.stopTimers();
    const ws = conn.ws;
    if (!ws) {
      // Still reading the token or opening the socket: dial() sees 'stopped' and cleans up.
      conn.socket?.destroy();
      this.conn = null;
      return;
    }
    const closed = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    if (ws.readyState === WebSocket.OPEN) {
      conn.close(code, reason);
    } else {
      ws.terminate();
      conn.socket?.destroy();
    }
    await closed;
  }

  // ---- state ---------------------------------------------------------------

  private safeEmit<K extends keyof LinkEvents>(event: K, ...args: LinkEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: LinkEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      // A listener's bug must not take the link down with it.
      this.log.error({ event, err }, 'link listener failed');
    }
  }

  private clearLinkTimers(): void {
    this.clock.clearTimeout(this.backoffTimer);
    this.backoffTimer = null;
    this.clock.clearTimeout(this.dialTimer);
    this.dialTimer = null;
  }

  // ---- dialling ------------------------------------------------------------

  private async dial(): Promise<void> {
    if (this.dials++ > 0) this.stats.reconnectAttempts++;
    const conn = new LinkConnection({ id: ++this.sessionSeq, clock: this.clock, log: this.log, closeTimeoutMs: this.closeTimeoutMs });
    this.conn = conn;
    const abort = new AbortController();
    this.dialAbort = abort;
    this.dialTimer = this.clock.setTimeout(() => {
      this.dialTimer = null;
      abort.abort(new LinkError('CONNECT_TIMEOUT', `no connection to the controller within ${this.connectTimeoutMs} ms`));
    }, this.connectTimeoutMs);
    const stale = (): boolean => this.conn !== conn || this.machine.state !== 'connecting';
    try {
      const token = await this.readTokenChecked();
      abort.signal.throwIfAborted();
      if (stale()) return;
      const socket = await this.openSocket(abort.signal);
      conn.socket = socket;
      if (stale()) {
        socket.destroy();
        return;
      }
      this.attachWebSocket(conn, socket, token, abort.signal);
    } catch (err) {
      conn.socket?.destroy();
      if (stale()) return;
      conn.fail(err instanceof LinkError ? err : new LinkError('CONNECT_FAILED', brief(err), { cause: err }));
      this.connectionEnded(conn);
    }
  }

  private async readTokenChecked(): Promise<string> {
    let token: string;
    try {
      token = (await this.opts.readToken()).trim();
    } catch (err) {
      throw new LinkError('TOKEN_UNREADABLE', brief(err));
    }
    if (token === '') throw new LinkError('TOKEN_UNREADABLE', 'the controller token is empty');
    // Checked here so the failure names the token, not a header error from deep inside http.
    if (!/^[\x21-\x7e]+$/.test(token)) throw new LinkError('TOKEN_UNREADABLE', 'the controller token has characters an HTTP header cannot carry');
    return token;
  }

  /** TLS options of every dial: system roots + caFile, hostname check on, pin when set, client cert. */
  private tlsOptions(atStart = false): ConnectionOptions {
    return controllerTlsOptions(this.controller, atStart);
  }

  /** TCP (or a CONNECT tunnel), then TLS when wss://; resolves when the socket is ready for HTTP. */
  private openSocket(signal: AbortSignal): Promise<Socket> {
    return openControllerSocket(
      {
        host: this.host,
        port: this.port,
        proxy: this.proxy?.url ?? null,
        // The password reference belongs to controller.proxy, never to a proxy from the environment.
        proxyPassword: this.proxy?.source === 'controller.proxy' ? (this.opts.readProxyPassword ?? null) : null,
        tls: this.secure ? () => this.tlsOptions() : null,
      },
      signal,
    );
  }

  private attachWebSocket(conn: LinkConnection, socket: Socket, token: string, signal: AbortSignal): void {
    const attached = conn.attach(socket, {
      url: this.url,
      headers: {
        Authorization: `Bearer ${token}`,
        'X-Credgw-Gateway': this.opts.gatewayId,
        'X-Credgw-Cluster': this.opts.clusterId,
        'User-Agent': `credgw/${this.opts.version}`,
      },
      peer: `${this.host}:${this.port}`,
      signal,
      hooks: {
        open: () => {
          this.clock.clearTimeout(this.dialTimer);
          this.dialTimer = null;
          this.dialAbort = null;
          this.onOpen(conn);
        },
        frame: (data, isBinary) => this.onFrame(conn, data, isBinary),
        closed: (code, reason) => this.onClose(conn, code, reason),
      },
    });
    if (!attached) this.connectionEnded(conn);
  }

  // ---- an open connection --------------------------------------------------

  private onOpen(conn: LinkConnection): void {
    if (this.conn !== conn || this.machine.state !== 'connecting') return;
    conn.openedAt = this.clock.monotonic();
    this.machine.transition('handshaking', 'socket open');
    const hello: HelloMessage = {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      gatewayId: this.opts.gatewayId,
      clusterId: this.opts.clusterId,
      version: this.opts.version,
      priority: this.opts.priority,
      capabilities: [...(this.opts.capabilities ?? CAPABILITIES)],
      vaults: this.vaultHealthSafe(),
    };
    conn.ws?.send(encode(hello));
    this.log.debug({ session: conn.id }, 'hello sent');
    conn.awaitWelcome(this.welcomeTimeoutMs);
  }

  private vaultHealthSafe(): VaultHealth[] {
    try {
      return this.opts.vaultHealth();
    } catch (err) {
      // The hello must still go out; the next health frame corrects it.
      this.log.error({ err }, 'vault health unavailable for hello');
      return [];
    }
  }

  private onFrame(conn: LinkConnection, data: RawData, isBinary: boolean): void {
    if (this.conn !== conn || conn.closing) return;
    const frame = conn.read(data, isBinary);
    if (!frame) return;
    const { decoded, bytes } = frame;
    switch (decoded.kind) {
      case 'violation':
        this.violation(conn, decoded.reason, bytes);
        return;
      case 'rejected':
        if (this.machine.state !== 'up') {
          this.violation(conn, 'command before welcome', bytes);
          return;
        }
        this.log.info({ session: conn.id, id: decoded.id, code: decoded.code, reason: decoded.message }, 'command rejected');
        this.safeEmit('rejected', decoded, conn.session);
        return;
      case 'message':
        break;
    }
    const message = decoded.message;
    if (message.type === 'welcome') {
      if (this.machine.state !== 'handshaking') {
        this.violation(conn, 'welcome after welcome', bytes);
        return;
      }
      this.onWelcome(conn, message);
      return;
    }
    if (this.machine.state !== 'up') {
      this.violation(conn, `${message.type} before welcome`, bytes);
      return;
    }
    if (message.type === 'role') {
      this.safeEmit('role', message, conn.session);
    } else {
      this.safeEmit('command', message, conn.session);
    }
  }

  private onWelcome(conn: LinkConnection, welcome: WelcomeMessage): void {
    conn.up(welcome.heartbeatMs, () => this.safeEmit('heartbeat'));
    this.connectedSinceMs = this.clock.now();
    this.stats.connects++;
    this.currentSession = conn.session;
    this.machine.transition('up', 'welcome');
    this.log.info({ session: conn.id, role: welcome.role, epoch: welcome.epoch, heartbeatMs: welcome.heartbeatMs }, 'controller link up');
    this.safeEmit('welcome', welcome, conn.session);
  }

  private violation(conn: LinkConnection, reason: string, bytes: number): void {
    this.stats.violations++;
    conn.violation(reason, bytes);
  }

  private onClose(conn: LinkConnection, code: number, reason: string): void {
    if (!conn.markClosed()) return;
    if (this.conn !== conn) return;
    if (conn.openedAt !== null) {
      this.stats.disconnects++;
      this.log.info({ session: conn.id, code, reason: reason.slice(0, 123) }, 'controller connection down');
      this.safeEmit('down', { code, reason }, conn.session);
    }
    if (!conn.failure) conn.failure = conn.failureFromClose(code, reason);
    this.connectionEnded(conn);
  }

  /** The connection is over (failed dial or closed socket): back off and dial again, unless stopped. */
  private connectionEnded(conn: LinkConnection): void {
    if (this.conn !== conn) return;
    this.conn = null;
    this.currentSession = null;
    this.connectedSinceMs = null;
    this.clock.clearTimeout(this.dialTimer);
    this.dialTimer = null;
    this.dialAbort = null;
    if (this.machine.state === 'stopped') {
      const waiters = this.stopWaiters;
      this.stopWaiters = [];
      for (const resolve of waiters) resolve();
      return;
    }
    const failure = conn.failure ?? new LinkError('CLOSED', 'connection ended');
    if (conn.upAt !== null && this.clock.monotonic() - conn.upAt >= BACKOFF_RESET_AFTER_MS) this.attempt = 0;
    let delayMs: number;
    const attempt = this.attempt;
    if (REFUSED.has(failure.code)) {
      delayMs = refusedDelay(this.policy);
      this.attempt = Math.max(this.attempt, this.attemptsToCap);
    } else {
      delayMs = backoffDelay(this.attempt, this.policy, this.random);
      this.attempt++;
    }
    const { level, msg } = FAILURE_LOG[failure.code];
    this.log[level](
      { code: failure.code, detail: failure.message, session: conn.id, delayMs, attempt, ...(this.proxy ? { proxy: redactProxy(this.proxy.url) } : {}) },
      msg,
    );
    this.machine.transition('backoff', failure.code);
    this.safeEmit('backoff', { delayMs, attempt, code: failure.code });
    this.backoffTimer = this.clock.setTimeout(() => {
      this.backoffTimer = null;
      if (this.machine.state !== 'backoff') return;
      this.machine.transition('connecting', 'retry');
      void this.dial();
    }, delayMs);
  }
}
