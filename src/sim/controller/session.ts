import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { CloseCode, LIVENESS_HEARTBEATS, decodeGatewayFrame, encodeEventFrame, truncate, type EventMessage } from '../../protocol/index.js';
import type { Clock, TimerHandle } from '../../shared/index.js';
import type { EventStore } from './event-store.js';
import type { ControllerHub } from './hub.js';
import type { GatewayPeer } from './hub-types.js';

/**
 * A gateway's WebSocket as the controller serves it (protocol sections 2
 * and 3): hello first and in time, frames decoded and handed to the hub,
 * protocol violations counted, pings and the liveness rule.
 */

/** What every session shares with the server that accepted it. */
export interface SessionContext {
  hub: ControllerHub;
  /** Where `event` frames are stored; each is acked once stored. */
  events: EventStore;
  clock: Clock;
  log: Logger;
  /** Our ping interval; a gateway silent for LIVENESS_HEARTBEATS of these is cut. */
  heartbeatMs: number;
  /** A connection must say hello within this time (ms). */
  helloTimeoutMs: number;
  /** Unusable frames in VIOLATION_WINDOW_MS that close the connection (4000). */
  maxViolations: number;
  /** The server's open sessions; a session leaves it when its socket closes. */
  sessions: Set<Session>;
}

const VIOLATION_WINDOW_MS = 60_000;

/** One WebSocket connection, from upgrade to close. */
export class Session implements GatewayPeer {
  /** awaiting-hello → joined → closed; or awaiting-hello → closed. */
  state: 'awaiting-hello' | 'joined' | 'closed' = 'awaiting-hello';
  withholding = false;
  private lastHeard: number;
  private violations: number[] = [];
  private heartbeat: TimerHandle | null = null;
  private helloTimer: TimerHandle | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly gatewayId: string,
    readonly clusterId: string,
    private readonly ctx: SessionContext,
  ) {
    this.lastHeard = ctx.clock.monotonic();
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer | Buffer[], isBinary));
    ws.on('ping', (data) => {
      this.heard();
      if (!this.withholding) ws.pong(data);
    });
    ws.on('pong', () => this.heard());
    ws.on('error', (err) => ctx.log.warn({ gatewayId, err: { message: err.message, code: (err as { code?: string }).code } }, 'gateway socket error'));
    ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
    this.helloTimer = ctx.clock.setTimeout(() => {
      if (this.state === 'awaiting-hello') this.close(CloseCode.PROTOCOL_ERROR, 'no hello in time');
    }, ctx.helloTimeoutMs);
    this.scheduleHeartbeat();
  }

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(text, (err) => {
      if (err) this.ctx.log.warn({ gatewayId: this.gatewayId, err: { message: err.message } }, 'send to gateway failed');
    });
  }

  /** Leaves the cluster at once (so promotion does not wait for the close handshake), then closes. */
  close(code: number, reason: string): void {
    this.detach(code === CloseCode.REPLACED ? 'replaced' : 'closed');
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  terminate(reason: 'liveness' | 'closed'): void {
    this.detach(reason);
    this.ws.terminate();
  }

  private detach(reason: 'liveness' | 'closed' | 'replaced'): void {
    if (this.state === 'closed') return;
    const wasJoined = this.state === 'joined';
    this.state = 'closed';
    this.stopTimers();
    if (wasJoined) this.ctx.hub.leave(this, reason);
  }

  private stopTimers(): void {
    this.ctx.clock.clearTimeout(this.heartbeat);
    this.ctx.clock.clearTimeout(this.helloTimer);
    this.heartbeat = null;
    this.helloTimer = null;
  }

  private heard(): void {
    this.lastHeard = this.ctx.clock.monotonic();
  }

  /** Pings every heartbeatMs; terminates a connection silent for 3 × heartbeatMs (section 2). */
  private scheduleHeartbeat(): void {
    this.ctx.clock.clearTimeout(this.heartbeat);
    this.heartbeat = this.ctx.clock.setTimeout(() => {
      this.heartbeat = null;
      if (this.state === 'closed') return;
      const silentFor = this.ctx.clock.monotonic() - this.lastHeard;
      if (silentFor >= LIVENESS_HEARTBEATS * this.ctx.heartbeatMs) {
        this.ctx.log.warn({ gatewayId: this.gatewayId, silentFor }, 'gateway silent, terminating');
        this.terminate('liveness');
        return;
      }
      if (!this.withholding && this.ws.readyState === this.ws.OPEN) this.ws.ping();
      this.scheduleHeartbeat();
    }, this.ctx.heartbeatMs);
  }

  private onClose(code: number, reason: string): void {
    this.ctx.sessions.delete(this);
    this.ctx.log.info({ gatewayId: this.gatewayId, code, reason: truncate(reason, 120) }, 'gateway connection closed');
    this.detach('closed');
  }

  private violation(reason: string): void {
    const now = this.ctx.clock.monotonic();
    this.violations = this.violations.filter((t) => now - t < VIOLATION_WINDOW_MS);
    this.violations.push(now);
    this.ctx.log.warn({ gatewayId: this.gatewayId, reason: truncate(reason, 200), count: this.violations.length }, 'protocol violation');
    if (this.violations.length >= this.ctx.maxViolations) this.close(CloseCode.PROTOCOL_ERROR, 'too many protocol errors');
  }

  /**
   * Stores an event (either role sends them) and acks it once stored, a
   * repeat too: the gateway re-sends until acked. Not stored, not acked:
   * the gateway sends it again after its next welcome.
   */
  private storeEvent(msg: EventMessage): void {
    const fields = { gatewayId: this.gatewayId, clusterId: this.clusterId, id: msg.id };
    this.ctx.events.record(this.clusterId, this.gatewayId, msg).then(
      (outcome) => {
        if (outcome === 'repeat') this.ctx.log.debug(fields, 'event repeat acked');
        this.send(encodeEventFrame({ type: 'ack', id: msg.id }));
      },
      (err: unknown) => this.ctx.log.warn({ ...fields, err }, 'event not stored, not acked'),
    );
  }

  private onMessage(data: Buffer | Buffer[], isBinary: boolean): void {
    this.heard();
    if (this.state === 'closed') return;
    if (isBinary) {
      this.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not allowed');
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data).toString('utf8');
    const decoded = decodeGatewayFrame(text);
    if (decoded.kind === 'version') {
      this.close(CloseCode.UNSUPPORTED_VERSION, 'unsupported protocol version');
      return;
    }
    if (decoded.kind !== 'message') {
      this.violation(decoded.kind === 'violation' ? decoded.reason : 'unexpected frame');
      return;
    }
    const msg = decoded.message;
    try {
      if (this.state === 'awaiting-hello') {
        if (msg.type !== 'hello') {
          this.close(CloseCode.PROTOCOL_ERROR, 'the first frame must be hello');
          return;
        }
        if (msg.gatewayId !== this.gatewayId || msg.clusterId !== this.clusterId) {
          this.close(CloseCode.PROTOCOL_ERROR, 'hello does not match the X-Credgw headers');
          return;
        }
        this.ctx.clock.clearTimeout(this.helloTimer);
        this.helloTimer = null;
        this.state = 'joined';
        this.ctx.hub.join(this, msg);
        return;
      }
      switch (msg.type) {
        case 'hello':
          this.violation('hello on a joined connection');
          return;
        case 'result':
          this.ctx.hub.result(this, msg);
          return;
        case 'resign':
          this.ctx.hub.resign(this, msg.epoch);
          return;
        case 'health':
          this.ctx.hub.health(this, msg);
          return;
        case 'event':
          this.storeEvent(msg);
          return;
      }
    } catch (err) {
      // A bug or a failed epoch write: do not go on with this connection in
      // an unknown state.
      this.ctx.log.error({ gatewayId: this.gatewayId, err }, 'gateway frame handling failed');
      this.close(1011, 'internal error');
    }
  }
}
