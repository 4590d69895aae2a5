import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { TimerHandle } from '../shared/index.js';
import { IllegalTransitionError, type TransitionTable } from '../shared/index.js';
import type { Heartbeat } from './heartbeat.js';

/**
 * The state of one dial of the link, each state with the data only it has
 * (ws `_readyState`, Temporal worker `State`): a socket exists from
 * 'upgrading' on, a heartbeat only while 'up'. Changed only through
 * LinkConnection's transition, which checks CONNECTION_TRANSITIONS.
 */
export type ConnectionState = DialingState | UpgradingState | OpenState | UpState | ClosingState | ClosedState;

/** Reading the token, opening TCP (or the proxy tunnel) and TLS: nothing of ours to close yet. */
export interface DialingState {
  readonly kind: 'dialing';
}

/** The HTTP upgrade is on its way over `socket`. */
export interface UpgradingState {
  readonly kind: 'upgrading';
  readonly socket: Socket;
  readonly ws: WebSocket;
}

/** WebSocket open, hello sent; `welcomeTimer` fails the connection if no welcome comes. */
export interface OpenState {
  readonly kind: 'open';
  readonly socket: Socket;
  readonly ws: WebSocket;
  readonly welcomeTimer: TimerHandle;
  /** Monotonic ms of the open, just before hello went out: the controller has heard from us since, at the latest. */
  readonly openAt: number;
}

/** Welcomed at `upAt` (monotonic ms): frames are acted on, `heartbeat` runs. */
export interface UpState {
  readonly kind: 'up';
  readonly socket: Socket;
  readonly ws: WebSocket;
  readonly upAt: number;
  readonly heartbeat: Heartbeat;
}

/** We started a close handshake: frames are ignored; `closeTimer` kills the socket if the handshake hangs. */
export interface ClosingState {
  readonly kind: 'closing';
  readonly socket: Socket;
  readonly ws: WebSocket;
  readonly closeTimer: TimerHandle;
  /** The state the close started from. */
  readonly was: OpenState | UpState;
}

/** The socket closed, the dial failed or the link stopped during the dial. Final. */
export interface ClosedState {
  readonly kind: 'closed';
  /** The last state before the connection began to end: how far it got. */
  readonly was: ReachedState;
}

/** The states a connection passes through before it ends. */
export type ReachedState = DialingState | UpgradingState | OpenState | UpState;

export type ConnectionStateKind = ConnectionState['kind'];

export const CONNECTION_TRANSITIONS: TransitionTable<ConnectionStateKind> = Object.freeze({
  dialing: ['upgrading', 'closed'],
  upgrading: ['open', 'closed'],
  open: ['up', 'closing', 'closed'],
  up: ['closing', 'closed'],
  closing: ['closed'],
  closed: [],
});

export const CONNECTION_STATES = Object.keys(CONNECTION_TRANSITIONS) as ConnectionStateKind[];

/** `to`, when the table allows the move from `from`; IllegalTransitionError (a bug) when it does not. */
export function checkConnectionTransition<T extends ConnectionState>(from: ConnectionState, to: T, reason: string): T {
  if (!CONNECTION_TRANSITIONS[from.kind].includes(to.kind)) throw illegalConnectionTransition(from.kind, to.kind, reason);
  return to;
}

/** The error of a move the table does not allow (also thrown where the next state's data cannot be built from the current one). */
export function illegalConnectionTransition(from: ConnectionStateKind, to: ConnectionStateKind, reason: string): IllegalTransitionError {
  return new IllegalTransitionError(`connection: illegal transition ${from} -> ${to} (${reason})`);
}

/** How far a connection got: its own state, or for one that is ending the state it ended from. */
export function reached(state: ConnectionState): ReachedState {
  return state.kind === 'closing' || state.kind === 'closed' ? state.was : state;
}
