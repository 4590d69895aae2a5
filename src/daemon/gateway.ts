import type { Logger } from 'pino';
import { Dispatcher, type CommandOutcome, type ServingRole } from '../commands/index.js';
import type { GatewayConfig, SecretRef } from '../config/index.js';
import { readSecret as defaultReadSecret } from '../config/index.js';
import { mayServe, RoleManager } from '../ha/index.js';
import { resolveStateDir, type StateDir } from '../events/index.js';
import { ControllerLink } from '../link/index.js';
import {
  CAPABILITIES,
  CAPABILITY_RESOURCE_BY_ADDRESS,
  CAPABILITY_ROTATION_EVENTS,
  type EventMessage,
  type HealthMessage,
} from '../protocol/index.js';
import { type Clock, GatewayError, StateMachine, systemClock, VERSION } from '../shared/index.js';
import {
  type AuditEvent,
  type AuditLog,
  createAuditSink,
  type GatewayStatus,
  LivenessMonitor,
  Metrics,
  safeUrl,
  startTelemetryServer,
  type TelemetryServer,
} from '../telemetry/index.js';
import { LIFECYCLE_TRANSITIONS, type Lifecycle } from './lifecycle.js';
import { dnsIndexStatus } from './dns-index-status.js';
import { recipientSealer } from './recipient-sealer.js';
import { eventRestartKeys, RotationEvents } from './rotation-events.js';
import { VaultSet, type VaultSetChanges } from './vault-set.js';
import type { VaultCallObserver } from '../vault/index.js';

/** The liveness loop of the controller link. */
const LINK_LOOP = 'link';
/**
 * Longest the link may go without progress: a heartbeat while up, or a state
 * change while dialling (backoff cap 30 s + connect time-out 15 s + welcome
 * time-out 10 s, with room to spare). A link silent for longer is wedged.
 */
const LINK_MAX_SILENCE_MS = 90_000;
/** Settings a reload cannot apply: they shape the link, the identity or components built once at start. */
const RESTART_KEYS = ['gatewayId', 'clusterId', 'priority', 'controller', 'limits', 'telemetry'] as const;

export interface GatewayDeps {
  logger: Logger;
  /** Default systemClock. */
  clock?: Clock;
  /** Reads secret references. Default readSecret (file://, env://, credential://). */
  readSecret?: (ref: SecretRef) => Promise<string>;
  /** Environment for the link's proxy settings. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Jitter source for reconnects. Default Math.random. */
  random?: () => number;
  /** Every command's outcome (metrics). */
  onOutcome?: (outcome: CommandOutcome) => void;
  /**
   * Every real vault call (for embedding and tests). Must not throw: it runs
   * inside the command's call path, so a throw is a bug of the composed
   * program and fails that command with INTERNAL.
   */
  onVaultCall?: VaultCallObserver;
  /** Link options for tests (welcome timeout). */
  welcomeTimeoutMs?: number;
  /** `credgw run --state-dir DIR` (resolveStateDir: before $STATE_DIRECTORY and the config's stateDir). */
  stateDir?: string | undefined;
  /** What a relative `stateDir` is relative to. */
  cwd?: string | undefined;
}

/**
 * The composition root of one gateway: builds the vault set, the role
 * manager, the dispatcher, the audit trail and the controller link from
 * the compiled config, wires them, and owns the lifecycle
 * (starting → running → draining → stopped).
 */
export class Gateway {
  readonly lifecycle: StateMachine<Lifecycle>;
  readonly roles: RoleManager;
  readonly vaults: VaultSet;
  readonly dispatcher: Dispatcher;
  readonly link: ControllerLink | null;
  readonly startedAt: number;
  readonly metrics: Metrics;
  readonly liveness: LivenessMonitor;
  readonly stateDir: StateDir;
  /** The outbox and the notice sources; null until started, and when the gateway keeps no outbox (RotationEvents.wanted). */
  events: RotationEvents | null = null;
  private readonly eventsOn: boolean;
  private readonly readSecret: (ref: SecretRef) => Promise<string>;
  private readonly audit: AuditLog;
  private telemetry: TelemetryServer | null = null;
  private linkLastError: string | null = null;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** The config the gateway started with: identity, link, limits and telemetry stay these until a restart. */
  private readonly started: GatewayConfig;
  /** What runs: `started` with the vaults and policy of the last good reload. */
  private config: GatewayConfig;
  /** RESTART_KEYS whose reloaded value differs from the started one. */
  private restartRequired: string[] = [];
  private stopping: Promise<void> | null = null;

  constructor(config: GatewayConfig, deps: GatewayDeps) {
    this.started = config;
    this.config = config;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger;
    this.startedAt = this.clock.now();
    const readSecret = deps.readSecret ?? ((ref: SecretRef) => defaultReadSecret(ref, deps.env ?? process.env));
    this.readSecret = readSecret;
    this.lifecycle = new StateMachine<Lifecycle>('lifecycle', 'starting', LIFECYCLE_TRANSITIONS, this.log);
    this.lifecycle.onTransition((t) => this.log.info({ from: t.from, to: t.to, reason: t.reason }, 'lifecycle changed'));
    this.metrics = new Metrics({ info: { version: VERSION, gatewayId: config.gatewayId, clusterId: config.clusterId } });
    this.liveness = new LivenessMonitor(this.clock);
    this.roles = new RoleManager(this.log, () => this.clock.now());
    this.roles.onChange((c) => this.metrics.role(c.to.state, c.to.epoch));
    this.vaults = new VaultSet({
      logger: this.log,
      clock: this.clock,
      readSecret,
      observe: (call) => {
        this.metrics.vaultCall(call);
        deps.onVaultCall?.(call);
      },
      onHealthChange: (health) => {
        this.log.info({ vault: health.name, healthy: health.healthy, error: health.error }, 'vault health changed');
        this.metrics.vaultHealth(health.name, health.healthy);
        this.sendHealth();
      },
    });
    this.vaults.apply(config.vaults);
    this.stateDir = resolveStateDir({ env: deps.env ?? process.env, configStateDir: config.stateDir ?? undefined, cliStateDir: deps.stateDir, cwd: deps.cwd });
    this.eventsOn = RotationEvents.wanted(config, this.stateDir);
    this.metrics.setEventsSource(() => this.events?.metrics() ?? null);
    const audit = createAuditSink(config.telemetry.audit, { logger: this.log, clock: this.clock });
    this.audit = audit;
    this.dispatcher = new Dispatcher({
      vaults: this.vaults,
      role: { current: () => this.servingRole(), mayServe: (epoch) => mayServe(this.roles.snapshot, epoch) && this.linkLive() },
      policy: config.policy,
      limits: config.limits,
      sealer: recipientSealer,
      audit: {
        record: (event: AuditEvent) => {
          if (event.outcome === 'POLICY_DENIED') this.metrics.policyDenied(event.vault ?? 'unknown');
          audit.record(event);
        },
      },
      logger: this.log,
      clock: this.clock,
      gatewayId: config.gatewayId,
      onOutcome: (outcome) => {
        this.metrics.commandCompleted(outcome);
        deps.onOutcome?.(outcome);
      },
    });
    this.metrics.setInFlightSource(() => this.dispatcher.inFlight);
    this.metrics.setQueuedSource(() => this.dispatcher.queued);
    this.link = config.controller
      ? new ControllerLink({
          controller: config.controller,
          gatewayId: config.gatewayId,
          clusterId: config.clusterId,
          priority: config.priority,
          version: VERSION,
          // The commands read resource.hostName/ipAddress whatever the profiles say (protocol section 9);
          // rotationEvents only with an outbox to send from (section 11).
          capabilities: [...CAPABILITIES, CAPABILITY_RESOURCE_BY_ADDRESS, ...(this.eventsOn ? [CAPABILITY_ROTATION_EVENTS] : [])],
          readToken: () => readSecret(config.controller!.token),
          ...(config.controller.proxyPassword ? { readProxyPassword: () => readSecret(config.controller!.proxyPassword!) } : {}),
          vaultHealth: () => this.vaults.wire(),
          logger: this.log,
          clock: this.clock,
          ...(deps.random ? { random: deps.random } : {}),
          ...(deps.env ? { env: deps.env } : {}),
          ...(deps.welcomeTimeoutMs ? { welcomeTimeoutMs: deps.welcomeTimeoutMs } : {}),
        })
      : null;
    this.wireLink();
  }

  /** The running config (reloaded vaults and policy; everything else as started). */
  get currentConfig(): GatewayConfig {
    return this.config;
  }

  /** Settings changed in the config file that only a restart applies (empty when none). */
  get pendingRestart(): readonly string[] {
    return this.restartRequired;
  }

  /**
   * Opens the audit trail (refusing to run without it) and the loopback
   * telemetry endpoint, starts health probes and liveness, and dials.
   */
  async start(): Promise<void> {
    await this.audit.ready();
    // Before the link dials (its first welcome sends what is pending) and before anything holds the event loop open.
    if (this.eventsOn) {
      const send = (message: EventMessage): boolean => this.link?.send(message) ?? false;
      this.events = await RotationEvents.open({ config: this.config, stateDir: this.stateDir, vaults: this.vaults, send, readSecret: this.readSecret, clock: this.clock, logger: this.log });
    }
    const listen = this.config.telemetry.listen;
    if (listen) {
      await this.metrics.startProcessMetrics();
      this.telemetry = await startTelemetryServer({
        listen,
        status: () => this.status(),
        live: () => this.liveness.check(),
        metrics: this.metrics,
        logger: this.log,
      });
    }
    this.liveness.start();
    if (this.link) this.liveness.register(LINK_LOOP, LINK_MAX_SILENCE_MS);
    this.vaults.start();
    this.link?.start();
    this.lifecycle.transition('running', 'started');
  }

  /** Reopens the audit file at its configured path (after logrotate renamed it; SIGHUP). */
  reopenLogs(): void {
    this.audit.reopen();
  }

  /** The telemetry endpoint's address, when it listens. */
  get telemetryAddress(): { host: string; port: number } | null {
    return this.telemetry?.address ?? null;
  }

  /** What `/status` and `credgw status` show. Never a secret. */
  status(): GatewayStatus {
    const role = this.roles.snapshot;
    const now = this.clock.now();
    const link = this.link;
    const connectedSince = link?.state === 'up' ? link.connectedSince : null;
    return {
      version: VERSION,
      gatewayId: this.config.gatewayId,
      clusterId: this.config.clusterId,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeMs: now - this.startedAt,
      lifecycle: this.lifecycle.state,
      role: role.state,
      epoch: role.epoch,
      roleChangedAt: role.epoch === null && role.state === 'unknown' ? null : new Date(this.roles.lastChangeAt).toISOString(),
      link: {
        state: link ? link.state : 'disabled',
        url: this.config.controller ? safeUrl(this.config.controller.url) : '',
        connectedSince: connectedSince === null || connectedSince === undefined ? null : new Date(connectedSince).toISOString(),
        reconnects: link?.counters.reconnectAttempts ?? 0,
        lastError: this.linkLastError,
      },
      vaults: this.vaults.health().map((h) => {
        const profile = this.vaults.profile(h.name);
        return {
          name: h.name,
          url: profile ? safeUrl(profile.url) : '',
          healthy: h.lastCheckedAt === undefined ? null : h.healthy,
          error: h.error ?? null,
          lastError: h.lastError ?? null,
          lastCheckedAt: h.lastCheckedAt === undefined ? null : new Date(h.lastCheckedAt).toISOString(),
          ...dnsIndexStatus(this.vaults.dnsIndex(h.name)),
        };
      }),
      inFlight: this.dispatcher.inFlight,
      queued: this.dispatcher.queued,
      loops: this.liveness.snapshot(),
      restartRequired: [...this.restartRequired],
      events: this.events?.status() ?? null,
    };
  }

  /**
   * Graceful stop (protocol section 4): an active gateway resigns, then no
   * new command is taken, in-flight ones finish and are answered (bounded by
   * limits.drainTimeoutMs), the link closes with 1001.
   */
  stop(reason = 'stop requested'): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  private async doStop(reason: string): Promise<void> {
    if (this.lifecycle.state === 'starting') {
      this.lifecycle.transition('stopped', reason);
      await this.closeAll();
      return;
    }
    if (this.lifecycle.state !== 'running') return;
    this.lifecycle.transition('draining', reason);
    const role = this.roles.snapshot;
    this.dispatcher.stopAccepting();
    if (role.state === 'active' && role.epoch !== null) {
      this.roles.apply({ type: 'resign' });
      this.link?.send({ type: 'resign', epoch: role.epoch });
      this.log.info({ epoch: role.epoch }, 'resigned the active role');
    }
    if (!(await this.dispatcher.drain(this.config.limits.drainTimeoutMs))) {
      const abandoned = this.dispatcher.abandonRunning(new GatewayError('NOT_ACTIVE', 'the gateway stopped before the command finished (limits.drainTimeoutMs ran out)'));
      this.log.warn({ abandoned }, 'drain time ran out: the commands in flight are abandoned, their vault calls cut');
    }
    await this.link?.stop({ code: 1001, reason: 'going away' });
    this.roles.apply({ type: 'stop' });
    await this.closeAll();
    this.lifecycle.transition('stopped', reason);
  }

  private async closeAll(): Promise<void> {
    await this.events?.stop();
    this.liveness.stop();
    await this.vaults.close();
    await this.audit.close();
    await this.telemetry?.close();
  }

  /**
   * Applies a new config without dropping the link or in-flight commands:
   * vault profiles (changed pools swapped, secrets re-read) and policy.
   * Settings that need a new link or identity (RESTART_KEYS) keep their
   * started values; those that differ from what the gateway started with
   * are reported (status, /readyz, a warning on every reload) until a
   * restart applies them.
   */
  reload(next: GatewayConfig): { vaults: VaultSetChanges; restartRequired: string[] } {
    const restartRequired = [
      ...RESTART_KEYS.filter((key) => JSON.stringify(next[key]) !== JSON.stringify(this.started[key])),
      ...eventRestartKeys(this.started, next),
    ];
    this.events?.reload(next);
    const vaults = this.vaults.apply(next.vaults);
    for (const name of vaults.removed) this.metrics.forgetVault(name);
    this.dispatcher.updatePolicy(next.policy);
    this.config = Object.freeze({ ...this.started, vaults: next.vaults, policy: next.policy });
    this.restartRequired = restartRequired;
    this.log.info({ ...vaults, restartRequired }, 'configuration reloaded');
    // Health carries over for kept and changed vaults; only a new or gone name is news to the controller.
    if (vaults.added.length > 0 || vaults.removed.length > 0) this.sendHealth();
    if (restartRequired.length > 0) {
      this.log.warn({ restartRequired }, 'changed settings wait for a restart; the started values stay in effect');
    }
    return { vaults, restartRequired: [...restartRequired] };
  }

  private wireLink(): void {
    const link = this.link;
    if (!link) return;
    link.on('welcome', (msg) => {
      // A slow heartbeat (welcome allows up to 10 min) must not read as a wedged link.
      this.liveness.register(LINK_LOOP, Math.max(LINK_MAX_SILENCE_MS, 3 * msg.heartbeatMs + 10_000));
      this.roles.apply({ type: 'granted', role: msg.role, epoch: msg.epoch });
      this.events?.welcomed();
      // hello carried the health of its moment; a change before welcome could not be sent then.
      this.sendHealth();
    });
    link.on('role', (msg) => this.roles.apply({ type: 'granted', role: msg.role, epoch: msg.epoch }));
    link.on('down', (info) => {
      this.linkLastError = `closed ${info.code}${info.reason ? ` (${info.reason})` : ''}`;
      this.roles.apply({ type: 'link-lost' });
      this.events?.linkDown();
    });
    link.on('backoff', (info) => {
      this.linkLastError = info.code;
      this.metrics.reconnect();
    });
    link.on('state', (change) => {
      this.metrics.linkState(change.to);
      this.liveness.tick(LINK_LOOP);
    });
    link.on('heartbeat', () => this.liveness.tick(LINK_LOOP));
    link.on('ack', (id) => this.events?.ack(id));
    link.on('command', (cmd, session) => this.dispatcher.handle(cmd, session));
    link.on('rejected', (r, session) => this.dispatcher.reject(r, session));
  }

  /**
   * The role commands are fenced against: the granted one while the link is
   * live, 'unknown' from the moment its liveness deadline passes (the
   * controller has moved the role by then; the link's own timer may not
   * have run yet after a stall).
   */
  private servingRole(): ServingRole {
    const role = this.roles.current();
    if (role.role === 'unknown' || this.linkLive()) return role;
    return { role: 'unknown', epoch: role.epoch };
  }

  /** No link (a gateway without a controller), or one within its liveness deadline. */
  private linkLive(): boolean {
    return this.link === null || this.link.live;
  }

  private sendHealth(): void {
    if (!this.link || this.link.state !== 'up') return;
    const message: HealthMessage = { type: 'health', vaults: this.vaults.wire() };
    this.link.send(message);
  }
}
