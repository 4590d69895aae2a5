import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startReferenceController, type ClusterSnapshot, type CommandOutcome, type ReferenceController } from '../../src/sim/controller/index.js';
import { writeConfigDir } from '../../src/sim/gateway-process.js';
import { SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { CliProcess, cliMain, spawnGateway } from './gateway-process.js';
import { testPki, type TestPki } from './pki.js';
import { waitFor } from './wait-for.js';

/**
 * An active/standby cluster for end-to-end tests: the reference controller
 * and one PMP simulator per gateway run in this process (so a test can
 * inject vault faults into one gateway's vault only, and restart the
 * controller on the same port), while every gateway is a real
 * `node <dist>/cli/main.js --config-dir DIR run` process (gateway-process.ts)
 * that tests kill with signals as an operator or a crash would.
 */
const CONTROLLER_TOKEN = 'e2e-gateway-token-Qx81';

export interface GatewaySpec {
  id: string;
  /** Default 100. */
  priority?: number;
}

export interface ClusterHarnessOptions {
  /** Default 'site-e2e'. */
  clusterId?: string;
  /** The gateways; default gw-a and gw-b, both priority 100. */
  gateways?: GatewaySpec[];
  /** Announced by the controller; the liveness window is 3×. Default 200. */
  heartbeatMs?: number;
  /** Gateways' limits.drainTimeoutMs. Default 3000. */
  drainTimeoutMs?: number;
  /** Vault profiles' healthIntervalMs (the schema's minimum is 1000). Default 1000. */
  healthIntervalMs?: number;
}

/** The audit fields the tests look at (src/telemetry/audit.ts). */
export interface AuditLine {
  /** ISO time the command finished. */
  time: string;
  commandId: string;
  epoch: number;
  gatewayId: string;
  outcome: string;
  durationMs: number;
}

/** One gateway process, with its audit file. */
export class GatewayProcess extends CliProcess {
  constructor(
    readonly id: string,
    child: CliProcess['child'],
    readonly auditFile: string,
  ) {
    super(child);
  }

  /** The audit events written so far. */
  audit(): AuditLine[] {
    if (!existsSync(this.auditFile)) return [];
    return readFileSync(this.auditFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as AuditLine);
  }
}

export class ClusterHarness {
  readonly clusterId: string;
  readonly pki: TestPki;
  /** The running controller (a new object after restartController()). */
  ctl!: ReferenceController;
  /** Each gateway's own PMP simulator. */
  readonly sims = new Map<string, PmpSimulator>();
  readonly gateways = new Map<string, GatewayProcess>();
  /** Load generators, stopped by close() (a failed test leaves its own running). */
  readonly loads = new Set<LoadGenerator>();
  /** Every process ever started, so close() can reap them all. */
  private readonly started: GatewayProcess[] = [];
  readonly stateFile: string;
  private readonly specs: GatewaySpec[];
  private readonly heartbeatMs: number;
  private readonly drainTimeoutMs: number;
  private readonly healthIntervalMs: number;
  private port = 0;

  private constructor(
    readonly dir: string,
    opts: ClusterHarnessOptions,
  ) {
    this.clusterId = opts.clusterId ?? 'site-e2e';
    this.specs = opts.gateways ?? [{ id: 'gw-a' }, { id: 'gw-b' }];
    this.heartbeatMs = opts.heartbeatMs ?? 200;
    this.drainTimeoutMs = opts.drainTimeoutMs ?? 3000;
    this.healthIntervalMs = opts.healthIntervalMs ?? 1000;
    this.pki = testPki();
    this.stateFile = join(dir, 'controller-state.json');
  }

  /** Starts the simulators and the controller (no gateway yet). */
  static async create(opts: ClusterHarnessOptions = {}): Promise<ClusterHarness> {
    cliMain(); // fails early when the CLI is not built
    const h = new ClusterHarness(mkdtempSync(join(tmpdir(), 'credgw-e2e-')), opts);
    writeFileSync(join(h.dir, 'ctl.token'), `${CONTROLLER_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(h.dir, 'pmp.token'), `${SAMPLE_TOKEN}\n`, { mode: 0o600 });
    for (const spec of h.specs) {
      h.sims.set(spec.id, await startPmpSimulator({ port: 0, tls: { certPem: h.pki.server.certPem, keyPem: h.pki.server.keyPem } }));
    }
    await h.startController();
    return h;
  }

  /** Starts the controller, on the port of the previous one when there was one (the gateways' URL stays valid). */
  private async startController(): Promise<void> {
    this.ctl = await startReferenceController({
      port: this.port,
      tokens: [CONTROLLER_TOKEN],
      tls: { certPem: this.pki.server.certPem, keyPem: this.pki.server.keyPem },
      heartbeatMs: this.heartbeatMs,
      stateFile: this.stateFile,
    });
    this.port = this.ctl.port;
  }

  /** Closes the controller (gateways see 1001) and starts a new one on the same port with the same state file. */
  async restartController(): Promise<void> {
    await this.ctl.close();
    await this.startController();
  }

  private writeConfig(spec: GatewaySpec): { configDir: string; auditFile: string } {
    const configDir = join(this.dir, spec.id);
    const auditFile = join(configDir, 'audit.jsonl');
    const sim = this.sims.get(spec.id)!;
    const ca = join(this.pki.dir, 'ca.crt');
    const config = {
      gatewayId: spec.id,
      clusterId: this.clusterId,
      priority: spec.priority ?? 100,
      controller: {
        url: `wss://127.0.0.1:${this.port}/gateway`,
        token: pathToFileURL(join(this.dir, 'ctl.token')).href,
        insecure: false,
        caFile: ca,
      },
      vaults: [
        {
          name: 'pmp',
          url: sim.url,
          token: pathToFileURL(join(this.dir, 'pmp.token')).href,
          caFile: ca,
          timeoutMs: 2000,
          healthIntervalMs: this.healthIntervalMs,
        },
      ],
      limits: { drainTimeoutMs: this.drainTimeoutMs },
      telemetry: { listen: null, logLevel: 'info', audit: auditFile },
    };
    writeConfigDir(configDir, config);
    return { configDir, auditFile };
  }

  /** Spawns (or re-spawns) a gateway process; resolves once it is spawned (not yet connected). */
  spawnGateway(id: string): GatewayProcess {
    const spec = this.specs.find((s) => s.id === id);
    if (!spec) throw new Error(`no gateway ${id} in this cluster`);
    if (this.gateways.get(id)?.running) throw new Error(`gateway ${id} is still running`);
    const { configDir, auditFile } = this.writeConfig(spec);
    const gw = new GatewayProcess(id, spawnGateway(configDir).child, auditFile);
    this.gateways.set(id, gw);
    this.started.push(gw);
    return gw;
  }

  snapshot(): ClusterSnapshot | undefined {
    return this.ctl.cluster(this.clusterId);
  }

  activeId(): string | null {
    return this.snapshot()?.activeGatewayId ?? null;
  }

  /** Waits until `id` is joined at the controller with a healthy vault, in `role` when given. */
  async waitJoined(id: string, role?: 'active' | 'standby', timeoutMs = 15_000): Promise<void> {
    await waitFor(
      () => {
        const g = this.snapshot()?.gateways.find((x) => x.gatewayId === id);
        return g !== undefined && g.healthy && !g.resigning && (role === undefined || g.role === role);
      },
      `${id} joined${role ? ` as ${role}` : ''} with a healthy vault`,
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${id} output ---\n${this.gateways.get(id)?.tail() ?? '(not started)'}`);
    });
  }

  /** Submits a getPassword for the sample's administrator of Windows_Jump_Box (resource 301). */
  submitGetPassword(id: string, timeoutMs = 10_000): Promise<CommandOutcome> {
    return this.ctl.submit(this.clusterId, {
      id,
      name: 'getPassword',
      timeoutMs,
      params: {
        vault: 'pmp',
        resource: { id: 'e2e-resource', customAttributes: { 'PMP Resource ID': '301' } },
        accountId: '902',
        ticketId: 'INC-E2E',
        reason: 'e2e failover test',
        requestedBy: 'e2e@example.com',
      },
    });
  }

  /** SIGKILLs every gateway still running (after SIGCONT, in case one is stopped), closes controller and simulators, removes the directory. */
  async close(): Promise<void> {
    await Promise.all([...this.loads].map((l) => l.stop()));
    for (const gw of this.started) {
      if (!gw.running) continue;
      gw.signal('SIGCONT');
      gw.signal('SIGKILL');
    }
    await Promise.all(this.started.map((g) => g.exited));
    await this.ctl?.close();
    for (const sim of this.sims.values()) await sim.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One final answer the load generator saw. */
export interface LoadResult {
  id: string;
  /** HTTP-like status of the controller's answer. */
  status: number;
  ok: boolean;
  /** The gateway code or the controller's code; 'OK' when ok. */
  code: string;
  gatewayId: string | null;
  epoch: number | null;
  attempts: number | null;
  /** Date.now() when submitted and when answered. */
  sentAt: number;
  answeredAt: number;
}

export interface LoadReport {
  submitted: number;
  results: LoadResult[];
  /** ids answered more than once (must be empty). */
  duplicates: string[];
  /** ids submitted and never answered (must be empty once stop() resolved). */
  unanswered: string[];
  ok: number;
  failed: number;
  /** Failed results by code. */
  failures: Record<string, number>;
}

/**
 * A steady stream of getPassword commands: `concurrency` callers, each
 * submitting one command with a unique id, waiting for its one final
 * answer, pausing `pauseMs`, and going again until stop().
 */
export class LoadGenerator {
  private readonly results: LoadResult[] = [];
  private readonly pending = new Set<string>();
  private readonly answered = new Map<string, number>();
  private submitted = 0;
  private running = true;
  private readonly loops: Promise<void>[];
  private seq = 0;

  constructor(
    private readonly harness: ClusterHarness,
    private readonly name: string,
    concurrency = 4,
    private readonly pauseMs = 10,
  ) {
    this.loops = Array.from({ length: concurrency }, (_, i) => this.loop(i));
    harness.loads.add(this);
  }

  private async loop(caller: number): Promise<void> {
    while (this.running) {
      const id = `${this.name}-${caller}-${this.seq++}`;
      this.submitted++;
      this.pending.add(id);
      const sentAt = Date.now();
      // The controller in use now (a restart replaces it).
      const outcome = await this.harness.submitGetPassword(id);
      const answeredAt = Date.now();
      this.pending.delete(id);
      this.answered.set(id, (this.answered.get(id) ?? 0) + 1);
      this.results.push(toResult(id, outcome, sentAt, answeredAt));
      await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  /** Results so far. */
  get seen(): readonly LoadResult[] {
    return this.results;
  }

  /** The first ok result from `gatewayId` answered after `since` (Date.now()). */
  firstOkFrom(gatewayId: string, since: number): LoadResult | undefined {
    return this.results.find((r) => r.ok && r.gatewayId === gatewayId && r.answeredAt >= since);
  }

  /** Counts of results by gateway and code, for failure messages. */
  describe(): string {
    const counts = new Map<string, number>();
    for (const r of this.results) {
      const key = `${r.gatewayId ?? 'controller'}:${r.status}:${r.code}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return `${this.submitted} submitted, ${this.pending.size} pending, results ${JSON.stringify(Object.fromEntries(counts))}`;
  }

  /** Stops submitting, waits for every command out to be answered, and reports. */
  async stop(): Promise<LoadReport> {
    this.running = false;
    await Promise.all(this.loops);
    this.harness.loads.delete(this);
    const failures: Record<string, number> = {};
    for (const r of this.results) if (!r.ok) failures[r.code] = (failures[r.code] ?? 0) + 1;
    return {
      submitted: this.submitted,
      results: [...this.results],
      duplicates: [...this.answered].filter(([, n]) => n > 1).map(([id]) => id),
      unanswered: [...this.pending],
      ok: this.results.filter((r) => r.ok).length,
      failed: this.results.filter((r) => !r.ok).length,
      failures,
    };
  }
}

function toResult(id: string, outcome: CommandOutcome, sentAt: number, answeredAt: number): LoadResult {
  if (outcome.status === 200) {
    const b = outcome.body;
    return {
      id,
      status: 200,
      ok: b.ok,
      code: b.ok ? 'OK' : b.error.code,
      gatewayId: b.gatewayId,
      epoch: b.epoch,
      attempts: b.attempts,
      sentAt,
      answeredAt,
    };
  }
  return { id, status: outcome.status, ok: false, code: outcome.body.error.code, gatewayId: null, epoch: null, attempts: null, sentAt, answeredAt };
}
