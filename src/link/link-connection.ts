import type { createConnection, Socket } from 'node:net';
import type { Logger } from 'pino';
import WebSocket, { type RawData } from 'ws';
import {
  CloseCode,
  decodeControllerFrame,
  encode,
  exceedsFrame,
  LIVENESS_HEARTBEATS,
  MAX_FRAME_BYTES,
  resultTooLarge,
  SUBPROTOCOL,
  type ControllerMessage,
  type Decoded,
  type VersionMismatch,
  type GatewayMessage,
  type ResultDelivery,
  type ResultMessage,
} from '../protocol/index.js';
import type { Clock, TimerHandle } from '../shared/clock.js';
import { isTlsVerificationError } from '../tls/index.js';
import { brief } from './dial.js';
import { Heartbeat } from './heartbeat.js';
import { LinkError } from './link-errors.js';
import { ViolationWindow } from './violations.js';

/**
 * One controller connection as the rest of the gateway sees it. A command's
 * result is sent on the session the command came in on (protocol section
 * 5); once that connection is gone, send() returns false and the result is
 * dropped: the controller owns retries.
 */
export interface LinkSession {
  /** Increases with every connection this link opens. */
  readonly id: number;
  /** True while this connection's socket is open. */
  readonly open: boolean;
  /** Sends one frame on this connection; false when it is gone (the frame is dropped and logged). */
  send(message: GatewayMessage): boolean;
  /**
   * Sends a command's result; one too large for a frame is replaced by
   * RESULT_TOO_LARGE for the same id (protocol section 5).
   */
  sendResult(message: ResultMessage): ResultDelivery;
}

export interface LinkConnectionOptions {
  /** The session id (increases with every dial of one link). */
  id: number;
  clock: Clock;
  /** The link's logger; every line carries `session: id`. */
  log: Logger;
  /** Longest close handshake we start before the socket is destroyed, in ms. */
  closeTimeoutMs: number;
}

/** What the link hears from a connection's WebSocket once it is attached. */
export interface ConnectionHooks {
  /** The upgrade completed. */
  open(): void;
  /** One data frame, in arrival order. */
  frame(data: RawData, isBinary: boolean): void;
  /** The WebSocket closed. */
  closed(code: number, reason: string): void;
}

export interface AttachOptions {
  url: URL;
  /** Upgrade request headers (the bearer token among them). */
  headers: Record<string, string>;
  /** `host:port`, named in TLS errors. */
  peer: string;
  /** The dial's abort signal (timeout, stop()): aborting kills the connection. */
  signal: AbortSignal;
  hooks: ConnectionHooks;
}

/** Close reasons are at most 123 bytes; ours are short ASCII constants, truncated anyway. */
function closeReason(reason: string): string {
  return reason.length > 120 ? reason.slice(0, 120) : reason;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function uncork(conn: LinkConnection): void {
  conn.corked = false;
  // Not a timer: the end of the event-loop turn the frames were sent in.
  conn.socket?.uncork();
}

/**
 * One dial of the link: its socket and WebSocket, its timers (welcome,
 * close handshake, heartbeat), sending and closing, and why it ended. What
 * the frames mean and what the link does next stays in ControllerLink.
 */
export class LinkConnection {
  readonly id: number;
  readonly session: LinkSession;
  ws: WebSocket | null = null;
  /** The TCP/TLS socket we made for this dial (handed to ws). */
  socket: Socket | null = null;
  /** Why the connection ended, decided by whoever saw it first. */
  failure: LinkError | null = null;
  /** Monotonic time of 'open', null before. */
  openedAt: number | null = null;
  /** Monotonic time of welcome, null before. */
  upAt: number | null = null;
  /** We started a close: later frames are ignored. */
  closing = false;
  closed = false;
  /** The socket is corked until the end of this event-loop turn (see send). */
  corked = false;

  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly closeTimeoutMs: number;
  private welcomeTimer: TimerHandle | null = null;
  private closeTimer: TimerHandle | null = null;
  private heartbeat: Heartbeat | null = null;
  private readonly violations: ViolationWindow;
  /** ws.send's completion callback for this connection (one closure per connection, not per frame). */
  private readonly onSent: (err?: Error) => void;

  constructor(options: LinkConnectionOptions) {
    const id = options.id;
    this.id = id;
    this.clock = options.clock;
    this.log = options.log;
    this.closeTimeoutMs = options.closeTimeoutMs;
    this.violations = new ViolationWindow(this.clock);
    this.onSent = (err?: Error) => {
      if (err) this.log.warn({ session: id, detail: brief(err) }, 'send failed');
    };
    const conn = this;
    this.session = Object.freeze({
      id,
      get open(): boolean {
        return !conn.closed && !conn.closing && conn.ws?.readyState === WebSocket.OPEN;
      },
      send: (message: GatewayMessage): boolean => this.send(message) !== 'gone',
      sendResult: (message: ResultMessage): ResultDelivery => this.send(message),
    });
  }

  /** Records why the connection ended; the first failure wins. */
  fail(failure: LinkError): void {
    this.failure ??= failure;
  }

  /**
   * Hands the connected socket to ws and wires its events to `hooks`.
   * False when ws refused to start (the failure is recorded, the socket destroyed).
   */
  attach(socket: Socket, options: AttachOptions): boolean {
    const { signal, hooks } = options;
    // Errors after the hand-over reach us through ws; this keeps a late
    // socket error between hand-over and ws's own listeners from being unhandled.
    socket.on('error', () => undefined);
    let ws: WebSocket;
    try {
      ws = new WebSocket(options.url, SUBPROTOCOL, {
        // The socket is already connected (and TLS-verified) by the dial.
        createConnection: (() => socket) as unknown as typeof createConnection,
        headers: options.headers,
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
      this.fail(new LinkError('CONNECT_FAILED', brief(err)));
      return false;
    }
    this.ws = ws;
    const onAbort = (): void => {
      this.fail(signal.reason instanceof LinkError ? signal.reason : new LinkError('CONNECT_TIMEOUT', 'dial aborted'));
      ws.terminate();
      socket.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    ws.on('upgrade', (res) => {
      const offered = res.headers['sec-websocket-protocol'];
      if (offered !== SUBPROTOCOL) {
        this.fail(new LinkError('PROTOCOL_MISMATCH', `controller answered subprotocol ${offered === undefined ? '(none)' : JSON.stringify(String(offered).slice(0, 64))} instead of ${SUBPROTOCOL}`));
        ws.terminate();
        socket.destroy();
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      this.fail(
        status === 401
          ? new LinkError('UNAUTHORIZED', 'controller answered the upgrade with HTTP 401')
          : new LinkError('UPGRADE_REFUSED', `controller answered the upgrade with HTTP ${status}`),
      );
      ws.terminate();
      socket.destroy();
    });
    ws.on('open', () => {
      signal.removeEventListener('abort', onAbort);
      hooks.open();
    });
    ws.on('message', (data, isBinary) => hooks.frame(data, isBinary));
    ws.on('ping', () => this.heartbeat?.heard());
    ws.on('pong', () => this.heartbeat?.heard());
    ws.on('error', (err: Error & { code?: string }) => {
      if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
        // ws has already started the close it prescribes (1009 too big, 1007 bad UTF-8, …).
        this.fail(new LinkError('PROTOCOL_ERROR', `controller sent a bad frame: ${err.message}`));
      } else if (isTlsVerificationError(err)) {
        // TLS 1.3 reports a refused client certificate only after the handshake looked done.
        this.fail(new LinkError('TLS_ERROR', `TLS with ${options.peer} failed: ${brief(err)}`, { cause: err }));
      } else {
        this.fail(new LinkError(this.openedAt === null ? 'CONNECT_FAILED' : 'CLOSED', brief(err)));
      }
    });
    ws.on('close', (code, reason) => {
      signal.removeEventListener('abort', onAbort);
      hooks.closed(code, reason.toString('utf8'));
    });
    return true;
  }

  /** Fails the connection (WELCOME_TIMEOUT, close 4000) unless welcomed within `timeoutMs`. */
  awaitWelcome(timeoutMs: number): void {
    this.welcomeTimer = this.clock.setTimeout(() => {
      this.welcomeTimer = null;
      this.fail(new LinkError('WELCOME_TIMEOUT', `no welcome within ${timeoutMs} ms`));
      this.close(CloseCode.PROTOCOL_ERROR, 'no welcome');
    }, timeoutMs);
  }

  /** Welcome received and heard from within the liveness deadline (checked now, not at the next timer). */
  get live(): boolean {
    return this.heartbeat !== null && this.heartbeat.running && !this.heartbeat.overdue;
  }

  /** Welcome received: the welcome timer stops, heartbeats (every `heartbeatMs`, calling `onPing`) start. */
  up(heartbeatMs: number, onPing: () => void): void {
    this.clock.clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    this.upAt = this.clock.monotonic();
    const ws = this.ws;
    this.heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: heartbeatMs,
      livenessHeartbeats: LIVENESS_HEARTBEATS,
      ping: () => {
        if (ws?.readyState === WebSocket.OPEN) ws.ping();
        onPing();
      },
      dead: (silentMs) => {
        this.fail(new LinkError('LIVENESS', `nothing heard for ${silentMs} ms (heartbeat ${heartbeatMs} ms)`));
        ws?.terminate();
      },
    });
    this.heartbeat.start();
  }

  /**
   * Reads one data frame. Null when there is nothing for the link to act
   * on: the connection is dead, or the frame was binary or of another
   * protocol version (the connection is then failed and closing).
   */
  read(data: RawData, isBinary: boolean): { decoded: Exclude<Decoded<ControllerMessage>, VersionMismatch>; bytes: number } | null {
    // A frame read after the liveness deadline passed (the process was
    // stopped or starved) may be a command of an epoch that has moved on:
    // the connection is dead (LIVENESS) and the frame is not acted on.
    if (this.heartbeat && !this.heartbeat.heard()) return null;
    if (isBinary) {
      this.fail(new LinkError('PROTOCOL_ERROR', 'controller sent a binary frame'));
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not accepted');
      return null;
    }
    const bytes = toBuffer(data);
    const decoded = decodeControllerFrame(bytes.toString('utf8'));
    if (decoded.kind === 'version') {
      this.fail(new LinkError('VERSION_MISMATCH', decoded.reason));
      this.close(CloseCode.UNSUPPORTED_VERSION, 'unsupported protocol version');
      return null;
    }
    return { decoded, bytes: bytes.length };
  }

  /** Records a protocol violation (section 8); the 10th within a minute closes the connection 4000. */
  violation(reason: string, bytes: number): void {
    const { count, exceeded } = this.violations.record();
    // The reason only: a frame's text may be a command carrying secrets.
    this.log.warn({ session: this.id, reason, bytes, count }, 'protocol violation');
    if (exceeded) {
      this.fail(new LinkError('PROTOCOL_ERROR', `${count} protocol violations within a minute`));
      this.close(CloseCode.PROTOCOL_ERROR, 'too many protocol violations');
    }
  }

  /** Sends one frame; only a result can come back `replaced` (a larger frame of another type is dropped as `gone`). */
  send(message: GatewayMessage): ResultDelivery {
    const ws = this.ws;
    if (this.closed || this.closing || !ws || ws.readyState !== WebSocket.OPEN) {
      if (message.type === 'result') this.log.warn({ session: this.id, id: message.id }, 'result dropped, connection gone');
      else this.log.debug({ session: this.id, type: message.type }, 'frame dropped, connection gone');
      return 'gone';
    }
    let text = encode(message);
    let delivery: ResultDelivery = 'sent';
    if (exceedsFrame(text)) {
      const bytes = Buffer.byteLength(text);
      if (message.type !== 'result') {
        this.log.error({ session: this.id, type: message.type, bytes }, 'frame too big, not sent');
        return 'gone';
      }
      this.log.warn({ session: this.id, id: message.id, bytes, limit: MAX_FRAME_BYTES }, 'result too large for a frame, sent RESULT_TOO_LARGE');
      text = encode(resultTooLarge(message, bytes));
      delivery = 'replaced';
    }
    // Frames sent in one event-loop turn (results of commands that finished
    // together) leave in one write: the socket stays corked until the turn ends.
    const socket = this.socket;
    if (socket && !this.corked) {
      this.corked = true;
      socket.cork();
      setImmediate(uncork, this);
    }
    ws.send(text, this.onSent);
    return delivery;
  }

  /** Starts a close handshake we own; destroys the socket if it is not done in closeTimeoutMs. */
  close(code: number, reason: string): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.stopTimers();
    const ws = this.ws;
    if (!ws) return;
    ws.close(code, closeReason(reason));
    this.closeTimer = this.clock.setTimeout(() => {
      this.closeTimer = null;
      ws.terminate();
    }, this.closeTimeoutMs);
  }

  /** Stops the welcome timer and the heartbeat. */
  stopTimers(): void {
    this.clock.clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    this.heartbeat?.stop();
  }

  /** The socket closed: stops every timer and destroys the socket. False when it was already closed. */
  markClosed(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.stopTimers();
    this.clock.clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.socket?.destroy();
    return true;
  }

  /** The failure a close by the peer (or a socket that went away) stands for. */
  failureFromClose(code: number, reason: string): LinkError {
    const detail = `closed with ${code}${reason ? ` (${reason.slice(0, 123)})` : ''}`;
    switch (code) {
      case CloseCode.UNAUTHORIZED:
        return new LinkError('UNAUTHORIZED', `controller ${detail}`);
      case CloseCode.UNSUPPORTED_VERSION:
        return new LinkError('VERSION_MISMATCH', `controller ${detail}`);
      case CloseCode.PROTOCOL_ERROR:
        return new LinkError('PROTOCOL_ERROR', `controller ${detail}`);
      case CloseCode.REPLACED:
        return new LinkError('REPLACED', `controller ${detail}`);
      default:
        return new LinkError(this.openedAt === null ? 'CONNECT_FAILED' : 'CLOSED', `connection ${detail}`);
    }
  }
}
