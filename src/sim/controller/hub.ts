import type { Logger } from 'pino';
import {
  MIN_COMMAND_TIMEOUT_MS,
  PROTOCOL_VERSION,
  type HealthMessage,
  type HelloMessage,
  type ResultMessage,
} from '../../protocol/index.js';
import { arbitrate, type ArbiterEffect, type ArbiterEvent, type LeaveReason } from './arbiter.js';
import { clusterSnapshot, newClusterRuntime, type ClusterRuntime, type PeerEntry, type PendingCommand } from './cluster-runtime.js';
import { apiError, checkSubmission } from './command-intake.js';
import { DEFAULT_MAX_RETAINED_RESULTS, DEFAULT_RESULT_GRACE_MS, DEFAULT_RESULT_RETENTION_MS, type HubOptions } from './hub-options.js';
import type { ClusterSnapshot, CommandOutcome, GatewayPeer } from './hub-types.js';

/**
 * The controller's state, independent of sockets: the clusters, the
 * gateway connections in them (as `GatewayPeer`s), role arbitration, and
 * every command from acceptance to its one final result. The server feeds
 * it decoded frames and HTTP requests; unit tests drive it directly with a
 * ManualClock.
 */

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
      c = newClusterRuntime(clusterId, this.opts.epochStore.get(clusterId));
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
    const checked = checkSubmission(clusterId, body);
    if (checked.kind === 'refused') return Promise.resolve(checked.outcome);
    const { id, name, params, timeoutMs, fingerprint } = checked.submission;
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
        timeoutMs,
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
    return c ? clusterSnapshot(c) : undefined;
  }

  clusterIds(): string[] {
    return [...this.clusters.keys()].sort();
  }
}
