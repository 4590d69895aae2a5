import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  MAX_FRAME_BYTES,
  MIN_COMMAND_TIMEOUT_MS,
  PROTOCOL_VERSION,
  decodeCommand,
  isId,
  isObject,
  type HealthMessage,
  type HelloMessage,
  type ResultError,
  type ResultMessage,
  type ResultOk,
  type Role,
  type VaultHealth,
} from '../../protocol/index.js';
import type { Clock, TimerHandle } from '../../shared/clock.js';
import { arbitrate, emptyCluster, type ArbiterEffect, type ArbiterEvent, type ClusterState, type LeaveReason } from './arbiter.js';
import type { EpochStore } from './epoch-store.js';

/**
 * The controller's state, independent of sockets: the clusters, the
 * gateway connections in them (as `GatewayPeer`s), role arbitration, and
 * every command from acceptance to its one final result. The server feeds
 * it decoded frames and HTTP requests; unit tests drive it directly with a
 * ManualClock.
 */

/** One gateway connection as the hub sees it. Identity matters: a reconnect is a new peer. */
export interface GatewayPeer {
  readonly gatewayId: string;
  readonly clusterId: string;
  /** Sends one text frame (dropped silently when the connection is closing). */
  send(text: string): void;
  /** Closes the connection with a protocol close code. */
  close(code: number, reason: string): void;
}

/** Controller-side error codes of the HTTP API (gateway codes come in `result` bodies). */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_COMMAND'
  | 'BAD_JSON'
  | 'BODY_TOO_LARGE'
  | 'BAD_CLUSTER_ID'
  | 'ID_CONFLICT'
  | 'NO_ACTIVE_GATEWAY'
  | 'DEADLINE_EXCEEDED'
  | 'CONTROLLER_STOPPING'
  | 'UNKNOWN_CLUSTER'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHORIZED';

export interface ApiError {
  code: ApiErrorCode;
  message: string;
  retryable: boolean;
}

/** The body of a final result that came from a gateway (HTTP 200). */
export type CommandResultBody = (Omit<ResultOk, 'type'> | Omit<ResultError, 'type'>) & {
  /** The gateway whose result this is. */
  gatewayId: string;
  /** How many times the command was sent (1 + re-sends). */
  attempts: number;
};

/** What a command submission ends with: a gateway's result, or a controller error. */
export type CommandOutcome =
  | { status: 200; body: CommandResultBody }
  | { status: 400 | 409 | 413 | 503 | 504; body: { id?: string; error: ApiError } };

export interface ClusterCounts {
  /** Grants of the active role (the first one included). */
  promotions: number;
  /** Sends of a command after its first (after a lost/resigned active or a NOT_ACTIVE answer). */
  resentCommands: number;
  /** Results whose epoch or connection is not the one the command was last sent with. */
  staleResultsDropped: number;
  /** Results for a command that already had its final result (or was never sent). */
  duplicateResultsDropped: number;
  /** Final results with ok:true. */
  commandsOk: number;
  /** Final results that are not ok (gateway errors and controller errors alike). */
  commandsFailed: number;
}

export interface GatewaySnapshot {
  gatewayId: string;
  role: Role;
  /** The epoch this gateway was last told. */
  epoch: number;
  priority: number;
  resigning: boolean;
  /** At least one vault healthy. */
  healthy: boolean;
  vaults: VaultHealth[];
  version: string;
  capabilities: string[];
  connectedAt: string;
  lastChange: { at: string; reason: string };
  /** Commands sent to this connection and not answered yet. */
  inFlight: number;
}

export interface ClusterSnapshot {
  clusterId: string;
  /** The last epoch granted. */
  epoch: number;
  activeGatewayId: string | null;
  gateways: GatewaySnapshot[];
  /** The last grant of the active role. */
  lastChange: { at: string; gatewayId: string; epoch: number; reason: string } | null;
  counts: ClusterCounts & { commandsInFlight: number; commandsWaiting: number };
}

export interface HubOptions {
  /** Heartbeat announced in `welcome` (ms). */
  heartbeatMs: number;
  epochStore: EpochStore;
  clock: Clock;
  logger: Logger;
  /**
   * Extra time past a command's `timeoutMs` to wait for the gateway's own
   * DEADLINE_EXCEEDED before answering 504 ourselves. Default 2000.
   */
  resultGraceMs?: number;
  /**
   * How long a final result is kept (in memory only) so that a retried
   * submission with the same client-supplied `id` gets the same answer.
   * Default 60000.
   */
  resultRetentionMs?: number;
  /** At most this many retained results per cluster (oldest dropped first). Default 10000. */
  maxRetainedResults?: number;
}

export const DEFAULT_RESULT_GRACE_MS = 2_000;
export const DEFAULT_RESULT_RETENTION_MS = 60_000;
export const DEFAULT_MAX_RETAINED_RESULTS = 10_000;

interface PeerEntry {
  peer: GatewayPeer;
  hello: HelloMessage;
  vaults: VaultHealth[];
}

interface PendingCommand {
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

interface Retained {
  outcome: CommandOutcome;
  fingerprint: string;
  expiresAt: number;
}

interface ClusterRuntime {
  arb: ClusterState;
  peers: Map<string, PeerEntry>;
  commands: Map<string, PendingCommand>;
  retained: Map<string, Retained>;
  counts: ClusterCounts;
  lastChange: ClusterSnapshot['lastChange'];
}

function apiError(status: 400 | 409 | 413 | 503 | 504, code: ApiErrorCode, message: string, id?: string): CommandOutcome {
  const retryable = status === 503 || status === 504;
  return { status, body: { ...(id === undefined ? {} : { id }), error: { code, message, retryable } } };
}

/** JSON with sorted keys, to recognise a resubmission of the same command. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export class ControllerHub {
  private readonly clusters = new Map<string, ClusterRuntime>();
  /** Every joined connection by gatewayId, across clusters (4003 is per gatewayId). */
  private readonly byGateway = new Map<string, PeerEntry>();
  private readonly graceMs: number;
  private readonly retentionMs: number;
  private readonly maxRetained: number;
  private stopping = false;

  constructor(private readonly opts: HubOptions) {
    this.graceMs = opts.resultGraceMs ?? DEFAULT_RESULT_GRACE_MS;
    this.retentionMs = opts.resultRetentionMs ?? DEFAULT_RESULT_RETENTION_MS;
    this.maxRetained = opts.maxRetainedResults ?? DEFAULT_MAX_RETAINED_RESULTS;
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  private cluster(clusterId: string): ClusterRuntime {
    let c = this.clusters.get(clusterId);
    if (!c) {
      c = {
        arb: emptyCluster(clusterId, this.opts.epochStore.get(clusterId)),
        peers: new Map(),
        commands: new Map(),
        retained: new Map(),
        counts: { promotions: 0, resentCommands: 0, staleResultsDropped: 0, duplicateResultsDropped: 0, commandsOk: 0, commandsFailed: 0 },
        lastChange: null,
      };
      this.clusters.set(clusterId, c);
    }
    return c;
  }

  /** Whether `peer` is the current, joined connection of its gateway. */
  isCurrent(peer: GatewayPeer): boolean {
    return this.byGateway.get(peer.gatewayId)?.peer === peer;
  }

  // ---- gateway events -------------------------------------------------------

  /**
   * A connection said hello. An older connection of the same gatewayId is
   * closed with 4003 and leaves first (its commands are re-sent).
   */
  join(peer: GatewayPeer, hello: HelloMessage): void {
    const older = this.byGateway.get(hello.gatewayId);
    if (older) {
      this.leave(older.peer, 'replaced');
      older.peer.close(4003, 'another connection holds this gatewayId');
    }
    const c = this.cluster(hello.clusterId);
    const entry: PeerEntry = { peer, hello, vaults: [...hello.vaults] };
    c.peers.set(hello.gatewayId, entry);
    this.byGateway.set(hello.gatewayId, entry);
    this.log.info({ gatewayId: hello.gatewayId, clusterId: hello.clusterId, priority: hello.priority, version: hello.version }, 'gateway joined');
    try {
      this.apply(c, { type: 'join', gatewayId: hello.gatewayId, priority: hello.priority, vaults: hello.vaults, now: this.opts.clock.now() });
    } catch (err) {
      // Not joined after all: the caller closes the connection.
      c.peers.delete(hello.gatewayId);
      this.byGateway.delete(hello.gatewayId);
      throw err;
    }
  }

  /** A connection is gone (closed, silent, replaced). Its unanswered commands go to the next active. */
  leave(peer: GatewayPeer, reason: LeaveReason): void {
    if (!this.isCurrent(peer)) return;
    const c = this.cluster(peer.clusterId);
    this.byGateway.delete(peer.gatewayId);
    c.peers.delete(peer.gatewayId);
    let requeued = 0;
    for (const cmd of c.commands.values()) {
      if (cmd.state === 'sent' && cmd.sentTo === peer) {
        cmd.state = 'waiting';
        cmd.sentTo = null;
        requeued++;
      }
    }
    this.log.warn({ gatewayId: peer.gatewayId, clusterId: peer.clusterId, reason, requeued }, 'gateway left');
    try {
      this.apply(c, { type: 'leave', gatewayId: peer.gatewayId, reason, now: this.opts.clock.now() });
    } catch (err) {
      // The promotion's epoch could not be stored. Leaving cannot be
      // refused, so the gateway goes and nobody is active: commands wait
      // (and fail NO_ACTIVE_GATEWAY) rather than go out at an epoch that a
      // restart could hand out again.
      this.log.error({ err, clusterId: peer.clusterId }, 'cannot persist epoch, no gateway promoted');
      const wasActive = c.arb.activeId === peer.gatewayId;
      c.arb = {
        ...c.arb,
        activeId: wasActive ? null : c.arb.activeId,
        gateways: c.arb.gateways.filter((g) => g.gatewayId !== peer.gatewayId),
      };
    }
  }

  /**
   * `resign`: the role moves at once; commands already at the resigning
   * gateway stay with it (it finishes them) until its connection closes.
   */
  resign(peer: GatewayPeer, epoch: number): void {
    if (!this.isCurrent(peer)) return;
    const c = this.cluster(peer.clusterId);
    this.log.info({ gatewayId: peer.gatewayId, clusterId: peer.clusterId, epoch, currentEpoch: c.arb.epoch }, 'gateway resigned');
    this.apply(c, { type: 'resign', gatewayId: peer.gatewayId, now: this.opts.clock.now() });
  }

  health(peer: GatewayPeer, msg: HealthMessage): void {
    const entry = this.byGateway.get(peer.gatewayId);
    if (!entry || entry.peer !== peer) return;
    entry.vaults = [...msg.vaults];
    const c = this.cluster(peer.clusterId);
    this.log.info({ gatewayId: peer.gatewayId, vaults: msg.vaults }, 'gateway health');
    this.apply(c, { type: 'health', gatewayId: peer.gatewayId, vaults: msg.vaults, now: this.opts.clock.now() });
  }

  /**
   * A `result`. It is final only when it comes from the connection the
   * command was last sent to, at the epoch it was sent with; anything else
   * is stale (counted, dropped). A NOT_ACTIVE answer is not final: the
   * command goes back to the queue for the current active.
   */
  result(peer: GatewayPeer, msg: ResultMessage): void {
    const c = this.cluster(peer.clusterId);
    if (!this.isCurrent(peer)) {
      // A replaced or dropped connection: whatever it answers was re-sent elsewhere.
      c.counts.staleResultsDropped++;
      this.log.warn({ gatewayId: peer.gatewayId, id: msg.id, epoch: msg.epoch }, 'result from a replaced connection dropped');
      return;
    }
    const cmd = c.commands.get(msg.id);
    const fields = { gatewayId: peer.gatewayId, id: msg.id, epoch: msg.epoch };
    if (!cmd) {
      c.counts.duplicateResultsDropped++;
      this.log.warn(fields, 'result for no pending command dropped');
      return;
    }
    if (cmd.state !== 'sent' || cmd.sentTo !== peer || cmd.sentEpoch !== msg.epoch) {
      c.counts.staleResultsDropped++;
      this.log.warn({ ...fields, sentEpoch: cmd.sentEpoch, sentTo: cmd.sentTo?.gatewayId ?? null }, 'stale result dropped');
      return;
    }
    if (!msg.ok && msg.error.code === 'NOT_ACTIVE') {
      cmd.state = 'waiting';
      cmd.sentTo = null;
      cmd.refused = { peer, epoch: msg.epoch, result: msg, gatewayId: peer.gatewayId };
      this.log.info(fields, 'command refused as not active, will re-send');
      this.dispatch(c);
      return;
    }
    const { type: _type, ...rest } = msg;
    this.finalize(c, cmd, { status: 200, body: { ...rest, gatewayId: peer.gatewayId, attempts: cmd.attempts } });
  }

  // ---- arbitration ------------------------------------------------------------

  private apply(c: ClusterRuntime, event: ArbiterEvent): void {
    const { state, effects } = arbitrate(c.arb, event);
    // Persist first: a frame carrying an epoch goes out only once that
    // epoch is on disk. If this throws, the state is not committed.
    for (const e of effects) if (e.type === 'persistEpoch') this.opts.epochStore.set(e.clusterId, e.epoch);
    c.arb = state;
    for (const e of effects) this.effect(c, e);
    this.dispatch(c);
  }

  private effect(c: ClusterRuntime, e: ArbiterEffect): void {
    switch (e.type) {
      case 'persistEpoch':
        return;
      case 'welcome':
        c.peers.get(e.gatewayId)?.peer.send(
          JSON.stringify({ type: 'welcome', protocol: PROTOCOL_VERSION, heartbeatMs: this.opts.heartbeatMs, role: e.role, epoch: e.epoch }),
        );
        return;
      case 'role':
        c.peers.get(e.gatewayId)?.peer.send(JSON.stringify({ type: 'role', role: e.role, epoch: e.epoch }));
        return;
      case 'granted':
        c.counts.promotions++;
        c.lastChange = { at: new Date(this.opts.clock.now()).toISOString(), gatewayId: e.gatewayId, epoch: e.epoch, reason: e.reason };
        this.log.info({ clusterId: c.arb.clusterId, gatewayId: e.gatewayId, epoch: e.epoch, previous: e.previous, reason: e.reason }, 'active role granted');
        return;
    }
  }

  // ---- commands ---------------------------------------------------------------

  /**
   * Accepts a command for a cluster (the HTTP API's POST body), sends it to
   * the active gateway (now or when one appears) and resolves with its one
   * final outcome.
   *
   * Body: `{"name","params","timeoutMs"?,"id"?}`. A client-supplied `id`
   * makes retries idempotent: while the command is pending a second
   * submission joins it, and for `resultRetentionMs` after its result the
   * same result is returned; the same id with a different body is 409.
   */
  submit(clusterId: string, body: unknown): Promise<CommandOutcome> {
    if (this.stopping) return Promise.resolve(apiError(503, 'CONTROLLER_STOPPING', 'the controller is stopping'));
    if (!isId(clusterId)) return Promise.resolve(apiError(400, 'BAD_CLUSTER_ID', 'cluster id must be 1-128 characters of [A-Za-z0-9._:-]'));
    if (!isObject(body)) return Promise.resolve(apiError(400, 'BAD_REQUEST', 'body must be a JSON object'));
    const allowed = new Set(['id', 'name', 'params', 'timeoutMs']);
    const extra = Object.keys(body).find((k) => !allowed.has(k));
    if (extra !== undefined) return Promise.resolve(apiError(400, 'BAD_REQUEST', `unknown field "${extra.slice(0, 64)}"`));
    const suppliedId = body['id'];
    if (suppliedId !== undefined && !isId(suppliedId)) {
      return Promise.resolve(apiError(400, 'BAD_REQUEST', 'id must be 1-128 characters of [A-Za-z0-9._:-]'));
    }
    const id = suppliedId ?? randomUUID();
    const timeoutMs = body['timeoutMs'] ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const frame = { type: 'command', id, epoch: Number.MAX_SAFE_INTEGER, name: body['name'], timeoutMs, params: body['params'] };
    const decoded = decodeCommand(frame);
    if (decoded.kind === 'rejected') return Promise.resolve(apiError(400, decoded.code, decoded.message, id));
    if (decoded.kind !== 'message') return Promise.resolve(apiError(400, 'BAD_REQUEST', 'not a valid command', id));
    if (Buffer.byteLength(JSON.stringify(frame)) > MAX_FRAME_BYTES) {
      return Promise.resolve(apiError(413, 'BODY_TOO_LARGE', 'the command frame would exceed 1 MiB', id));
    }
    const name = body['name'] as string;
    const params = body['params'] as Record<string, unknown>;
    const fingerprint = stableStringify({ name, params, timeoutMs });
    const c = this.cluster(clusterId);
    this.sweepRetained(c);
    const pending = c.commands.get(id);
    if (pending) {
      if (pending.fingerprint !== fingerprint) return Promise.resolve(apiError(409, 'ID_CONFLICT', 'a different command with this id is pending', id));
      return new Promise((resolve) => pending.waiters.push(resolve));
    }
    const kept = c.retained.get(id);
    if (kept) {
      if (kept.fingerprint !== fingerprint) return Promise.resolve(apiError(409, 'ID_CONFLICT', 'a different command with this id was answered', id));
      return Promise.resolve(kept.outcome);
    }
    return new Promise((resolve) => {
      const cmd: PendingCommand = {
        id,
        name,
        params,
        timeoutMs: timeoutMs as number,
        fingerprint,
        acceptedAt: this.opts.clock.monotonic(),
        state: 'waiting',
        sentTo: null,
        sentEpoch: null,
        attempts: 0,
        refused: null,
        phase: 'first',
        timer: null,
        waiters: [resolve],
      };
      cmd.timer = this.opts.clock.setTimeout(() => this.onDeadline(c, cmd), cmd.timeoutMs);
      c.commands.set(id, cmd);
      this.log.info({ clusterId, id, name }, 'command accepted');
      this.dispatch(c);
    });
  }

  /** Sends every waiting command of the cluster to its active gateway, in acceptance order. */
  private dispatch(c: ClusterRuntime): void {
    const activeId = c.arb.activeId;
    if (activeId === null) return;
    const active = c.peers.get(activeId);
    if (!active) return;
    const epoch = c.arb.epoch;
    for (const cmd of c.commands.values()) {
      if (cmd.state !== 'waiting') continue;
      // A gateway that just refused at this very epoch would refuse again;
      // wait for the next grant (or the deadline).
      if (cmd.refused && cmd.refused.peer === active.peer && cmd.refused.epoch === epoch) continue;
      const elapsed = this.opts.clock.monotonic() - cmd.acceptedAt;
      // A re-sent command carries what is left of the caller's budget.
      const timeoutMs = Math.min(cmd.timeoutMs, Math.max(MIN_COMMAND_TIMEOUT_MS, Math.ceil(cmd.timeoutMs - elapsed)));
      cmd.state = 'sent';
      cmd.sentTo = active.peer;
      cmd.sentEpoch = epoch;
      cmd.attempts++;
      if (cmd.attempts > 1) c.counts.resentCommands++;
      this.log.info({ clusterId: c.arb.clusterId, id: cmd.id, gatewayId: activeId, epoch, attempt: cmd.attempts }, 'command sent');
      active.peer.send(JSON.stringify({ type: 'command', id: cmd.id, epoch, name: cmd.name, timeoutMs, params: cmd.params }));
    }
  }

  /**
   * First deadline (timeoutMs): a command still waiting for an active
   * gateway fails with NO_ACTIVE_GATEWAY (or the last NOT_ACTIVE answer);
   * one out at a gateway gets `resultGraceMs` more for the gateway's own
   * DEADLINE_EXCEEDED, then 504.
   */
  private onDeadline(c: ClusterRuntime, cmd: PendingCommand): void {
    cmd.timer = null;
    if (cmd.phase === 'first' && cmd.state === 'sent') {
      cmd.phase = 'grace';
      cmd.timer = this.opts.clock.setTimeout(() => this.onDeadline(c, cmd), this.graceMs);
      return;
    }
    if (cmd.state === 'waiting') {
      if (cmd.refused) {
        const { type: _type, ...rest } = cmd.refused.result;
        this.finalize(c, cmd, { status: 200, body: { ...rest, gatewayId: cmd.refused.gatewayId, attempts: cmd.attempts } });
      } else {
        this.finalize(c, cmd, apiError(503, 'NO_ACTIVE_GATEWAY', `no active gateway in cluster ${c.arb.clusterId} answered in time`, cmd.id));
      }
      return;
    }
    this.finalize(c, cmd, apiError(504, 'DEADLINE_EXCEEDED', 'the gateway did not answer in time', cmd.id));
  }

  private finalize(c: ClusterRuntime, cmd: PendingCommand, outcome: CommandOutcome): void {
    this.opts.clock.clearTimeout(cmd.timer);
    cmd.timer = null;
    c.commands.delete(cmd.id);
    const ok = outcome.status === 200 && outcome.body.ok;
    if (ok) c.counts.commandsOk++;
    else c.counts.commandsFailed++;
    const code = outcome.status === 200 ? (outcome.body.ok ? 'OK' : outcome.body.error.code) : outcome.body.error.code;
    this.log.info({ clusterId: c.arb.clusterId, id: cmd.id, status: outcome.status, code, attempts: cmd.attempts }, 'command final');
    if (!this.stopping) {
      c.retained.set(cmd.id, { outcome, fingerprint: cmd.fingerprint, expiresAt: this.opts.clock.monotonic() + this.retentionMs });
      while (c.retained.size > this.maxRetained) {
        const oldest = c.retained.keys().next().value as string;
        c.retained.delete(oldest);
      }
    }
    for (const w of cmd.waiters) w(outcome);
  }

  private sweepRetained(c: ClusterRuntime): void {
    const now = this.opts.clock.monotonic();
    // Insertion order is expiry order: stop at the first one still valid.
    for (const [id, r] of c.retained) {
      if (r.expiresAt > now) break;
      c.retained.delete(id);
    }
  }

  /** Answers every pending command with CONTROLLER_STOPPING; no new ones are accepted. */
  stop(): void {
    this.stopping = true;
    for (const c of this.clusters.values()) {
      for (const cmd of [...c.commands.values()]) {
        this.finalize(c, cmd, apiError(503, 'CONTROLLER_STOPPING', 'the controller is stopping', cmd.id));
      }
      c.retained.clear();
    }
  }

  // ---- views --------------------------------------------------------------------

  snapshot(clusterId: string): ClusterSnapshot | undefined {
    const c = this.clusters.get(clusterId);
    if (!c) return undefined;
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

  clusterIds(): string[] {
    return [...this.clusters.keys()].sort();
  }
}
