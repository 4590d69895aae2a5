import type { Logger } from 'pino';
import { StateMachine } from '../shared/index.js';
import { reduceRole, ROLE_TRANSITIONS, type RoleEvent, type RoleSnapshot, type RoleState } from './role-machine.js';

export interface RoleChange {
  from: RoleSnapshot;
  to: RoleSnapshot;
  reason: string;
}

/**
 * Applies role events to the role state machine and tells listeners. The
 * daemon builds the command dispatcher's RolePort on it (with mayServe).
 */
export class RoleManager {
  private readonly machine: StateMachine<RoleState>;
  private epochValue: number | null = null;
  private readonly listeners = new Set<(change: RoleChange) => void>();
  private changedAt: number;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {
    this.machine = new StateMachine<RoleState>('role', 'unknown', ROLE_TRANSITIONS, logger);
    this.changedAt = now();
  }

  get snapshot(): RoleSnapshot {
    return { state: this.machine.state, epoch: this.epochValue };
  }

  /** Wall-clock ms of the last change. */
  get lastChangeAt(): number {
    return this.changedAt;
  }

  /** For the dispatcher: a resigning gateway reports standby (it takes no new commands). */
  current(): { role: 'active' | 'standby' | 'unknown'; epoch: number | null } {
    const state = this.machine.state;
    const role = state === 'active' ? 'active' : state === 'standby' || state === 'resigning' ? 'standby' : 'unknown';
    return { role, epoch: this.epochValue };
  }

  apply(event: RoleEvent): RoleChange | null {
    const from = this.snapshot;
    const step = reduceRole(from, event);
    if (!step) return null;
    if (step.epochWentBack) {
      this.logger.warn({ from: from.epoch, to: step.next.epoch }, 'controller epoch went backwards');
    }
    if (step.next.state === from.state && step.next.epoch === from.epoch) return null;
    if (step.next.state !== from.state) this.machine.transition(step.next.state, step.reason);
    this.epochValue = step.next.epoch;
    this.changedAt = this.now();
    const change: RoleChange = { from, to: step.next, reason: step.reason };
    this.logger.info({ from: from.state, to: step.next.state, epoch: step.next.epoch, reason: step.reason }, 'role changed');
    for (const l of this.listeners) l(change);
    return change;
  }

  onChange(listener: (change: RoleChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
