import type { TransitionTable } from '../shared/index.js';

/**
 * The link's one state variable and the moves it may make. Changed only
 * through ControllerLink's StateMachine (src/shared/state-machine.ts), which
 * checks this table; the link logs {from, to, reason} and emits a 'state' event.
 */
export type LinkState =
  /** Constructed, start() not called yet. */
  | 'idle'
  /** Reading the token, opening TCP (or the proxy tunnel), TLS, HTTP upgrade. */
  | 'connecting'
  /** WebSocket open, hello sent, waiting for welcome. */
  | 'handshaking'
  /** welcome received: commands flow, heartbeats run. */
  | 'up'
  /** Waiting out the reconnect delay. */
  | 'backoff'
  /** stop() called: no socket, no timer, no reconnect. Final. */
  | 'stopped';

export const LINK_TRANSITIONS: TransitionTable<LinkState> = Object.freeze({
  idle: ['connecting', 'stopped'],
  connecting: ['handshaking', 'backoff', 'stopped'],
  handshaking: ['up', 'backoff', 'stopped'],
  up: ['backoff', 'stopped'],
  backoff: ['connecting', 'stopped'],
  stopped: [],
});

export const LINK_STATES = Object.keys(LINK_TRANSITIONS) as LinkState[];
