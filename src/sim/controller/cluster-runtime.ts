import type { HelloMessage, ResultMessage, VaultHealth } from '../../protocol/index.js';
import type { TimerHandle } from '../../shared/index.js';
import { emptyCluster, type ClusterState } from './arbiter.js';
import type { ClusterCounts, ClusterSnapshot, CommandOutcome, GatewayPeer, GatewaySnapshot } from './hub-types.js';

/**
 * The hub's state of one cluster (its arbitration state, joined peers,
 * pending and retained commands, counters) and the snapshot the API shows
 * of it.
 */

/** A joined connection with what its hello and health said. */
export interface PeerEntry {
  peer: GatewayPeer;
  hello: HelloMessage;
  vaults: VaultHealth[];
}

/** A command from acceptance to its final outcome. */
export interface PendingCommand {
  id: string;
  name: string;
  params: Record<string, unknown>;
  timeoutMs: number;
  fingerprint: string;
  acceptedAt: number;
  /** waiting: for an active gateway; sent: out at `sentTo`. */
  state: 'waiting' | 'sent';
  sentTo: GatewayPeer | null;
  sentEpoch: number | null;
  attempts: number;
  /** The last NOT_ACTIVE answer: not re-sent to the same peer at the same epoch; final if the deadline comes. */
  refused: { peer: GatewayPeer; epoch: number; result: ResultMessage; gatewayId: string } | null;
  /** 'first' until timeoutMs has passed, then 'grace'. */
  phase: 'first' | 'grace';
  timer: TimerHandle | null;
  waiters: Array<(o: CommandOutcome) => void>;
}

/** A final outcome kept for retries with the same id. */
export interface Retained {
  outcome: CommandOutcome;
  fingerprint: string;
  expiresAt: number;
}

/** Everything the hub holds for one cluster. */
export interface ClusterRuntime {
  arb: ClusterState;
  peers: Map<string, PeerEntry>;
  commands: Map<string, PendingCommand>;
  retained: Map<string, Retained>;
  counts: ClusterCounts;
  lastChange: ClusterSnapshot['lastChange'];
}

/** A cluster nobody has joined yet, at the last epoch it had (`lastEpoch`). */
export function newClusterRuntime(clusterId: string, lastEpoch: number): ClusterRuntime {
  return {
    arb: emptyCluster(clusterId, lastEpoch),
    peers: new Map(),
    commands: new Map(),
    retained: new Map(),
    counts: { promotions: 0, resentCommands: 0, staleResultsDropped: 0, duplicateResultsDropped: 0, commandsOk: 0, commandsFailed: 0 },
    lastChange: null,
  };
}

/** A copy of the cluster's state for the API: roles, epochs, health, counts. */
export function clusterSnapshot(c: ClusterRuntime): ClusterSnapshot {
  const inFlightAt = (peer: GatewayPeer): number => [...c.commands.values()].filter((x) => x.state === 'sent' && x.sentTo === peer).length;
  const gateways: GatewaySnapshot[] = c.arb.gateways.map((g) => {
    const entry = c.peers.get(g.gatewayId)!;
    return {
      gatewayId: g.gatewayId,
      role: g.role,
      epoch: g.epoch,
      priority: g.priority,
      resigning: g.resigning,
      healthy: g.healthy,
      vaults: entry.vaults.map((v) => ({ ...v })),
      version: entry.hello.version,
      capabilities: [...entry.hello.capabilities],
      connectedAt: new Date(g.connectedAt).toISOString(),
      lastChange: { at: new Date(g.lastChange.at).toISOString(), reason: g.lastChange.reason },
      inFlight: inFlightAt(entry.peer),
    };
  });
  const all = [...c.commands.values()];
  return {
    clusterId: c.arb.clusterId,
    epoch: c.arb.epoch,
    activeGatewayId: c.arb.activeId,
    gateways,
    lastChange: c.lastChange ? { ...c.lastChange } : null,
    counts: {
      ...c.counts,
      commandsInFlight: all.filter((x) => x.state === 'sent').length,
      commandsWaiting: all.filter((x) => x.state === 'waiting').length,
    },
  };
}
