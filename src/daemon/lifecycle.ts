import type { TransitionTable } from '../shared/index.js';

/** The daemon's lifecycle. */
export type Lifecycle =
  /** Building components, opening the audit trail; not yet dialling. */
  | 'starting'
  /** Link dialling or up; commands served according to the role. */
  | 'running'
  /** Stop requested: resign sent (when active), no new commands, in-flight ones finishing. */
  | 'draining'
  /** Everything closed. */
  | 'stopped';

export const LIFECYCLE_TRANSITIONS: TransitionTable<Lifecycle> = {
  starting: ['running', 'stopped'],
  running: ['draining', 'stopped'],
  draining: ['stopped'],
  stopped: [],
};
