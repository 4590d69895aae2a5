import { pino } from 'pino';
import { CONNECTION_STATES, CONNECTION_TRANSITIONS, checkConnectionTransition, reached, type ConnectionState, type ConnectionStateKind } from '../../../src/link/connection-state.js';
import { LinkConnection } from '../../../src/link/link-connection.js';
import { LinkError } from '../../../src/link/link-errors.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { IllegalTransitionError } from '../../../src/shared/state-machine.js';

/** Every allowed move, written out by hand so a change to the table shows up here. */
const ALLOWED: Array<[ConnectionStateKind, ConnectionStateKind]> = [
  ['dialing', 'upgrading'],
  ['dialing', 'closed'],
  ['upgrading', 'open'],
  ['upgrading', 'closed'],
  ['open', 'up'],
  ['open', 'closing'],
  ['open', 'closed'],
  ['up', 'closing'],
  ['up', 'closed'],
  ['closing', 'closed'],
];

const KINDS: ConnectionStateKind[] = ['dialing', 'upgrading', 'open', 'up', 'closing', 'closed'];

/** A state of `kind`; the transition check reads only the kind, so the socket, ws and timers are placeholders. */
function state(kind: ConnectionStateKind): ConnectionState {
  const any = {} as never;
  switch (kind) {
    case 'dialing':
      return { kind };
    case 'upgrading':
      return { kind, socket: any, ws: any };
    case 'open':
      return { kind, socket: any, ws: any, welcomeTimer: any, openAt: 0 };
    case 'up':
      return { kind, socket: any, ws: any, upAt: 0, heartbeat: any };
    case 'closing':
      return { kind, socket: any, ws: any, closeTimer: any, was: { kind: 'up', socket: any, ws: any, upAt: 0, heartbeat: any } };
    case 'closed':
      return { kind, was: { kind: 'dialing' } };
  }
}

function connection(): LinkConnection {
  return new LinkConnection({ id: 1, clock: new ManualClock(), log: pino({ level: 'silent' }), closeTimeoutMs: 5000 });
}

describe('connection state transitions', () => {
  it('has the six states', () => {
    expect([...CONNECTION_STATES].sort()).toEqual([...KINDS].sort());
  });

  const all: Array<[ConnectionStateKind, ConnectionStateKind, boolean]> = [];
  for (const from of KINDS) for (const to of KINDS) all.push([from, to, ALLOWED.some(([f, t]) => f === from && t === to)]);

  it.each(all)('%s -> %s allowed: %s', (from, to, allowed) => {
    const next = state(to);
    if (allowed) expect(checkConnectionTransition(state(from), next, 'test')).toBe(next);
    else expect(() => checkConnectionTransition(state(from), next, 'test')).toThrow(new IllegalTransitionError(`connection: illegal transition ${from} -> ${to} (test)`));
  });

  it('closed is final and the table is frozen', () => {
    expect(CONNECTION_TRANSITIONS.closed).toEqual([]);
    expect(Object.isFrozen(CONNECTION_TRANSITIONS)).toBe(true);
  });

  it('an ending connection remembers how far it got', () => {
    expect(reached(state('up')).kind).toBe('up');
    expect(reached(state('closing')).kind).toBe('up');
    expect(reached(state('closed')).kind).toBe('dialing');
  });
});

describe('LinkConnection before it has a socket', () => {
  it('starts dialing, with nothing to send on and nothing reached', () => {
    const conn = connection();
    expect(conn.kind).toBe('dialing');
    expect(conn.session.open).toBe(false);
    expect(conn.session.send({ type: 'resign', epoch: 1 })).toBe(false);
    expect(conn.reachedOpen).toBe(false);
    expect(conn.live).toBe(false);
    expect(conn.stayedUpFor(0)).toBe(false);
    expect(conn.endedBy.code).toBe('CLOSED');
  });

  it('refuses to open or be welcomed before its upgrade', () => {
    const conn = connection();
    expect(() => conn.opened(1000)).toThrow(new IllegalTransitionError('connection: illegal transition dialing -> open (socket open)'));
    expect(() => conn.up(1000, () => undefined)).toThrow(new IllegalTransitionError('connection: illegal transition dialing -> up (welcome)'));
    expect(conn.kind).toBe('dialing');
  });

  it('a failed dial closes it with the first failure; closed is final', () => {
    const conn = connection();
    conn.fail(new LinkError('TOKEN_UNREADABLE', 'first'));
    conn.dialFailed(new LinkError('CONNECT_FAILED', 'second'));
    expect(conn.kind).toBe('closed');
    expect(conn.endedBy).toMatchObject({ code: 'TOKEN_UNREADABLE', message: 'first' });
    expect(conn.reachedOpen).toBe(false);
    expect(() => conn.dialFailed(new LinkError('CONNECT_FAILED', 'again'))).toThrow(IllegalTransitionError);
    expect(() => conn.opened(1000)).toThrow(IllegalTransitionError);
    expect(conn.shutdown(1001, 'stop')).toBe(false);
  });

  it('stopping while dialing closes it with nothing to wait for', () => {
    const conn = connection();
    expect(conn.shutdown(1001, 'gateway stopping')).toBe(false);
    expect(conn.kind).toBe('closed');
    // close() acts only on an open connection.
    conn.close(1000, 'late');
    expect(conn.kind).toBe('closed');
  });
});
