import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { errorWithCode } from './errors.js';

/**
 * One state variable, changed only through `transition(to, reason)`, which
 * checks the allowed-transitions table, logs `{ machine, from, to, reason }`
 * and emits a typed 'transition' event. Illegal moves throw: they are bugs.
 */

export type TransitionTable<S extends string> = { readonly [K in S]: readonly S[] };

export interface Transition<S extends string> {
  from: S;
  to: S;
  reason: string;
}

/** A move the transition table does not allow: a bug. */
export class IllegalTransitionError extends errorWithCode('ILLEGAL_TRANSITION') {
  override readonly name = 'IllegalTransitionError';
}

export class StateMachine<S extends string> {
  private current: S;
  private readonly events = new EventEmitter();

  constructor(
    private readonly machine: string,
    initial: S,
    private readonly table: TransitionTable<S>,
    private readonly logger?: Logger,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  can(to: S): boolean {
    return this.table[this.current].includes(to);
  }

  transition(to: S, reason: string): void {
    const from = this.current;
    if (!this.table[from].includes(to)) {
      throw new IllegalTransitionError(`${this.machine}: illegal transition ${from} -> ${to} (${reason})`);
    }
    this.current = to;
    this.logger?.debug({ machine: this.machine, from, to, reason }, 'state changed');
    this.events.emit('transition', { from, to, reason } satisfies Transition<S>);
  }

  onTransition(listener: (t: Transition<S>) => void): () => void {
    this.events.on('transition', listener);
    return () => this.events.off('transition', listener);
  }
}
