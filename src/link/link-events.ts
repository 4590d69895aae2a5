import type {
  CommandMessage,
  GatewayMessage,
  RejectedCommand,
  ResultDelivery,
  ResultMessage,
  RoleMessage,
  WelcomeMessage,
} from '../protocol/index.js';
import type { LinkFailureCode } from './link-errors.js';
import type { LinkState } from './link-state.js';

/** What ControllerLink tells the gateway: its events, the session they came on, its counters. */

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
  /**
   * The controller stored the event of this id (protocol section 11). No
   * listener by default: an ack is then dropped, as for an id not pending.
   */
  ack: [id: string, session: LinkSession];
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
