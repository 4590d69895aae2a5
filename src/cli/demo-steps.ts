import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_DIR_ENV } from '../config/index.js';
import { PROXY_ENV } from '../sim/index.js';
import { consoleLaunch } from './demo-console-launch.js';
import { DEFAULT_STEP_TIMEOUT_MS, DEMO_CLUSTER, type DemoContext, type DemoOptions } from './demo-context.js';
import { failover, keep } from './demo-failover.js';
import { approval, rotation } from './demo-lifecycle.js';
import { stepLine, summaryTable, type StepRecord } from './demo-output.js';
import { startAll } from './demo-start.js';
import { DemoFailure, StepRunner } from './demo-step-runner.js';
import { describeExit, ProcessSupervisor, type ManagedProcess } from './demo-supervisor.js';

/**
 * The demo's scenario: start the PMP simulator, the reference controller
 * and two gateways as real processes from embedded defaults in a fresh
 * temporary directory (demo-start.ts); do a console launch through the
 * controller's HTTP API (demo-console-launch.ts); rotate a password in the
 * simulator and see one event at the controller, and follow an access
 * request through its approval (demo-lifecycle.ts); kill -9 the active;
 * watch the standby take over and serve (demo-failover.ts); clean up
 * everything it started. docs/demo.md shows the output.
 */

/** SIGTERM → SIGKILL grace at clean-up; a gateway drains well within it. */
const STOP_GRACE_MS = 5_000;

/**
 * Proxy settings would route the gateways' (and the reset listener's curl)
 * loopback connections through a proxy: the demo never leaves the host. A
 * STATE_DIRECTORY would give both gateways one state directory.
 */
const STRIPPED_ENV = [...PROXY_ENV, CONFIG_DIR_ENV, 'STATE_DIRECTORY'];

type Phase = 'steps' | 'keeping' | 'cleanup' | 'done';

export class DemoRun {
  private phase: Phase = 'steps';
  private readonly supervisor: ProcessSupervisor;
  /** Aborted when a child ends on its own: every step waiting on anything fails at once. */
  private readonly crashed = new AbortController();
  private readonly totalSteps: number;
  private readonly runner: StepRunner;
  private dir: string | null = null;
  private readonly clients: Array<{ close(): Promise<void> }> = [];
  private cleaning: Promise<void> | null = null;

  constructor(private readonly opts: DemoOptions) {
    const env = { ...opts.env };
    for (const key of STRIPPED_ENV) delete env[key];
    this.supervisor = new ProcessSupervisor({
      cliEntry: opts.cliEntry,
      env,
      clock: opts.clock,
      onUnexpectedExit: (proc, info) => this.onChildExit(proc, info.code, info.signal),
    });
    // 16 steps, the restart of the killed gateway with --keep, and the clean-up.
    this.totalSteps = opts.keep ? 18 : 17;
    this.runner = new StepRunner({
      clock: opts.clock,
      out: opts.out,
      signals: [opts.stop, this.crashed.signal],
      stepTimeoutMs: this.stepTimeoutMs,
      totalSteps: this.totalSteps,
      processes: () => this.supervisor.all,
    });
  }

  /** What the user sees at the end. */
  get steps(): readonly StepRecord[] {
    return this.runner.records;
  }

  /**
   * Runs the whole demo and cleans up, whatever happens. Resolves when the
   * demo succeeded (and, with keep, when `stop` ended the keep phase);
   * rejects with DemoFailure or the DemoInterrupted reason of `stop`.
   */
  async run(): Promise<void> {
    try {
      await this.scenario();
    } finally {
      await this.cleanup();
    }
  }

  /** Stops every child and removes the temp dir (idempotent; also called by the signal path). */
  cleanup(): Promise<void> {
    this.cleaning ??= this.doCleanup();
    return this.cleaning;
  }

  /** For a process 'exit' handler: SIGKILL every child still running and remove the temp dir, synchronously. */
  cleanupSync(): void {
    this.supervisor.killAllSync();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private async scenario(): Promise<void> {
    const { out } = this.opts;
    this.dir = mkdtempSync(join(tmpdir(), 'credgw-demo-'));
    mkdirSync(join(this.dir, 'logs'), { mode: 0o700 });
    out(`credgw demo: PMP simulator, reference controller and two gateways of cluster "${DEMO_CLUSTER}", as real processes on loopback`);
    out(`  working in ${this.dir} (removed at the end)${this.opts.reveal ? '; --reveal: passwords are shown in full' : ''}`);
    out('');
    const ctx = this.context();
    const s = await startAll(ctx, this.dir);
    const launch = await consoleLaunch(ctx, s);
    await rotation(ctx, s);
    await approval(ctx, s);
    await failover(ctx, s, launch.password);
    if (this.opts.keep) await keep(ctx, s);
  }

  /** The run as its steps see it. */
  private context(): DemoContext {
    const supervisor = this.supervisor;
    return {
      opts: this.opts,
      runner: this.runner,
      stepTimeoutMs: this.stepTimeoutMs,
      crashed: this.crashed.signal,
      get processes() {
        return supervisor.all;
      },
      spawn: (procs, name, args) => {
        const p = this.supervisor.start(name, args, join(this.dir!, 'logs', `${name}.log`));
        procs.set(name, p);
        return p;
      },
      useClient: (client) => {
        this.clients.push(client);
      },
      keeping: () => {
        this.phase = 'keeping';
      },
    };
  }

  private get stepTimeoutMs(): number {
    return this.opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  }

  private onChildExit(proc: ManagedProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const how = describeExit({ code, signal });
    if (this.phase === 'keeping') {
      this.opts.out(`  ${proc.name} (pid ${proc.pid}) ended (${how})`);
      return;
    }
    if (this.phase !== 'steps') return;
    this.crashed.abort(new DemoFailure('PROCESS_EXITED', `${proc.name} (pid ${proc.pid}) ended on its own (${how})`, [proc]));
  }

  private async doCleanup(): Promise<void> {
    this.phase = 'cleanup';
    const started = this.opts.clock.monotonic();
    const all = this.supervisor.all;
    const running = all.filter((p) => p.running).length;
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    // Gateways first: they resign and close their links while the controller still listens.
    await this.supervisor.stop(all.filter((p) => p.name.startsWith('gw-')), STOP_GRACE_MS);
    await this.supervisor.stop(all, STOP_GRACE_MS);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.phase = 'done';
    if (all.length === 0) return;
    const record: StepRecord = {
      n: this.runner.records.length + 1,
      title: 'clean up',
      outcome: 'ok',
      summary: `${running} running process${running === 1 ? '' : 'es'} stopped (of ${all.length} started), ${this.dir} removed`,
      ms: this.opts.clock.monotonic() - started,
    };
    this.runner.records.push(record);
    this.opts.out(stepLine(record, Math.max(this.totalSteps, record.n)));
    this.opts.out('');
    this.opts.out(summaryTable(this.runner.records));
  }
}
