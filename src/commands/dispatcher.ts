import type { Logger } from 'pino';
import type { CommandMessage, RejectedCommand, ResultDelivery, ResultMessage } from '../protocol/index.js';
import { type Clock, CommandAbort, elapsedMs, GatewayError, isoTime } from '../shared/index.js';
import type { AuditFacts, CommandContext } from './command-context.js';
import { auditParams, executeCommand } from './command-table.js';
import { PendingRequests } from './pending-requests.js';
import { Policy, type PolicyOptions } from './policy.js';
import type { AuditSink, ReplyPort, RolePort, Sealer, VaultRegistry } from './ports.js';
import { auditEvent, newAuditFacts } from './audit-facts.js';
import { AdmissionQueue } from './admission-queue.js';
import type { DispatcherOptions, DispatcherStats } from './dispatcher-options.js';
import { DrainWaiters } from './drain-waiters.js';
import { liveOf, newestEpoch, resultFrame, type Execution, type LiveExecution, type Outcome } from './execution.js';
import { OutcomeTally, type CommandOutcome } from './outcome-tally.js';

export type { CommandOutcome, OutcomeCount } from './outcome-tally.js';
export type { DispatcherOptions, DispatcherStats, LimitsOptions } from './dispatcher-options.js';

/**
 * Runs controller commands (protocol sections 4, 5, 7 and 8) and answers
 * each with exactly one result per connection that asked.
 *
 * Order of checks for a decoded command:
 *   1. Fencing (section 4): only while the role port says the command's
 *      epoch may be served (active at exactly that epoch); otherwise
 *      NOT_ACTIVE and no vault is touched.
 *   2. Joining: a command whose id is executing or queued joins it (so does
 *      a frame the decoder refused, see reject()). The vault is called once;
 *      the result goes once to every distinct ReplyPort that asked, with the
 *      epoch of that port's latest duplicate (it passed fencing just now). A
 *      join adds no audit event, takes no slot, and is accepted even after
 *      stopAccepting(): it adds no vault work.
 *   3. stopAccepting() (graceful shutdown): NOT_ACTIVE.
 *   4. Admission (section 5): up to limits.maxInFlight execute; the next wait
 *      in the admission queue (limits.maxQueued) in arrival order and are fenced
 *      again when they start. Only one that finds the queue full: OVERLOADED.
 *   5. Execution by the command's entry in commandTable (command-table.ts),
 *      with a CommandAbort (shared/abort.ts) fired by the Clock at timeoutMs
 *      counted from arrival: the result is DEADLINE_EXCEEDED at that moment
 *      (a queued command leaves the queue without touching a vault) and the
 *      vault call is aborted; whatever it produces later is discarded.
 * Anything thrown that is not a GatewayError is a bug: INTERNAL, logged
 * with its stack (the logs never see a password: results are never logged).
 */

export class Dispatcher {
  private readonly vaults: VaultRegistry;
  private readonly role: RolePort;
  private readonly policy: Policy;
  private readonly sealer: Sealer;
  private readonly maxInFlight: number;
  private readonly audit: AuditSink;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly gatewayId: string;
  private readonly onOutcome: ((outcome: CommandOutcome) => void) | undefined;
  private readonly pendingRequests: PendingRequests;

  private readonly running = new Map<string, Execution>();
  /**
   * Asked before every step of a command in flight: with the link lost (role unknown) the command
   * is re-sent elsewhere and its result can reach no one, so no further vault call is made.
   * Standby and resigning let it finish (a graceful stop drains what runs).
   */
  private readonly servingGuard = (): GatewayError | undefined =>
    this.role.current().role === 'unknown'
      ? new GatewayError('NOT_ACTIVE', 'the link to the controller was lost while the command ran')
      : undefined;
  private readonly queue: AdmissionQueue<Execution>;
  private readonly drains: DrainWaiters;
  private readonly tally = new OutcomeTally();
  private joinedCount = 0;
  private acceptingNew = true;

  constructor(options: DispatcherOptions) {
    this.vaults = options.vaults;
    this.role = options.role;
    this.clock = options.clock;
    this.policy = new Policy(options.policy, options.clock);
    this.sealer = options.sealer;
    this.maxInFlight = options.limits.maxInFlight;
    this.queue = new AdmissionQueue(options.limits.maxQueued);
    this.drains = new DrainWaiters(options.clock);
    this.audit = options.audit;
    this.logger = options.logger;
    this.gatewayId = options.gatewayId;
    this.onOutcome = options.onOutcome;
    this.pendingRequests = new PendingRequests(options.clock, options.pendingRequests);
  }

  /** Executions in flight (joins excluded). */
  get inFlight(): number {
    return this.running.size;
  }

  /** Commands waiting in the admission queue. */
  get queued(): number {
    return this.queue.size;
  }

  /** Nothing in flight or queued. */
  private get idle(): boolean {
    return this.running.size === 0 && this.queue.size === 0;
  }

  /** False after stopAccepting(). */
  get accepting(): boolean {
    return this.acceptingNew;
  }

  /** Runs (or joins) a decoded command; its result goes to `reply`. Never throws. */
  handle(cmd: CommandMessage, reply: ReplyPort): void {
    const started = this.clock.monotonic();
    let refusal: GatewayError | undefined;
    try {
      refusal = this.fence(cmd.epoch);
      if (!refusal) {
        const existing = this.running.get(cmd.id) ?? this.queue.get(cmd.id);
        if (existing) {
          this.join(existing, cmd.epoch, reply);
          return;
        }
        if (!this.acceptingNew) {
          refusal = new GatewayError('NOT_ACTIVE', 'the gateway is shutting down and accepts no new commands');
        } else if (this.running.size < this.maxInFlight || !this.queue.full) {
          this.admit(cmd, reply, started);
          return;
        } else {
          refusal = new GatewayError('OVERLOADED', `the gateway has ${this.running.size} commands in flight and ${this.queue.size} queued (limits.maxQueued)`);
        }
      }
    } catch (err) {
      refusal = this.internal(err, cmd);
    }
    this.answerAtOnce(cmd, reply, refusal, started);
  }

  /**
   * Answers a command the decoder refused (BAD_REQUEST / UNKNOWN_COMMAND),
   * unless its id is in flight or queued: then it joins that command whatever
   * it holds (section 5), answered with its own epoch when usable. Never throws.
   */
  reject(r: RejectedCommand, reply: ReplyPort): void {
    const existing = this.running.get(r.id) ?? this.queue.get(r.id);
    if (existing) {
      this.join(existing, r.epoch ?? liveOf(existing).epoch, reply);
      return;
    }
    let epoch = r.epoch;
    if (epoch === null) {
      try {
        epoch = this.role.current().epoch;
      } catch {
        epoch = null;
      }
    }
    const error = new GatewayError(r.code, r.message);
    this.logger.warn({ id: r.id, code: r.code, reason: r.message }, 'command rejected');
    this.send(reply, resultFrame(r.id, epoch ?? 0, { ok: false, error }));
    this.count({ id: r.id, name: null, outcome: r.code, durationMs: 0 });
  }

  /**
   * New commands get NOT_ACTIVE from now on, and so do the queued ones at
   * once (they touched no vault; the controller re-sends them to the next
   * active). Executions in flight finish and joins still attach.
   */
  stopAccepting(): void {
    this.acceptingNew = false;
    for (const exec of this.queue.takeAll()) {
      this.finish(exec, { ok: false, error: new GatewayError('NOT_ACTIVE', 'the gateway is shutting down; the queued command did not start') });
    }
  }

  /**
   * Ends every command still running with `error` (a stop whose drain time
   * ran out): each is aborted, which cuts its vault call, then answered and
   * audited now. Returns how many there were.
   */
  abandonRunning(error: GatewayError): number {
    const abandoned = [...this.running.values()];
    for (const exec of abandoned) {
      exec.live?.controller.abort(error);
      this.finish(exec, { ok: false, error });
    }
    return abandoned.length;
  }

  /** Resolves true once nothing is in flight or queued, false when `timeoutMs` passes first. */
  drain(timeoutMs: number): Promise<boolean> {
    return this.idle ? Promise.resolve(true) : this.drains.wait(timeoutMs);
  }

  /** Applies a reloaded policy to the next checks (rate-limit history is kept). */
  updatePolicy(policy: PolicyOptions): void {
    this.policy.update(policy);
  }

  stats(): DispatcherStats {
    return { inFlight: this.running.size, queued: this.queue.size, joined: this.joinedCount, outcomes: this.tally.snapshot() };
  }

  // ---- internals ----------------------------------------------------------

  /** NOT_ACTIVE unless the role port lets a command of `epoch` run now; the refusal says why. */
  private fence(epoch: number): GatewayError | undefined {
    if (this.role.mayServe(epoch)) return undefined;
    const current = this.role.current();
    if (current.role !== 'active' || current.epoch === null) {
      return new GatewayError('NOT_ACTIVE', `the gateway is not active (role ${current.role}, epoch ${current.epoch ?? 'none'})`);
    }
    return new GatewayError('NOT_ACTIVE', `command epoch ${epoch} is not the gateway's epoch ${current.epoch}`);
  }

  private join(exec: Execution, epoch: number, reply: ReplyPort): void {
    const live = liveOf(exec);
    this.joinedCount++;
    const sameConnection = live.reply === reply || live.others?.has(reply) === true;
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug({ id: live.cmd.id, name: live.cmd.name, sameConnection, queued: live.state === 'queued' }, 'command joined the one in flight');
    }
    if (live.reply === reply) {
      live.epoch = epoch;
    } else {
      live.others ??= new Map();
      live.others.set(reply, epoch);
    }
  }

  /** Starts the command at once when a slot is free, else queues it (the caller checked the queue has room). */
  private admit(cmd: CommandMessage, reply: ReplyPort, started: number): void {
    const free = this.running.size < this.maxInFlight;
    const facts = newAuditFacts(cmd.params.vault);
    auditParams(cmd, facts);
    const exec: Execution = { live: null };
    const live: LiveExecution = {
      cmd,
      reply,
      epoch: cmd.epoch,
      others: null,
      controller: new CommandAbort(this.servingGuard),
      timer: this.clock.setTimeout(() => this.expire(exec), cmd.timeoutMs),
      started,
      queuedMs: undefined,
      facts,
      state: free ? 'running' : 'queued',
    };
    exec.live = live;
    if (free) {
      this.running.set(cmd.id, exec);
      this.run(exec, live);
    } else {
      this.queue.push(cmd.id, exec);
    }
  }

  /**
   * Fills the free slots from the queue, oldest first. Each is fenced again:
   * the role or epoch may have moved while it waited. Refusing one does not
   * recurse here (a queued command holds no slot).
   */
  private startQueued(): void {
    while (this.running.size < this.maxInFlight) {
      const exec = this.queue.shift();
      if (!exec) return;
      const live = liveOf(exec);
      let refusal: GatewayError | undefined;
      try {
        refusal = this.fence(newestEpoch(live));
      } catch (err) {
        refusal = this.internal(err, live.cmd);
      }
      if (refusal) {
        this.finish(exec, { ok: false, error: refusal });
        continue;
      }
      live.state = 'running';
      live.queuedMs = elapsedMs(this.clock, live.started);
      this.running.set(live.cmd.id, exec);
      this.run(exec, live);
    }
  }

  /** A then() chain, not an async function: no suspended frame per command in flight (docs/benchmarks.md, "Why the hot path looks as it does"). */
  private run(exec: Execution, live: LiveExecution): void {
    const { vaults, policy, sealer, pendingRequests } = this;
    const ctx: CommandContext = { vaults, policy, sealer, signal: live.controller, facts: live.facts, lease: null, pendingRequests };
    let running: Promise<object>;
    try {
      running = executeCommand(live.cmd, ctx);
    } catch (err) {
      running = Promise.reject(err);
    }
    // The vault is released when the command settles, not at its deadline: a call may still be under way then.
    running.then(
      (data) => {
        ctx.lease?.release();
        this.finish(exec, { ok: true, data: data as Record<string, unknown> });
      },
      (err: unknown) => {
        ctx.lease?.release();
        // After the deadline the answer is out; a late failure (often the abort itself) is not news.
        const stillLive = exec.live;
        if (stillLive === null) return;
        this.finish(exec, { ok: false, error: err instanceof GatewayError ? err : this.internal(err, stillLive.cmd) });
      },
    );
  }

  private expire(exec: Execution): void {
    const live = exec.live;
    if (live === null) return;
    const where = live.state === 'queued' ? 'waited in the admission queue for its whole' : 'did not finish within';
    const error = new GatewayError('DEADLINE_EXCEEDED', `the command ${where} ${live.cmd.timeoutMs} ms`);
    live.controller.abort(error);
    this.finish(exec, { ok: false, error });
  }

  private internal(err: unknown, cmd: CommandMessage): GatewayError {
    this.logger.error({ err, id: cmd.id, name: cmd.name }, 'command failed with an internal error');
    return new GatewayError('INTERNAL', 'internal error', { cause: err });
  }

  /** The one place an execution (running or queued) ends: result to every waiter, then audit, metrics, the queue and drain. */
  private finish(exec: Execution, outcome: Outcome): void {
    const live = exec.live;
    if (live === null) return;
    exec.live = null;
    const id = live.cmd.id;
    const wasRunning = live.state === 'running';
    this.clock.clearTimeout(live.timer);
    if (wasRunning) this.running.delete(id);
    else this.queue.delete(id);
    if (!wasRunning) live.queuedMs = elapsedMs(this.clock, live.started);
    const durationMs = elapsedMs(this.clock, live.started);
    let delivery = this.send(live.reply, resultFrame(id, live.epoch, outcome));
    if (live.others) {
      for (const [reply, epoch] of live.others) if (this.send(reply, resultFrame(id, epoch, outcome)) === 'replaced') delivery = 'replaced';
    }
    // What the controller got is what the audit and the metrics record.
    if (delivery === 'replaced') outcome = { ok: false, error: new GatewayError('RESULT_TOO_LARGE', 'the result would not fit in one frame') };
    this.settle(live.cmd, live.facts, outcome, durationMs, live.queuedMs);
    if (wasRunning) this.startQueued();
    if (this.idle) this.drains.settled();
  }

  private answerAtOnce(cmd: CommandMessage, reply: ReplyPort, error: GatewayError, started: number): void {
    this.send(reply, resultFrame(cmd.id, cmd.epoch, { ok: false, error }));
    let facts: AuditFacts;
    try {
      facts = newAuditFacts(cmd.params.vault);
      auditParams(cmd, facts);
    } catch {
      facts = newAuditFacts('');
    }
    this.settle(cmd, facts, { ok: false, error }, elapsedMs(this.clock, started));
  }

  private settle(cmd: CommandMessage, facts: AuditFacts, outcome: Outcome, durationMs: number, queuedMs?: number): void {
    const code = outcome.ok ? 'ok' : outcome.error.code;
    if (outcome.ok) {
      // One per command: skip building the fields when debug is off (the daemon's default).
      if (this.logger.isLevelEnabled('debug')) this.logger.debug({ id: cmd.id, name: cmd.name, durationMs }, 'command done');
    } else if (code !== 'INTERNAL') {
      this.logger.info({ id: cmd.id, name: cmd.name, code, detail: outcome.error.detail, durationMs }, 'command failed');
    }
    try {
      this.audit.record(auditEvent(facts, { cmd, gatewayId: this.gatewayId, time: isoTime(this.clock.now()), outcome: code, durationMs }));
    } catch (err) {
      this.logger.error({ err, id: cmd.id }, 'audit sink failed');
    }
    this.count({ id: cmd.id, name: cmd.name, outcome: code, durationMs, queuedMs });
  }

  private count(o: CommandOutcome): void {
    this.tally.add(o);
    if (this.onOutcome) {
      try {
        this.onOutcome(o);
      } catch (err) {
        this.logger.error({ err }, 'onOutcome hook failed');
      }
    }
  }

  /** Sends one result; a gone connection drops it (the controller owns retries). Never logs the data. */
  private send(reply: ReplyPort, message: ResultMessage): ResultDelivery {
    let delivery: ResultDelivery = 'gone';
    try {
      delivery = reply.sendResult(message);
    } catch (err) {
      this.logger.error({ err, id: message.id }, 'sending a result failed');
    }
    if (delivery === 'gone') {
      this.logger.warn({ id: message.id, outcome: message.ok ? 'ok' : message.error.code }, 'result dropped: connection gone');
    }
    return delivery;
  }
}
