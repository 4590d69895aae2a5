/**
 * The link's one state variable and the moves it may make. Changed only
 * through ControllerLink.transition, which checks this table, logs
 * {from, to, reason} and emits a 'state' event.
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

export const LINK_TRANSITIONS: Readonly<Record<LinkState, readonly LinkState[]>> = Object.freeze({
  idle: ['connecting', 'stopped'],
  connecting: ['handshaking', 'backoff', 'stopped'],
  handshaking: ['up', 'backoff', 'stopped'],
  up: ['backoff', 'stopped'],
  backoff: ['connecting', 'stopped'],
  stopped: [],
});

export const LINK_STATES = Object.keys(LINK_TRANSITIONS) as LinkState[];

export function canTransition(from: LinkState, to: LinkState): boolean {
  return LINK_TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: LinkState,
    readonly to: LinkState,
    readonly reason: string,
  ) {
    super(`illegal link transition ${from} -> ${to} (${reason})`);
  }
}

/** Throws IllegalTransitionError when the table does not allow the move. */
export function assertTransition(from: LinkState, to: LinkState, reason: string): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to, reason);
}
