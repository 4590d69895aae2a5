import type { Socket } from 'node:net';
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
  type ControllerMessage,
  type Decoded,
  type GatewayMessage,
  type HelloMessage,
  type ResultDelivery,
  type ResultMessage,
  type VersionMismatch,
} from '../protocol/index.js';
import type { Clock } from '../shared/index.js';
import { isTlsVerificationError } from '../tls/index.js';
import { failureFromClose } from './close-failure.js';
import {
  checkConnectionTransition,
  illegalConnectionTransition,
  reached,
  type ConnectionState,
  type ConnectionStateKind,
} from './connection-state.js';
import { brief, upgrade, type UpgradeRequest } from './dial.js';
import { Heartbeat } from './heartbeat.js';
import { LinkError } from './link-errors.js';
import type { LinkSession } from './link-events.js';
import { ViolationWindow } from './violations.js';

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
  /** The upgrade request: URL, token, gateway and cluster ids, User-Agent. */
  request: UpgradeRequest;
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

function uncork(socket: Socket): void {
  socket.uncork();
}

/**
 * One dial of the link: its state (connection-state.ts) with the socket,
 * WebSocket and timers (welcome, close handshake, heartbeat) of that state,
 * sending and closing, and why it ended. What the frames mean and what the
 * link does next stays in ControllerLink.
 */
export class LinkConnection {
  readonly id: number;
  readonly session: LinkSession;
  private state: ConnectionState = { kind: 'dialing' };
  /** Why the connection ended, decided by whoever saw it first. */
  private failure: LinkError | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly closeTimeoutMs: number;
  private readonly violations: ViolationWindow;
  /** ws.send's completion callback, one per connection (docs/benchmarks.md, gateway). */
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
        return conn.openWs() !== null;
      },
      send: (message: GatewayMessage): boolean => this.send(message) !== 'gone',
      sendResult: (message: ResultMessage): ResultDelivery => this.send(message),
    });
  }

  /** The state's name (see ConnectionState). */
  get kind(): ConnectionStateKind {
    return this.state.kind;
  }

  /** The WebSocket opened (hello could go out), whether or not the connection has ended since. */
  get reachedOpen(): boolean {
    const was = reached(this.state).kind;
    return was === 'open' || was === 'up';
  }

  /** Why the connection ended: the first failure recorded, else CLOSED. */
  get endedBy(): LinkError {
    return this.failure ?? new LinkError('CLOSED', 'connection ended');
  }

  /** True when the connection was welcomed at least `ms` ago (it may have ended since). */
  stayedUpFor(ms: number): boolean {
    const was = reached(this.state);
    return was.kind === 'up' && this.clock.monotonic() - was.upAt >= ms;
  }

  /** Welcome received and heard from within the liveness deadline (checked now, not at the next timer). */
  get live(): boolean {
    const s = this.state;
    return s.kind === 'up' && s.heartbeat.running && !s.heartbeat.overdue;
  }

  /** Records why the connection ended; the first failure wins. */
  fail(failure: LinkError): void {
    this.failure ??= failure;
  }

  /** The dial failed before a WebSocket existed: records why; the connection is closed. */
  dialFailed(failure: LinkError): void {
    this.fail(failure);
    this.transition({ kind: 'closed', was: reached(this.state) }, failure.code);
  }

  /**
   * Hands the connected socket to the upgrade (dial.ts) and wires the
   * WebSocket's events to `hooks`. False when ws refused to start (the
   * failure is recorded, the socket destroyed, the connection closed).
   */
  attach(socket: Socket, options: AttachOptions): boolean {
    const { signal, hooks } = options;
    let ws: WebSocket;
    try {
      ws = upgrade({ ...options.request, socket, refused: ({ error }) => this.fail(error) });
    } catch (err) {
      this.dialFailed(err instanceof LinkError ? err : new LinkError('CONNECT_FAILED', brief(err)));
      return false;
    }
    this.transition({ kind: 'upgrading', socket, ws }, 'upgrade sent');
    const onAbort = (): void => {
      this.fail(signal.reason instanceof LinkError ? signal.reason : new LinkError('CONNECT_TIMEOUT', 'dial aborted'));
      ws.terminate();
      socket.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    ws.on('open', () => {
      signal.removeEventListener('abort', onAbort);
      hooks.open();
    });
    ws.on('message', (data, isBinary) => hooks.frame(data, isBinary));
    ws.on('ping', () => this.heard(true));
    ws.on('pong', () => this.heard(false));
    ws.on('error', (err: Error & { code?: string }) => {
      if (typeof err.code === 'string' && err.code.startsWith('WS_ERR_')) {
        // ws has already started the close it prescribes (1009 too big, 1007 bad UTF-8, …).
        this.fail(new LinkError('PROTOCOL_ERROR', `controller sent a bad frame: ${err.message}`));
      } else if (isTlsVerificationError(err)) {
        // TLS 1.3 reports a refused client certificate only after the handshake looked done.
        this.fail(new LinkError('TLS_ERROR', `TLS with ${options.peer} failed: ${brief(err)}`, { cause: err }));
      } else {
        this.fail(new LinkError(this.reachedOpen ? 'CLOSED' : 'CONNECT_FAILED', brief(err)));
      }
    });
    ws.on('close', (code, reason) => {
      signal.removeEventListener('abort', onAbort);
      const text = reason.toString('utf8');
      if (this.markClosed(code, text)) hooks.closed(code, text);
    });
    return true;
  }

  /** The WebSocket opened: fails the connection (WELCOME_TIMEOUT, close 4000) unless welcomed within `welcomeTimeoutMs`. */
  opened(welcomeTimeoutMs: number): void {
    const s = this.state;
    if (s.kind !== 'upgrading') throw illegalConnectionTransition(s.kind, 'open', 'socket open');
    const welcomeTimer = this.clock.setTimeout(() => {
      this.fail(new LinkError('WELCOME_TIMEOUT', `no welcome within ${welcomeTimeoutMs} ms`));
      this.close(CloseCode.PROTOCOL_ERROR, 'no welcome');
    }, welcomeTimeoutMs);
    this.transition({ kind: 'open', socket: s.socket, ws: s.ws, welcomeTimer, openAt: this.clock.monotonic() }, 'socket open');
  }

  /** Sends hello, straight away rather than batched with the turn's frames; nothing when the connection is no longer open. */
  sendHello(hello: HelloMessage): void {
    const s = this.state;
    if (s.kind === 'open') s.ws.send(encode(hello));
  }

  /** Welcome received: the welcome timer stops, heartbeats (every `heartbeatMs`, calling `onPing`) start. */
  up(heartbeatMs: number, onPing: () => void): void {
    const s = this.state;
    if (s.kind !== 'open') throw illegalConnectionTransition(s.kind, 'up', 'welcome');
    this.clock.clearTimeout(s.welcomeTimer);
    const ws = s.ws;
    const heartbeat = new Heartbeat({
      clock: this.clock,
      intervalMs: heartbeatMs,
      livenessHeartbeats: LIVENESS_HEARTBEATS,
      ping: () => {
        if (ws.readyState === WebSocket.OPEN) ws.ping();
        onPing();
      },
      dead: (silentMs, side) => {
        const what = side === 'heard' ? 'nothing heard' : 'nothing sent (the controller may have moved the role)';
        this.fail(new LinkError('LIVENESS', `${what} for ${silentMs} ms (heartbeat ${heartbeatMs} ms)`));
        ws.terminate();
      },
    });
    this.transition({ kind: 'up', socket: s.socket, ws, upAt: this.clock.monotonic(), heartbeat }, 'welcome');
    heartbeat.start(s.openAt);
  }

  /**
   * Reads one data frame. Null when there is nothing for the link to act
   * on: the connection is closing or dead, or the frame was binary or of
   * another protocol version (the connection is then failed and closing).
   */
  read(data: RawData, isBinary: boolean): { decoded: Exclude<Decoded<ControllerMessage>, VersionMismatch>; bytes: number } | null {
    const s = this.state;
    if (s.kind !== 'open' && s.kind !== 'up') return null;
    // A frame read after the liveness deadline passed (the process was
    // stopped or starved) may be a command of an epoch that has moved on:
    // the connection is dead (LIVENESS) and the frame is not acted on.
    if (s.kind === 'up' && !s.heartbeat.heard()) return null;
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
    const open = this.openWs();
    if (open === null) {
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
    // The frames of one event-loop turn leave in one write (docs/benchmarks.md, gateway).
    const socket = open.socket;
    if (socket.writableCorked === 0) {
      socket.cork();
      setImmediate(uncork, socket);
    }
    open.ws.send(text, this.onSent);
    return delivery;
  }

  /** Starts a close handshake we own (when open); destroys the socket if it is not done in closeTimeoutMs. */
  close(code: number, reason: string): void {
    const s = this.state;
    if (s.kind !== 'open' && s.kind !== 'up') return;
    this.stopTimers();
    const { ws, socket } = s;
    const closeTimer = this.clock.setTimeout(() => ws.terminate(), this.closeTimeoutMs);
    this.transition({ kind: 'closing', socket, ws, closeTimer, was: s }, reason);
    ws.close(code, closeReason(reason));
  }

  /**
   * The link stops: closes with `code` when open, kills a connection still
   * upgrading or closing. False when there is no socket to wait for (the
   * dial had none yet, or the connection is closed).
   */
  shutdown(code: number, reason: string): boolean {
    const s = this.state;
    switch (s.kind) {
      case 'closed':
        return false;
      case 'dialing':
        // dial() sees the link stopped and destroys what it opens.
        this.transition({ kind: 'closed', was: s }, reason);
        return false;
      case 'open':
      case 'up':
        if (s.ws.readyState === WebSocket.OPEN) {
          this.close(code, reason);
          return true;
        }
        break;
      case 'upgrading':
      case 'closing':
        break;
    }
    this.stopTimers();
    s.ws.terminate();
    s.socket.destroy();
    return true;
  }

  /** The WebSocket and socket of an open connection, or null when there is none to send on. */
  private openWs(): { ws: WebSocket; socket: Socket } | null {
    const s = this.state;
    return (s.kind === 'open' || s.kind === 'up') && s.ws.readyState === WebSocket.OPEN ? s : null;
  }

  /** A ping from the controller (`answered`: ws has sent our pong already) or a pong arrived. */
  private heard(answered: boolean): void {
    const s = this.state;
    // heard() first: a pong sent on waking from a stall does not undo a deadline that passed meanwhile.
    if (s.kind === 'up' && s.heartbeat.heard() && answered) s.heartbeat.sent();
  }

  private transition(next: ConnectionState, reason: string): void {
    const from = this.state.kind;
    this.state = checkConnectionTransition(this.state, next, reason);
    this.log.debug({ session: this.id, from, to: next.kind, reason }, 'connection state');
  }

  /** Stops the current state's timers: the welcome timer, the heartbeat, the close timer. */
  private stopTimers(): void {
    const s = this.state;
    if (s.kind === 'open') this.clock.clearTimeout(s.welcomeTimer);
    else if (s.kind === 'up') s.heartbeat.stop();
    else if (s.kind === 'closing') this.clock.clearTimeout(s.closeTimer);
  }

  /** The socket closed: records what the close stands for, stops every timer, destroys the socket. False when it was already closed. */
  private markClosed(code: number, reason: string): boolean {
    const s = this.state;
    if (s.kind === 'closed' || s.kind === 'dialing') return false;
    this.fail(failureFromClose(code, reason, this.reachedOpen));
    this.stopTimers();
    this.transition({ kind: 'closed', was: reached(s) }, `closed with ${code}`);
    s.socket.destroy();
    return true;
  }
}
