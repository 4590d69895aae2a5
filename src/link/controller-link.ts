import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import type { ControllerConfig } from '../config/index.js';
import {
  CAPABILITIES,
  CloseCode,
  PROTOCOL_VERSION,
  WELCOME_TIMEOUT_MS,
  type GatewayMessage,
  type HelloMessage,
  type VaultHealth,
  type WelcomeMessage,
} from '../protocol/index.js';
import type { Clock, TimerHandle } from '../shared/index.js';
import { StateMachine, stripBrackets } from '../shared/index.js';
import { BACKOFF_RESET_AFTER_MS, DEFAULT_BACKOFF, ReconnectBackoff } from './backoff.js';
import { brief, controllerTlsOptions, openControllerSocket, readControllerToken } from './dial.js';
import { FAILURE_LOG } from './failure-log.js';
import { LinkError } from './link-errors.js';
import { LinkConnection } from './link-connection.js';
import type { LinkCounters, LinkEvents, LinkSession } from './link-events.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, type ControllerLinkOptions } from './link-options.js';
import { LINK_TRANSITIONS, type LinkState } from './link-state.js';
import { effectivePort, redactProxy, resolveProxy, type ProxyTarget } from './proxy.js';

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
  private readonly backoff: ReconnectBackoff;
  private readonly welcomeTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly opts: ControllerLinkOptions;

  private readonly machine: StateMachine<LinkState>;
  private conn: LinkConnection | null = null;
  private sessionSeq = 0;
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
    this.backoff = new ReconnectBackoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? Math.random);
    this.welcomeTimeoutMs = options.welcomeTimeoutMs ?? WELCOME_TIMEOUT_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    // No logger given to the machine: the link logs its own 'link state' line, at info.
    this.machine = new StateMachine<LinkState>('link', 'idle', LINK_TRANSITIONS);
    this.machine.onTransition(({ from, to, reason }) => {
      this.log.info({ from, to, reason }, 'link state');
      this.safeEmit('state', { from, to, reason });
    });

    // The URL, the cert/key pairing and the pin were checked by config/compile.ts.
    const url = new URL(this.controller.url);
    this.url = url;
    this.secure = url.protocol === 'wss:';
    this.host = stripBrackets(url.hostname);
    this.port = effectivePort(url);
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
    if (!conn) return;
    // Nothing to wait for while the dial has no socket yet: dial() sees 'stopped' and cleans up.
    if (!conn.shutdown(code, reason)) {
      this.conn = null;
      return;
    }
    // The close always comes later than now (ws reports it from the socket's events).
    await new Promise<void>((resolve) => this.stopWaiters.push(resolve));
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
    let socket: Socket | null = null;
    try {
      const token = await readControllerToken(this.opts.readToken);
      abort.signal.throwIfAborted();
      if (stale()) return;
      socket = await this.openSocket(abort.signal);
      if (stale()) {
        socket.destroy();
        return;
      }
      this.attachWebSocket(conn, socket, token, abort.signal);
    } catch (err) {
      socket?.destroy();
      if (stale()) return;
      conn.dialFailed(err instanceof LinkError ? err : new LinkError('CONNECT_FAILED', brief(err), { cause: err }));
      this.connectionEnded(conn);
    }
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
      request: { url: this.url, token, gatewayId: this.opts.gatewayId, clusterId: this.opts.clusterId, userAgent: `credgw/${this.opts.version}` },
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
    conn.opened(this.welcomeTimeoutMs);
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
    conn.sendHello(hello);
    this.log.debug({ session: conn.id }, 'hello sent');
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
    if (this.conn !== conn) return;
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
    } else if (message.type === 'ack') {
      this.safeEmit('ack', message.id, conn.session);
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

  /** The connection's socket closed (LinkConnection has recorded why). */
  private onClose(conn: LinkConnection, code: number, reason: string): void {
    if (this.conn !== conn) return;
    if (conn.reachedOpen) {
      this.stats.disconnects++;
      this.log.info({ session: conn.id, code, reason: reason.slice(0, 123) }, 'controller connection down');
      this.safeEmit('down', { code, reason }, conn.session);
    }
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
    const failure = conn.endedBy;
    if (conn.stayedUpFor(BACKOFF_RESET_AFTER_MS)) this.backoff.reset();
    const { delayMs, attempt } = this.backoff.next(failure.code);
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
