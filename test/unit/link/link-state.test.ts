import { IllegalTransitionError, StateMachine } from '../../../src/shared/state-machine.js';
import { LINK_STATES, LINK_TRANSITIONS, type LinkState } from '../../../src/link/link-state.js';

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

/** The machine ControllerLink runs, started in `from`. */
function linkMachine(from: LinkState): StateMachine<LinkState> {
  return new StateMachine<LinkState>('link', from, LINK_TRANSITIONS);
}

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
    expect(linkMachine(from).can(to)).toBe(allowed);
    const machine = linkMachine(from);
    if (allowed) {
      expect(() => machine.transition(to, 'test')).not.toThrow();
      expect(machine.state).toBe(to);
    } else {
      expect(() => machine.transition(to, 'test')).toThrow(IllegalTransitionError);
      expect(machine.state).toBe(from);
    }
  });

  it('stopped is final and the table is frozen', () => {
    expect(LINK_TRANSITIONS.stopped).toEqual([]);
    expect(Object.isFrozen(LINK_TRANSITIONS)).toBe(true);
  });

  it('names the move in the error', () => {
    expect(() => linkMachine('up').transition('handshaking', 'why not')).toThrow(
      new IllegalTransitionError('link: illegal transition up -> handshaking (why not)'),
    );
  });

  it('reports each move with its reason', () => {
    const machine = linkMachine('idle');
    const seen: Array<{ from: LinkState; to: LinkState; reason: string }> = [];
    machine.onTransition((t) => seen.push(t));
    machine.transition('connecting', 'start');
    machine.transition('stopped', 'gateway stopping');
    expect(seen).toEqual([
      { from: 'idle', to: 'connecting', reason: 'start' },
      { from: 'connecting', to: 'stopped', reason: 'gateway stopping' },
    ]);
  });
});
