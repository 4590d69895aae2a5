import type { Role } from '../protocol/index.js';
import type { TransitionTable } from '../shared/index.js';

/**
 * The gateway's view of its role in the cluster (protocol section 4), as a
 * pure transition table and a pure reducer. The controller is the only
 * authority on roles: the gateway never promotes itself.
 */
export type RoleState =
  /** No role yet: not connected, or connected and waiting for `welcome`. */
  | 'unknown'
  /** Connected and told `standby`: answers NOT_ACTIVE, keeps its vault pools warm. */
  | 'standby'
  /** Connected and told `active` at `epoch`: executes commands of that epoch. */
  | 'active'
  /** Graceful stop of an active: `resign` sent, finishing in-flight commands, taking no new ones. */
  | 'resigning'
  /** Stopped for good (process exit). */
  | 'stopped';

export const ROLE_TRANSITIONS: TransitionTable<RoleState> = {
  unknown: ['standby', 'active', 'stopped'],
  standby: ['active', 'unknown', 'stopped'],
  active: ['standby', 'unknown', 'resigning', 'stopped'],
  resigning: ['stopped', 'unknown'],
  stopped: [],
};

export type RoleEvent =
  /** `welcome` or `role` frame. */
  | { type: 'granted'; role: Role; epoch: number }
  /** The controller link went down (close, liveness, error). */
  | { type: 'link-lost' }
  /** Graceful stop begins. */
  | { type: 'resign' }
  /** The process stops. */
  | { type: 'stop' };

export interface RoleSnapshot {
  state: RoleState;
  /** The epoch of the last grant (active or standby); null before the first. */
  epoch: number | null;
}

export interface RoleStep {
  next: RoleSnapshot;
  reason: string;
  /** The controller's epoch went down: logged as a warning (its state was lost). */
  epochWentBack: boolean;
}

/**
 * The next role snapshot for an event, or null when the event changes
 * nothing a caller must act on (for example `link-lost` while stopped).
 * Pure: no I/O, no clock.
 */
export function reduceRole(current: RoleSnapshot, event: RoleEvent): RoleStep | null {
  switch (event.type) {
    case 'granted': {
      // A resigning gateway takes no new grant; it is on its way out.
      if (current.state === 'resigning' || current.state === 'stopped') return null;
      const epochWentBack = current.epoch !== null && event.epoch < current.epoch;
      return {
        next: { state: event.role, epoch: event.epoch },
        reason: `controller granted ${event.role} at epoch ${event.epoch}`,
        epochWentBack,
      };
    }
    case 'link-lost':
      // Without the link the gateway cannot receive commands, and the
      // controller will have moved the role: it is no longer active for itself.
      if (current.state === 'stopped' || current.state === 'unknown') return null;
      return { next: { state: 'unknown', epoch: current.epoch }, reason: 'controller link lost', epochWentBack: false };
    case 'resign':
      if (current.state !== 'active') return null;
      return { next: { state: 'resigning', epoch: current.epoch }, reason: 'graceful stop', epochWentBack: false };
    case 'stop':
      if (current.state === 'stopped') return null;
      return { next: { state: 'stopped', epoch: current.epoch }, reason: 'process stopping', epochWentBack: false };
  }
}

/** Whether a command of `epoch` may execute now (protocol section 4). */
export function mayServe(snapshot: RoleSnapshot, epoch: number): boolean {
  return snapshot.state === 'active' && snapshot.epoch === epoch;
}
