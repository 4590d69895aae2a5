import { Counter, Gauge, loadCollectDefaultMetrics, Registry } from './prom-client-parts.js';
import { registerEventMetrics, type EventMetricsSnapshot } from './event-metrics.js';
import { LabeledCounter, LabeledHistogram, type CounterSeries, type HistogramSeries } from './labeled-metrics.js';

/**
 * The gateway's Prometheus metrics, on a registry of its own (never
 * prom-client's global one, so two daemons in one test process, or a
 * library that registers on the global registry, cannot collide).
 *
 * Label values are bounded: command names and outcome codes come from
 * fixed unions, vault names from the config, link states and roles from
 * their state machines. Nothing from a command's parameters (resource,
 * account, requester) ever becomes a label.
 *
 * The daemon calls the methods below from the dispatcher's onOutcome hook,
 * the instrumented vault clients, the link's events and the role manager.
 * The per-command series (commands, vault calls, their latencies) are
 * LabeledCounter/LabeledHistogram, whose series objects are kept here per
 * label set: a command costs a few field updates, not prom-client's label
 * hashing (see labeled-metrics.ts).
 */

/** The series of one command name: its latency and a count per outcome. */
interface NameSeries {
  seconds: HistogramSeries<'name'>;
  outcomes: Map<string, CounterSeries<'name' | 'outcome'>>;
}

/** The series of one vault operation: its latency and a count per outcome. */
interface OperationSeries {
  seconds: HistogramSeries<'vault' | 'operation'>;
  outcomes: Map<string, CounterSeries<'vault' | 'operation' | 'outcome'>>;
}

/** Seconds; from 1 ms (a cached listAccounts) to 10 s (the default command time-out). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * The link's states (src/link/link-state.ts LINK_STATES, plus 'disabled'
 * when no controller is configured). Listed here so every state has a
 * series from the start (a gauge that appears only once it becomes 1 makes
 * "state == up" alerts miss the first outage); a unit test keeps the list
 * in step with the link. A state outside the list still gets a series.
 */
export const LINK_STATE_LABELS: readonly string[] = Object.freeze(['disabled', 'idle', 'connecting', 'handshaking', 'up', 'backoff', 'stopped']);

/** The gateway's roles as GatewayStatus shows them. */
export const ROLE_LABELS: readonly string[] = Object.freeze(['unknown', 'standby', 'active', 'resigning', 'stopped']);

export interface MetricsOptions {
  /** Prefix of every credgw metric name. Default 'credgw_'. */
  prefix?: string;
  /**
   * Also collect prom-client's default process metrics (CPU, memory,
   * event-loop lag, handles, GC) on the private registry. Default true.
   * Registered by startProcessMetrics() (the gateway, before its telemetry
   * endpoint listens), else at the first render().
   */
  processMetrics?: boolean;
  /** Labels of the constant `credgw_info` gauge (1). Default: no info gauge. */
  info?: { version: string; gatewayId: string; clusterId: string };
}

export interface CommandCompleted {
  /** listAccounts / getPassword; null for frames rejected before a name was usable (shown as "unknown"). */
  name: string | null;
  /** 'ok' or the result's error code. */
  outcome: string;
  durationMs: number;
  /** Time spent in the admission queue; undefined when the command never waited there. */
  queuedMs?: number | undefined;
}

export interface VaultCallCompleted {
  /** Vault profile name. */
  vault: string;
  /** The client method (listResources, resolveResource, listAccounts, accountNotes, getPassword, probe). */
  operation: string;
  /** 'ok', an error code, or 'aborted' when the caller's deadline cancelled it. */
  outcome: string;
  durationMs: number;
}

export class Metrics {
  /** The Content-Type of render()'s text. */
  readonly contentType: string;
  private readonly registry = new Registry();
  private readonly commands: LabeledCounter<'name' | 'outcome'>;
  private readonly commandSeconds: LabeledHistogram<'name'>;
  private readonly queueWait: HistogramSeries<never>;
  private readonly vaultCalls: LabeledCounter<'vault' | 'operation' | 'outcome'>;
  private readonly vaultSeconds: LabeledHistogram<'vault' | 'operation'>;
  private readonly vaultUp: Gauge<'vault'>;
  private readonly linkStateGauge: Gauge<'state'>;
  private readonly reconnects: Counter;
  private readonly roleGauge: Gauge<'role'>;
  private readonly epochGauge: Gauge;
  private readonly denials: Counter<'vault'>;
  private inFlightSource: () => number = () => 0;
  private queuedSource: () => number = () => 0;
  private eventsSource: () => EventMetricsSnapshot | null = () => null;
  private readonly linkStates = new Set<string>(LINK_STATE_LABELS);
  private readonly roles = new Set<string>(ROLE_LABELS);
  /** command name → its series. */
  private readonly commandSeries = new Map<string, NameSeries>();
  /** vault → operation → its series; also what forgetVault removes. */
  private readonly vaultSeries = new Map<string, Map<string, OperationSeries>>();
  /** Pending or done registration of the default process metrics; null when they are off. */
  private processMetrics: Promise<void> | undefined | null;

  constructor(options: MetricsOptions = {}) {
    const p = options.prefix ?? 'credgw_';
    const registers = [this.registry];
    this.contentType = this.registry.contentType;

    this.commands = new LabeledCounter(
      `${p}commands_total`,
      'Commands answered, by command name and outcome (ok or the error code).',
      ['name', 'outcome'],
      registers,
    );
    this.commandSeconds = new LabeledHistogram(
      `${p}command_duration_seconds`,
      'Time from receiving a command to sending its result, by command name.',
      ['name'],
      LATENCY_BUCKETS_SECONDS,
      registers,
    );
    this.queueWait = new LabeledHistogram<never>(
      `${p}command_queue_wait_seconds`,
      'Time commands waited in the admission queue (limits.maxQueued) before they started or ended there.',
      [],
      LATENCY_BUCKETS_SECONDS,
      registers,
    ).series({});
    this.vaultCalls = new LabeledCounter(
      `${p}vault_calls_total`,
      'Calls to PMP/PAM360, by vault profile, client operation and outcome (ok, an error code, or aborted).',
      ['vault', 'operation', 'outcome'],
      registers,
    );
    this.vaultSeconds = new LabeledHistogram(
      `${p}vault_call_duration_seconds`,
      'Duration of calls to PMP/PAM360, by vault profile and client operation.',
      ['vault', 'operation'],
      LATENCY_BUCKETS_SECONDS,
      registers,
    );
    this.vaultUp = new Gauge({
      name: `${p}vault_healthy`,
      help: 'Result of the last health probe of each vault profile (1 healthy, 0 not).',
      labelNames: ['vault'],
      registers,
    });
    this.linkStateGauge = new Gauge({
      name: `${p}link_state`,
      help: 'State of the controller link: 1 for the current state, 0 for the others.',
      labelNames: ['state'],
      registers,
    });
    this.reconnects = new Counter({
      name: `${p}link_reconnects_total`,
      help: 'Dials of the controller link after the first one.',
      registers,
    });
    this.roleGauge = new Gauge({
      name: `${p}role`,
      help: 'HA role of this gateway: 1 for the current role, 0 for the others.',
      labelNames: ['role'],
      registers,
    });
    this.epochGauge = new Gauge({
      name: `${p}epoch`,
      help: 'Epoch of the current role grant (0 before the first welcome).',
      registers,
    });
    const metrics = this;
    // Registered for its collect(); nothing sets it between scrapes.
    new Gauge({
      name: `${p}commands_in_flight`,
      help: 'Commands executing now.',
      registers,
      collect() {
        this.set(metrics.read(metrics.inFlightSource));
      },
    });
    new Gauge({
      name: `${p}commands_queued`,
      help: 'Commands waiting in the admission queue.',
      registers,
      collect() {
        this.set(metrics.read(metrics.queuedSource));
      },
    });
    this.denials = new Counter({
      name: `${p}policy_denials_total`,
      help: 'Commands refused by the local policy (POLICY_DENIED), by vault profile.',
      labelNames: ['vault'],
      registers,
    });
    if (options.info) {
      new Gauge({
        name: `${p}info`,
        help: 'Version and identity of this gateway (always 1).',
        labelNames: ['version', 'gateway_id', 'cluster_id'],
        registers,
      }).set({ version: options.info.version, gateway_id: options.info.gatewayId, cluster_id: options.info.clusterId }, 1);
    }

    registerEventMetrics(this.registry, p, () => this.eventsSource());
    this.linkState('idle');
    this.role('unknown', null);
    this.processMetrics = (options.processMetrics ?? true) ? undefined : null;
  }

  /** Registers the default process metrics (once; their module is loaded only now: it is only read by a scrape). */
  startProcessMetrics(): Promise<void> {
    if (this.processMetrics === null) return Promise.resolve();
    this.processMetrics ??= loadCollectDefaultMetrics().then((collect) => collect({ register: this.registry }));
    return this.processMetrics;
  }

  /** One finished command (the dispatcher's onOutcome hook). */
  commandCompleted(c: CommandCompleted): void {
    const name = c.name ?? 'unknown';
    let byName = this.commandSeries.get(name);
    if (!byName) {
      byName = { seconds: this.commandSeconds.series({ name }), outcomes: new Map() };
      this.commandSeries.set(name, byName);
    }
    let count = byName.outcomes.get(c.outcome);
    if (!count) {
      count = this.commands.series({ name, outcome: c.outcome });
      byName.outcomes.set(c.outcome, count);
    }
    count.inc();
    byName.seconds.observe(seconds(c.durationMs));
    if (c.queuedMs !== undefined) this.queueWait.observe(seconds(c.queuedMs));
  }

  /** One finished call to a vault (the instrumented vault client). */
  vaultCall(c: VaultCallCompleted): void {
    const { vault, operation, outcome } = c;
    let ops = this.vaultSeries.get(vault);
    if (!ops) {
      ops = new Map();
      this.vaultSeries.set(vault, ops);
    }
    let op = ops.get(operation);
    if (!op) {
      op = { seconds: this.vaultSeconds.series({ vault, operation }), outcomes: new Map() };
      ops.set(operation, op);
    }
    let count = op.outcomes.get(outcome);
    if (!count) {
      count = this.vaultCalls.series({ vault, operation, outcome });
      op.outcomes.set(outcome, count);
    }
    count.inc();
    op.seconds.observe(seconds(c.durationMs));
  }

  /** A vault's health changed (or was probed). */
  vaultHealth(vault: string, healthy: boolean): void {
    this.vaultUp.set({ vault }, healthy ? 1 : 0);
  }

  /**
   * Forgets a vault profile removed by a reload, so its series stop being
   * exported (their counts are lost, as Prometheus expects of a vanished series).
   */
  forgetVault(vault: string): void {
    for (const [operation, op] of this.vaultSeries.get(vault) ?? []) {
      this.vaultSeconds.remove({ vault, operation });
      for (const outcome of op.outcomes.keys()) this.vaultCalls.remove({ vault, operation, outcome });
    }
    this.vaultSeries.delete(vault);
    this.vaultUp.remove({ vault });
    this.denials.remove({ vault });
  }

  /** The link moved to `state`. */
  linkState(state: string): void {
    this.linkStates.add(state);
    for (const s of this.linkStates) this.linkStateGauge.set({ state: s }, s === state ? 1 : 0);
  }

  /** The link scheduled a reconnect. */
  reconnect(): void {
    this.reconnects.inc();
  }

  /** The role (and its epoch) changed; epoch null before the first welcome. */
  role(role: string, epoch: number | null): void {
    this.roles.add(role);
    for (const r of this.roles) this.roleGauge.set({ role: r }, r === role ? 1 : 0);
    this.epochGauge.set(epoch ?? 0);
  }

  /** A command was refused by the local policy. */
  policyDenied(vault: string): void {
    this.denials.inc({ vault });
  }

  /** Where the in-flight gauge reads its value at each scrape. */
  setInFlightSource(source: () => number): void {
    this.inFlightSource = source;
  }

  /** Where the admission-queue gauge reads its value at each scrape. */
  setQueuedSource(source: () => number): void {
    this.queuedSource = source;
  }

  /** Where the rotation-event metrics read their counts at each scrape (event-metrics.ts). */
  setEventsSource(source: () => EventMetricsSnapshot | null): void {
    this.eventsSource = source;
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  async render(): Promise<string> {
    await this.startProcessMetrics();
    return this.registry.metrics();
  }

  private read(source: () => number): number {
    try {
      const n = source();
      return Number.isFinite(n) ? n : 0;
    } catch {
      // A scrape must not fail because one source did; the gauge then reads 0.
      return 0;
    }
  }
}

function seconds(ms: number): number {
  return Math.max(0, ms) / 1000;
}
