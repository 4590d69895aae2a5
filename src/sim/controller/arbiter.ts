import type { Role, VaultHealth } from '../../protocol/index.js';

/**
 * Role arbitration of protocol section 4, as pure functions: a cluster's
 * state and one event in, the next state and the effects to carry out
 * (frames to send, an epoch to persist) out. No I/O and no clock: the
 * caller passes `now` in the events, so the rules are tested with tables.
 *
 * Rules (shared/design/protocol.md section 4):
 * - at most one `active` per cluster; every grant raises the epoch by one
 *   (never reused: the caller persists `persistEpoch` before sending);
 * - choice: healthy over unhealthy, then higher priority, then connected
 *   longest (then gatewayId, only so that the choice is deterministic);
 * - the role moves away from an active whose vaults are all unhealthy as
 *   soon as a standby reports a healthy one; it never moves back when a
 *   better gateway returns (no flapping);
 * - a lost (closed, silent) or resigning active is replaced at once.
 */

/** What the arbiter knows about one connected gateway. */
export interface ArbiterGateway {
  gatewayId: string;
  priority: number;
  /** When its current connection said hello (ms since the epoch). */
  connectedAt: number;
  /** At least one of its vaults is healthy (a gateway with no vaults is unhealthy). */
  healthy: boolean;
  role: Role;
  /** It sent `resign`: never chosen again on this connection. */
  resigning: boolean;
  /** The epoch it was last told (in welcome or a role frame). */
  epoch: number;
  /** When its role last changed, and why. */
  lastChange: { at: number; reason: string };
}

export interface ClusterState {
  clusterId: string;
  /** The last epoch granted in this cluster (0: none yet). */
  epoch: number;
  /** The gateway holding the active role, if any. */
  activeId: string | null;
  gateways: readonly ArbiterGateway[];
}

/** Why a gateway left its cluster. */
export type LeaveReason = 'closed' | 'liveness' | 'replaced';

export type ArbiterEvent =
  | { type: 'join'; gatewayId: string; priority: number; vaults: readonly VaultHealth[]; now: number }
  | { type: 'leave'; gatewayId: string; reason: LeaveReason; now: number }
  | { type: 'resign'; gatewayId: string; now: number }
  | { type: 'health'; gatewayId: string; vaults: readonly VaultHealth[]; now: number };

export type ArbiterEffect =
  /** Store the cluster's new epoch durably before any frame that carries it is sent. */
  | { type: 'persistEpoch'; clusterId: string; epoch: number }
  /** The first frame to a joining gateway. */
  | { type: 'welcome'; gatewayId: string; role: Role; epoch: number }
  /** A role change for an already welcomed gateway. */
  | { type: 'role'; gatewayId: string; role: Role; epoch: number }
  /** The active role was granted (for counters and logs). */
  | { type: 'granted'; gatewayId: string; epoch: number; previous: string | null; reason: string };

export interface ArbiterResult {
  state: ClusterState;
  effects: ArbiterEffect[];
}

export function emptyCluster(clusterId: string, lastEpoch = 0): ClusterState {
  return { clusterId, epoch: lastEpoch, activeId: null, gateways: [] };
}

export function isHealthy(vaults: readonly VaultHealth[]): boolean {
  return vaults.some((v) => v.healthy);
}

/**
 * Orders candidates best first: healthy, then higher priority, then the
 * earlier connection; gatewayId breaks exact ties so the outcome never
 * depends on insertion order.
 */
export function compareCandidates(a: ArbiterGateway, b: ArbiterGateway): number {
  if (a.healthy !== b.healthy) return a.healthy ? -1 : 1;
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.connectedAt !== b.connectedAt) return a.connectedAt - b.connectedAt;
  return a.gatewayId < b.gatewayId ? -1 : a.gatewayId > b.gatewayId ? 1 : 0;
}

/** The best gateway that may take the active role, or undefined. */
export function bestCandidate(gateways: readonly ArbiterGateway[], exclude?: string): ArbiterGateway | undefined {
  return gateways.filter((g) => !g.resigning && g.gatewayId !== exclude).sort(compareCandidates)[0];
}

/** Applies one event. Throws on an event that names a gateway in the wrong state (a caller bug). */
export function arbitrate(state: ClusterState, event: ArbiterEvent): ArbiterResult {
  switch (event.type) {
    case 'join':
      return join(state, event);
    case 'leave':
      return leave(state, event);
    case 'resign':
      return resign(state, event);
    case 'health':
      return health(state, event);
  }
}

function find(state: ClusterState, gatewayId: string): ArbiterGateway {
  const g = state.gateways.find((x) => x.gatewayId === gatewayId);
  if (!g) throw new Error(`gateway ${gatewayId} is not in cluster ${state.clusterId}`);
  return g;
}

function replace(gateways: readonly ArbiterGateway[], next: ArbiterGateway): ArbiterGateway[] {
  return gateways.map((g) => (g.gatewayId === next.gatewayId ? next : g));
}

/**
 * Grants the active role to `to` at a new epoch. The previous active (if
 * still connected and not resigning) is told it is standby, with the new
 * epoch: a standby executes nothing, and knowing the current epoch lets it
 * refuse any late command from the old one. A resigning gateway gets no
 * frame: it is finishing its in-flight commands and about to close.
 * `welcomeFor` names a gateway that has not been welcomed yet, whose role
 * goes in its welcome instead of a role frame.
 */
function grant(state: ClusterState, to: string, now: number, reason: string, welcomeFor?: string): ArbiterResult {
  const epoch = state.epoch + 1;
  const previous = state.activeId;
  const effects: ArbiterEffect[] = [{ type: 'persistEpoch', clusterId: state.clusterId, epoch }];
  let gateways = [...state.gateways];
  if (previous !== null && previous !== to) {
    const old = gateways.find((g) => g.gatewayId === previous);
    if (old) {
      gateways = replace(gateways, { ...old, role: 'standby', epoch: old.resigning ? old.epoch : epoch, lastChange: { at: now, reason } });
      if (!old.resigning) effects.push({ type: 'role', gatewayId: previous, role: 'standby', epoch });
    }
  }
  const winner = find({ ...state, gateways }, to);
  gateways = replace(gateways, { ...winner, role: 'active', epoch, lastChange: { at: now, reason } });
  effects.push(
    welcomeFor === to ? { type: 'welcome', gatewayId: to, role: 'active', epoch } : { type: 'role', gatewayId: to, role: 'active', epoch },
  );
  effects.push({ type: 'granted', gatewayId: to, epoch, previous, reason });
  return { state: { ...state, epoch, activeId: to, gateways }, effects };
}

/**
 * After health changes or a join: an active whose vaults are all unhealthy
 * hands the role to the best healthy standby. Nothing else moves the role
 * while an active exists (no flapping).
 */
function healthMove(state: ClusterState, now: number, welcomeFor?: string): ArbiterResult | null {
  if (state.activeId === null) return null;
  const active = find(state, state.activeId);
  if (active.healthy) return null;
  const best = bestCandidate(state.gateways, active.gatewayId);
  if (!best || !best.healthy) return null;
  return grant(state, best.gatewayId, now, `active ${active.gatewayId} has no healthy vault`, welcomeFor);
}

function join(state: ClusterState, e: Extract<ArbiterEvent, { type: 'join' }>): ArbiterResult {
  if (state.gateways.some((g) => g.gatewayId === e.gatewayId)) {
    throw new Error(`gateway ${e.gatewayId} already joined cluster ${state.clusterId}`);
  }
  const joined: ArbiterGateway = {
    gatewayId: e.gatewayId,
    priority: e.priority,
    connectedAt: e.now,
    healthy: isHealthy(e.vaults),
    role: 'standby',
    resigning: false,
    epoch: state.epoch,
    lastChange: { at: e.now, reason: 'joined' },
  };
  const next: ClusterState = { ...state, gateways: [...state.gateways, joined] };
  if (next.activeId === null) {
    const best = bestCandidate(next.gateways);
    // best exists: the joiner itself is a candidate.
    const reason = state.gateways.length === 0 ? 'first gateway' : 'no active gateway';
    return withWelcome(grant(next, best!.gatewayId, e.now, reason, e.gatewayId), e.gatewayId);
  }
  const moved = healthMove(next, e.now, e.gatewayId);
  if (moved) return withWelcome(moved, e.gatewayId);
  return withWelcome({ state: next, effects: [] }, e.gatewayId);
}

/** Makes sure the joiner gets a welcome (as standby unless a grant already welcomed it). */
function withWelcome(r: ArbiterResult, gatewayId: string): ArbiterResult {
  if (r.effects.some((x) => x.type === 'welcome' && x.gatewayId === gatewayId)) return r;
  const g = find(r.state, gatewayId);
  const effects = r.effects.filter((x) => !(x.type === 'role' && x.gatewayId === gatewayId));
  effects.push({ type: 'welcome', gatewayId, role: g.role, epoch: r.state.epoch });
  return { state: { ...r.state, gateways: replace(r.state.gateways, { ...g, epoch: r.state.epoch }) }, effects };
}

function leave(state: ClusterState, e: Extract<ArbiterEvent, { type: 'leave' }>): ArbiterResult {
  find(state, e.gatewayId);
  const gateways = state.gateways.filter((g) => g.gatewayId !== e.gatewayId);
  if (state.activeId !== e.gatewayId) return { state: { ...state, gateways }, effects: [] };
  const next: ClusterState = { ...state, activeId: null, gateways };
  const best = bestCandidate(gateways);
  if (!best) return { state: next, effects: [] };
  const r = grant(next, best.gatewayId, e.now, `active ${e.gatewayId} lost (${e.reason})`);
  return { state: r.state, effects: r.effects.map((x) => (x.type === 'granted' ? { ...x, previous: e.gatewayId } : x)) };
}

function resign(state: ClusterState, e: Extract<ArbiterEvent, { type: 'resign' }>): ArbiterResult {
  const g = find(state, e.gatewayId);
  if (g.resigning) return { state, effects: [] };
  const marked: ClusterState = {
    ...state,
    gateways: replace(state.gateways, { ...g, resigning: true, lastChange: { at: e.now, reason: 'resigned' } }),
  };
  if (state.activeId !== e.gatewayId) return { state: marked, effects: [] };
  const best = bestCandidate(marked.gateways);
  if (!best) {
    // Nobody to hand over to: the resigning gateway stops being active in
    // our books so that new commands wait for the next gateway instead of
    // going to one that refuses them.
    const alone = find(marked, e.gatewayId);
    return {
      state: { ...marked, activeId: null, gateways: replace(marked.gateways, { ...alone, role: 'standby' }) },
      effects: [],
    };
  }
  return grant(marked, best.gatewayId, e.now, `active ${e.gatewayId} resigned`);
}

function health(state: ClusterState, e: Extract<ArbiterEvent, { type: 'health' }>): ArbiterResult {
  const g = find(state, e.gatewayId);
  const next: ClusterState = { ...state, gateways: replace(state.gateways, { ...g, healthy: isHealthy(e.vaults) }) };
  if (next.activeId === null) {
    // Only after a grant could not be made (its epoch not stored): the
    // next event with a candidate repairs it.
    const best = bestCandidate(next.gateways);
    if (best) return grant(next, best.gatewayId, e.now, 'no active gateway');
  }
  return healthMove(next, e.now) ?? { state: next, effects: [] };
}
