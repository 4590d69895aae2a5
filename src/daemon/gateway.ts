import type { Logger } from 'pino';
import { Dispatcher, type CommandOutcome } from '../commands/index.js';
import type { GatewayConfig, SecretRef } from '../config/types.js';
import { readSecret as defaultReadSecret } from '../config/secrets.js';
import { RoleManager } from '../ha/role-manager.js';
import { ControllerLink } from '../link/index.js';
import type { HealthMessage } from '../protocol/messages.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { StateMachine } from '../shared/state-machine.js';
import { VERSION } from '../shared/version.js';
import { createAuditSink, type AuditLog } from '../telemetry/audit.js';
import { LIFECYCLE_TRANSITIONS, type Lifecycle } from './lifecycle.js';
import { VaultSet } from './vault-set.js';
import type { VaultCallObserver } from './instrumented-vault.js';

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
  /** Every real vault call (metrics). */
  onVaultCall?: VaultCallObserver;
  /** Link options for tests (welcome timeout). */
  welcomeTimeoutMs?: number;
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
  private readonly audit: AuditLog;
  private readonly clock: Clock;
  private readonly log: Logger;
  private config: GatewayConfig;
  private stopping: Promise<void> | null = null;

  constructor(config: GatewayConfig, deps: GatewayDeps) {
    this.config = config;
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger;
    this.startedAt = this.clock.now();
    const readSecret = deps.readSecret ?? ((ref: SecretRef) => defaultReadSecret(ref, deps.env ?? process.env));
    this.lifecycle = new StateMachine<Lifecycle>('lifecycle', 'starting', LIFECYCLE_TRANSITIONS, this.log);
    this.lifecycle.onTransition((t) => this.log.info({ from: t.from, to: t.to, reason: t.reason }, 'lifecycle changed'));
    this.roles = new RoleManager(this.log, () => this.clock.now());
    this.vaults = new VaultSet({
      logger: this.log,
      clock: this.clock,
      readSecret,
      ...(deps.onVaultCall ? { observe: deps.onVaultCall } : {}),
      onHealthChange: (health) => {
        this.log.info({ vault: health.name, healthy: health.healthy, error: health.error }, 'vault health changed');
        this.sendHealth();
      },
    });
    this.vaults.apply(config.vaults);
    this.audit = createAuditSink(config.telemetry.audit, { logger: this.log });
    this.dispatcher = new Dispatcher({
      vaults: this.vaults,
      role: this.roles,
      policy: config.policy,
      limits: config.limits,
      audit: this.audit,
      logger: this.log,
      clock: this.clock,
      gatewayId: config.gatewayId,
      ...(deps.onOutcome ? { onOutcome: deps.onOutcome } : {}),
    });
    this.link = config.controller
      ? new ControllerLink({
          controller: config.controller,
          gatewayId: config.gatewayId,
          clusterId: config.clusterId,
          priority: config.priority,
          version: VERSION,
          readToken: () => readSecret(config.controller!.token),
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

  get currentConfig(): GatewayConfig {
    return this.config;
  }

  /** Opens the audit trail (refusing to run without it), starts health probes and dials. */
  async start(): Promise<void> {
    await this.audit.ready();
    this.vaults.start();
    this.link?.start();
    this.lifecycle.transition('running', 'started');
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
    const drained = await this.dispatcher.drain(this.config.limits.drainTimeoutMs);
    if (!drained) this.log.warn({ inFlight: this.dispatcher.inFlight }, 'drain time ran out with commands in flight');
    await this.link?.stop({ code: 1001, reason: 'going away' });
    this.roles.apply({ type: 'stop' });
    await this.closeAll();
    this.lifecycle.transition('stopped', reason);
  }

  private async closeAll(): Promise<void> {
    await this.vaults.close();
    await this.audit.close();
  }

  /**
   * Applies a new config without dropping the link or in-flight commands:
   * vault profiles (changed pools swapped, secrets re-read) and policy.
   * Settings that need a new link or identity (controller, gatewayId,
   * clusterId, priority, limits, telemetry) are reported and applied at the
   * next restart.
   */
  reload(next: GatewayConfig): { vaults: ReturnType<VaultSet['apply']>; needsRestart: string[] } {
    const needsRestart: string[] = [];
    for (const key of ['gatewayId', 'clusterId', 'priority', 'controller', 'limits', 'telemetry'] as const) {
      if (JSON.stringify(next[key]) !== JSON.stringify(this.config[key])) needsRestart.push(key);
    }
    const vaults = this.vaults.apply(next.vaults);
    this.dispatcher.updatePolicy(next.policy);
    this.config = next;
    this.log.info({ ...vaults, needsRestart }, 'configuration reloaded');
    this.sendHealth();
    return { vaults, needsRestart };
  }

  private wireLink(): void {
    const link = this.link;
    if (!link) return;
    link.on('welcome', (msg) => {
      this.roles.apply({ type: 'granted', role: msg.role, epoch: msg.epoch });
      // hello carried the health of its moment; a change before welcome could not be sent then.
      this.sendHealth();
    });
    link.on('role', (msg) => this.roles.apply({ type: 'granted', role: msg.role, epoch: msg.epoch }));
    link.on('down', () => this.roles.apply({ type: 'link-lost' }));
    link.on('command', (cmd, session) => this.dispatcher.handle(cmd, session));
    link.on('rejected', (r, session) => this.dispatcher.reject(r, session));
  }

  private sendHealth(): void {
    if (!this.link || this.link.state !== 'up') return;
    const message: HealthMessage = { type: 'health', vaults: this.vaults.wire() };
    this.link.send(message);
  }
}
