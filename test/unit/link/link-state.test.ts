import { assertTransition, canTransition, IllegalTransitionError, LINK_STATES, LINK_TRANSITIONS, type LinkState } from '../../../src/link/link-state.js';

/** Every allowed move, written out by hand so a change to the table shows up here. */
const ALLOWED: Array<[LinkState, LinkState]> = [
  ['idle', 'connecting'],
  ['idle', 'stopped'],
  ['connecting', 'handshaking'],
  ['connecting', 'backoff'],
  ['connecting', 'stopped'],
  ['handshaking', 'up'],
  ['handshaking', 'backoff'],
  ['handshaking', 'stopped'],
  ['up', 'backoff'],
  ['up', 'stopped'],
  ['backoff', 'connecting'],
  ['backoff', 'stopped'],
];

describe('link state transitions', () => {
  it('has the six states', () => {
    expect(LINK_STATES.sort()).toEqual(['backoff', 'connecting', 'handshaking', 'idle', 'stopped', 'up']);
  });

  const all: Array<[LinkState, LinkState, boolean]> = [];
  for (const from of ['idle', 'connecting', 'handshaking', 'up', 'backoff', 'stopped'] as LinkState[]) {
    for (const to of ['idle', 'connecting', 'handshaking', 'up', 'backoff', 'stopped'] as LinkState[]) {
      all.push([from, to, ALLOWED.some(([f, t]) => f === from && t === to)]);
    }
  }

  it.each(all)('%s -> %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
    if (allowed) {
      expect(() => assertTransition(from, to, 'test')).not.toThrow();
    } else {
      expect(() => assertTransition(from, to, 'test')).toThrow(IllegalTransitionError);
    }
  });

  it('stopped is final and the table is frozen', () => {
    expect(LINK_TRANSITIONS.stopped).toEqual([]);
    expect(Object.isFrozen(LINK_TRANSITIONS)).toBe(true);
  });

  it('names the move in the error', () => {
    try {
      assertTransition('up', 'handshaking', 'why not');
      throw new Error('unreachable');
    } catch (err) {
      expect(err).toBeInstanceOf(IllegalTransitionError);
      expect((err as IllegalTransitionError).message).toBe('illegal link transition up -> handshaking (why not)');
    }
  });
});
