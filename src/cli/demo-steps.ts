import { constants as cryptoConstants, generateKeyPair, privateDecrypt, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CONFIG_DIR_ENV } from '../config/defaults.js';
import { validateConfig } from '../config/compile.js';
import type { AccountSummary, GetPasswordData, GetPasswordParams, ListAccountsData, ResourceRef } from '../protocol/messages.js';
import { sleep, type Clock } from '../shared/clock.js';
import type { ClusterSnapshot, CommandResultBody, GatewaySnapshot } from '../sim/controller/index.js';
import { SAMPLE_TOKEN } from '../sim/pmp/index.js';
import { ControllerApi, type ApiAnswer, type ApiCommand } from './demo-api.js';
import { formatMs, maskSecret, stepLine, summaryTable, type StepRecord } from './demo-output.js';
import { withSignal } from '../shared/abort.js';
import { DemoFailure, StepRunner } from './demo-step-runner.js';
import { describeExit, ProcessSupervisor, type ManagedProcess } from './demo-supervisor.js';
import { table } from './table.js';

/**
 * The demo's scenario: start the PMP simulator, the reference controller
 * and two gateways as real processes from embedded defaults in a fresh
 * temporary directory; do a console launch through the controller's HTTP
 * API; kill -9 the active; watch the standby take over and serve; clean up
 * everything it started. docs/demo.md shows the output.
 */

export const DEMO_CLUSTER = 'demo-site';
export const DEMO_VAULT = 'pmp-demo';
/** The custom attribute the cloud resource carries (the vault profile's default resourceIdAttribute). */
export const DEMO_ATTRIBUTE = 'PMP Resource ID';
/** The simulator's sample resource, given by name so the gateway resolves it. */
export const DEMO_RESOURCE_NAME = 'Windows_Jump_Box';
/** Sample accounts of that resource: a plain one and one that needs a ticket ID. */
export const DEMO_ACCOUNT_PLAIN = { id: '902', name: 'administrator' } as const;
export const DEMO_ACCOUNT_TICKET = { id: '903', name: 'svc_backup' } as const;
export const DEMO_TICKET_ID = 'INC-1042';
/** The longest a step may take before the demo gives up. */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
/** How often readiness and takeover are polled through the controller's API. */
const POLL_MS = 25;
/** Pause after a failed request of the takeover loop, so a refusing controller is not hammered. */
const RETRY_PAUSE_MS = 20;
/** The controller's own deadline for each demo command. */
const COMMAND_TIMEOUT_MS = 10_000;
/** Each request of the takeover loop: short, so a lost one is followed by the next soon. */
const TAKEOVER_COMMAND_TIMEOUT_MS = 5_000;
/** SIGTERM → SIGKILL grace at clean-up; a gateway drains well within it. */
const STOP_GRACE_MS = 5_000;
/** The gateways' own drain bound (limits.drainTimeoutMs), below STOP_GRACE_MS. */
const GATEWAY_DRAIN_MS = 2_000;

interface GatewaySpec {
  id: string;
  priority: number;
}
/** gw-a is preferred (higher priority) and started first, so it is the active. */
const GATEWAYS: readonly GatewaySpec[] = [
  { id: 'gw-a', priority: 200 },
  { id: 'gw-b', priority: 100 },
];

/** Proxy settings would route the gateways' loopback connections through a proxy; the demo never leaves the host. */
const STRIPPED_ENV = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', CONFIG_DIR_ENV];

export interface DemoOptions {
  /** The built CLI entry point (dist/cli/main.js) the children run. */
  cliEntry: string;
  /** Keep everything running at the end until `stop` aborts. Default false. */
  keep?: boolean;
  /** Print passwords in full. Default false: masked. */
  reveal?: boolean;
  /** Default {@link DEFAULT_STEP_TIMEOUT_MS}. */
  stepTimeoutMs?: number;
  /** One line to the user. */
  out: (line: string) => void;
  /** One line of failure detail. */
  err: (line: string) => void;
  clock: Clock;
  /** The environment the children start from (proxy settings and CREDGW_CONFIG_DIR removed). */
  env: NodeJS.ProcessEnv;
  /** Aborted by Ctrl-C/SIGTERM (reason {@link DemoInterrupted}); with --keep it ends the keep phase. */
  stop: AbortSignal;
}

type Phase = 'steps' | 'keeping' | 'cleanup' | 'done';

interface Started {
  dir: string;
  simUrl: string;
  simCert: string;
  ctlWsUrl: string;
  ctlHttpUrl: string;
  ctlCert: string;
  api: ControllerApi;
  procs: Map<string, ManagedProcess>;
  /** file:// references of each gateway's controller token. */
  tokens: Map<string, string>;
}

interface Takeover {
  killedAt: number;
  killedWallAt: number;
  promotion: Promise<ClusterSnapshot>;
  firstServed: Promise<{ answer: CommandResultBody; requests: number; at: number }>;
  stopBackground: AbortController;
}

export class DemoRun {
  private phase: Phase = 'steps';
  private readonly supervisor: ProcessSupervisor;
  /** Aborted when a child ends on its own: every step waiting on anything fails at once. */
  private readonly crashed = new AbortController();
  private readonly totalSteps: number;
  private readonly runner: StepRunner;
  private dir: string | null = null;
  private api: ControllerApi | null = null;
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
    // 11 steps, the restart of the killed gateway with --keep, and the clean-up.
    this.totalSteps = opts.keep ? 13 : 12;
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
    const s = await this.startAll(this.dir);
    const launch = await this.consoleLaunch(s);
    await this.failover(s, launch.password);
    if (this.opts.keep) await this.keep(s);
  }

  // ---- start-up --------------------------------------------------------------

  private async startAll(dir: string): Promise<Started> {
    const procs = new Map<string, ManagedProcess>();
    const simCert = join(dir, 'pmp-simulator.crt');
    const simUrl = await this.runner.step('PMP simulator', async (signal) => {
      const p = this.spawn(procs, 'pmp-sim', ['sim', 'pmp', '--port', '0', '--cert-out', simCert]);
      const url = (await p.waitForLine(/listening on (https:\/\/\S+)/, signal))[1]!;
      await p.waitForLine(/^Stop with Ctrl-C/, signal);
      return { value: url, summary: `${url}, built-in sample data · pid ${p.pid}` };
    });

    const ctlCert = join(dir, 'controller.crt');
    const gatewayTokens = new Map(GATEWAYS.map((g) => [g.id, this.writeSecret(join(dir, `${g.id}-controller.token`), randomBytes(24).toString('base64url'))]));
    const ctl = await this.runner.step('reference controller', async (signal) => {
      const p = this.spawn(procs, 'controller', [
        'sim',
        'controller',
        '--port',
        '0',
        '--tls',
        ...[...gatewayTokens.values()].flatMap((ref) => ['--token', ref]),
        '--state-file',
        join(dir, 'controller-state.json'),
        '--cert-out',
        ctlCert,
      ]);
      const wsUrl = (await p.waitForLine(/gateway URL\s*:\s*(wss:\/\/\S+)/, signal))[1]!;
      const apiUrl = (await p.waitForLine(/HTTP API\s*:\s*(https:\/\/\S+?)\/api\/v1\/clusters/, signal))[1]!;
      await p.waitForLine(/^Stop with Ctrl-C/, signal);
      return { value: { wsUrl, httpUrl: apiUrl }, summary: `${wsUrl} (TLS, own certificate) · pid ${p.pid}` };
    });
    const api = new ControllerApi(ctl.httpUrl, readFileSync(ctlCert, 'utf8'));
    this.api = api;
    const started: Started = { dir, simUrl, simCert, ctlWsUrl: ctl.wsUrl, ctlHttpUrl: ctl.httpUrl, ctlCert, api, procs, tokens: gatewayTokens };

    // One after the other: the first gateway of a cluster is made active, and
    // a better one that joins later stays standby (no flapping), so starting
    // gw-a first makes the roles of the story certain.
    for (const g of GATEWAYS) {
      const wanted = g === GATEWAYS[0] ? 'active' : 'standby';
      await this.runner.step(`gateway ${g.id}`, async (signal) => {
        const p = this.startGateway(started, g, gatewayTokens.get(g.id)!);
        const snap = await this.pollCluster(signal, (c) => {
          const gw = c?.gateways.find((x) => x.gatewayId === g.id);
          return gw && gw.role === wanted && gw.healthy ? gw : undefined;
        });
        return { value: snap, summary: `${describeRole(snap)}, priority ${g.priority}, vault ${DEMO_VAULT} healthy · pid ${p.pid}` };
      });
    }
    return started;
  }

  private startGateway(s: Started, g: GatewaySpec, controllerTokenRef: string): ManagedProcess {
    const configDir = join(s.dir, g.id);
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const pmpToken = this.writeSecret(join(configDir, 'pmp.token'), SAMPLE_TOKEN);
    const raw = {
      gatewayId: g.id,
      clusterId: DEMO_CLUSTER,
      priority: g.priority,
      controller: { url: s.ctlWsUrl, token: controllerTokenRef, caFile: s.ctlCert },
      vaults: [
        {
          name: DEMO_VAULT,
          url: s.simUrl,
          token: pmpToken,
          resourceIdAttribute: DEMO_ATTRIBUTE,
          includeAccountNotes: true,
          caFile: s.simCert,
        },
      ],
      limits: { drainTimeoutMs: GATEWAY_DRAIN_MS },
      // No health endpoint: two gateways on one host would want the same port.
      telemetry: { listen: null, logLevel: 'info', audit: 'stdout' },
    };
    const problems = validateConfig(raw);
    if (problems.length > 0) throw new DemoFailure('DEMO_CONFIG_INVALID', `the demo's config for ${g.id} is invalid: ${problems.join('; ')}`);
    writeFileSync(join(configDir, 'config.json'), `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
    return this.spawn(s.procs, g.id, ['--config-dir', configDir, 'run']);
  }

  // ---- the console launch ----------------------------------------------------

  private async consoleLaunch(s: Started): Promise<{ password: string }> {
    const resource: ResourceRef = { id: 'demo-vm-17', name: 'jump box (as the cloud knows it)', customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } };

    await this.runner.step('listAccounts', async (signal) => {
      const body = await this.command(s, { name: 'listAccounts', params: { vault: DEMO_VAULT, resource } }, signal);
      const data = body.data as unknown as ListAccountsData;
      return {
        value: data,
        summary: `"${DEMO_ATTRIBUTE}": "${DEMO_RESOURCE_NAME}" → PMP resource ${data.resourceId} ${data.resourceName}, ${data.accounts.length} accounts · by ${body.gatewayId}`,
        details: accountRows(data.accounts),
      };
    });

    const plainParams: GetPasswordParams = {
      vault: DEMO_VAULT,
      resource,
      accountId: DEMO_ACCOUNT_PLAIN.id,
      ticketId: DEMO_TICKET_ID,
      reason: 'Remote console launch (credgw demo)',
      requestedBy: 'demo.user@example.com',
    };
    const password = await this.runner.step('getPassword', async (signal) => {
      const body = await this.command(s, { name: 'getPassword', params: plainParams }, signal);
      const pw = passwordOf(body);
      return {
        value: pw,
        summary: `${DEMO_ACCOUNT_PLAIN.name} (${DEMO_ACCOUNT_PLAIN.id}) with ticket ${DEMO_TICKET_ID} → ${this.show(pw)} · by ${body.gatewayId}`,
      };
    });

    await this.runner.step('getPassword, sealed', async (signal) => {
      const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      const body = await this.command(s, { name: 'getPassword', params: { ...plainParams, recipientKey: publicKey } }, signal);
      const data = body.data as unknown as GetPasswordData;
      if (typeof data.sealedPassword !== 'string') throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the sealed answer has no sealedPassword');
      if ('password' in data) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the sealed answer also carries the password in clear');
      const opened = privateDecrypt(
        { key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from(data.sealedPassword, 'base64'),
      ).toString('utf8');
      if (opened !== password) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the unsealed password differs from the plain fetch');
      return {
        value: undefined,
        summary: `RSA-2048 recipient key → only sealedPassword (RSA-OAEP-256), opened here: matches the plain fetch${this.opts.reveal ? ` (${opened})` : ''} · by ${body.gatewayId}`,
      };
    });

    await this.runner.step('getPassword, no ticket', async (signal) => {
      const params: GetPasswordParams = { vault: DEMO_VAULT, resource, accountId: DEMO_ACCOUNT_TICKET.id, requestedBy: 'demo.user@example.com' };
      const answer = await s.api.submit(DEMO_CLUSTER, { name: 'getPassword', params }, COMMAND_TIMEOUT_MS, signal);
      if (answer.kind !== 'result') throw apiFailure(answer);
      const body = answer.body;
      if (body.ok) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `${DEMO_ACCOUNT_TICKET.name} was served without a ticket ID`);
      if (body.error.code !== 'TICKET_ID_REQUIRED') {
        throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `expected TICKET_ID_REQUIRED, got ${body.error.code}: ${body.error.message}`);
      }
      return {
        value: undefined,
        summary: `${DEMO_ACCOUNT_TICKET.name} (${DEMO_ACCOUNT_TICKET.id}) without a ticket ID → refused: ${body.error.code} ("${body.error.message}") · by ${body.gatewayId}`,
      };
    });
    return { password };
  }

  // ---- failover --------------------------------------------------------------

  private async failover(s: Started, password: string): Promise<void> {
    let takeover: Takeover | undefined;
    try {
      const { before, standby } = await this.runner.step('kill -9 the active', async (signal) => {
        const before = await s.api.cluster(DEMO_CLUSTER, signal);
        const activeId = before?.activeGatewayId;
        const victim = activeId ? s.procs.get(activeId) : undefined;
        const standby = before?.gateways.find((g) => g.gatewayId !== activeId && g.role === 'standby');
        if (!before || !victim?.running || !standby) throw new DemoFailure('DEMO_NOT_READY', 'the cluster has no active and standby pair to fail over');
        const t = this.kill(s, victim, standby.gatewayId, before.epoch, password);
        takeover = t;
        const exit = await withSignal(victim.exited, signal);
        return {
          value: { before, standby },
          summary: `${victim.name} (pid ${victim.pid}) ${describeExit(exit)} at epoch ${before.epoch}; getPassword sent in a loop from now on`,
          ms: this.opts.clock.monotonic() - t.killedAt,
        };
      });
      const t = takeover!;
      await this.runner.step('standby promoted', async (signal) => {
        const c = await withSignal(t.promotion, signal);
        const at = c.lastChange ? Date.parse(c.lastChange.at) : NaN;
        const ms = Number.isFinite(at) ? Math.max(0, at - t.killedWallAt) : this.opts.clock.monotonic() - t.killedAt;
        return {
          value: undefined,
          summary: `${standby.gatewayId} active at epoch ${c.epoch} (was ${before.epoch}); controller: "${c.lastChange?.reason ?? 'promoted'}" · time after the kill`,
          ms,
        };
      });
      await this.runner.step('standby serves', async (signal) => {
        const first = await withSignal(t.firstServed, signal);
        const pw = passwordOf(first.answer);
        if (pw !== password) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `${standby.gatewayId} returned a different password for ${DEMO_ACCOUNT_PLAIN.name}`);
        const sent = first.answer.attempts > 1 ? `, re-sent by the controller ${first.answer.attempts - 1}×` : '';
        return {
          value: undefined,
          summary: `getPassword ${DEMO_ACCOUNT_PLAIN.name} → ${this.show(pw)} by ${first.answer.gatewayId} at epoch ${first.answer.epoch} (${first.requests} request${first.requests === 1 ? '' : 's'}${sent}) · time from the kill`,
          ms: first.at - t.killedAt,
        };
      });
    } finally {
      takeover?.stopBackground.abort();
    }
  }

  /**
   * SIGKILL the active, then at once start polling the cluster and sending
   * getPassword in a loop: the figures are measured from this moment.
   */
  private kill(s: Started, victim: ManagedProcess, standbyId: string, oldEpoch: number, password: string): Takeover {
    const stopBackground = new AbortController();
    const timeout = this.opts.clock.setTimeout(
      () => stopBackground.abort(new DemoFailure('STEP_TIMEOUT', `${standbyId} did not take over within ${formatMs(this.stepTimeoutMs)}`)),
      this.stepTimeoutMs,
    );
    const signal = AbortSignal.any([stopBackground.signal, this.opts.stop, this.crashed.signal]);
    signal.addEventListener('abort', () => this.opts.clock.clearTimeout(timeout), { once: true });
    const killedWallAt = this.opts.clock.now();
    const killedAt = this.opts.clock.monotonic();
    victim.kill('SIGKILL');
    const promotion = this.pollCluster(signal, (c) => (c && c.activeGatewayId === standbyId && c.epoch > oldEpoch ? c : undefined));
    const firstServed = (async () => {
      const params: GetPasswordParams = {
        vault: DEMO_VAULT,
        resource: { customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } },
        accountId: DEMO_ACCOUNT_PLAIN.id,
        ticketId: DEMO_TICKET_ID,
        reason: 'Remote console launch during failover (credgw demo)',
        requestedBy: 'demo.user@example.com',
      };
      for (let requests = 1; ; requests++) {
        let answer: ApiAnswer | null = null;
        try {
          answer = await s.api.submit(DEMO_CLUSTER, { name: 'getPassword', params }, TAKEOVER_COMMAND_TIMEOUT_MS, signal);
        } catch (err) {
          if (signal.aborted) throw signal.reason;
          void err; // A request lost in the turmoil: the next one follows.
        }
        if (answer?.kind === 'result' && answer.body.ok && answer.body.gatewayId === standbyId && passwordOf(answer.body) === password) {
          return { answer: answer.body, requests, at: this.opts.clock.monotonic() };
        }
        await sleep(this.opts.clock, RETRY_PAUSE_MS, signal);
      }
    })();
    // Awaited only by later steps; until then a rejection (abort) must not count as unhandled.
    promotion.catch(() => undefined);
    firstServed.catch(() => undefined);
    return { killedAt, killedWallAt, promotion, firstServed, stopBackground };
  }

  // ---- --keep ----------------------------------------------------------------

  private async keep(s: Started): Promise<void> {
    const killed = GATEWAYS.map((g) => g.id).find((id) => !s.procs.get(id)?.running);
    if (killed) {
      const spec = GATEWAYS.find((g) => g.id === killed)!;
      await this.runner.step(`${killed} restarted`, async (signal) => {
        const p = this.startGateway(s, spec, s.tokens.get(spec.id)!);
        const snap = await this.pollCluster(signal, (c) => {
          const gw = c?.gateways.find((x) => x.gatewayId === killed);
          return gw && gw.role === 'standby' && gw.healthy ? gw : undefined;
        });
        return { value: undefined, summary: `rejoined as ${describeRole(snap)} despite its higher priority (no move back) · pid ${p.pid}` };
      });
    }
    const { out } = this.opts;
    const cacert = `--cacert ${s.ctlCert}`;
    const commands = `${s.ctlHttpUrl}/api/v1/clusters/${DEMO_CLUSTER}/commands`;
    const resource = JSON.stringify({ customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } });
    out('');
    out('Everything keeps running (--keep). Try, from another terminal:');
    out(`  curl ${cacert} -sS ${s.ctlHttpUrl}/api/v1/clusters/${DEMO_CLUSTER}`);
    out(`  curl ${cacert} -sS ${commands} -H 'content-type: application/json' \\`);
    out(`    -d '{"name":"listAccounts","params":{"vault":"${DEMO_VAULT}","resource":${resource}}}'`);
    out(`  curl ${cacert} -sS ${commands} -H 'content-type: application/json' \\`);
    out(`    -d '{"name":"getPassword","params":{"vault":"${DEMO_VAULT}","resource":${resource},"accountId":"${DEMO_ACCOUNT_PLAIN.id}","ticketId":"${DEMO_TICKET_ID}"}}'`);
    for (const p of this.supervisor.all) if (p.running) out(`  ${p.name.padEnd(10)} pid ${p.pid}  log ${p.logFile}`);
    out('  kill -9 the active gateway\'s pid to see another failover (the demo does not restart it).');
    out(`Press Ctrl-C to stop everything and remove ${s.dir}.`);
    this.phase = 'keeping';
    await new Promise<void>((resolve) => {
      if (this.opts.stop.aborted) resolve();
      else this.opts.stop.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  // ---- helpers ---------------------------------------------------------------

  private get stepTimeoutMs(): number {
    return this.opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  }

  private spawn(procs: Map<string, ManagedProcess>, name: string, args: string[]): ManagedProcess {
    const p = this.supervisor.start(name, args, join(this.dir!, 'logs', `${name}.log`));
    procs.set(name, p);
    return p;
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

  private async pollCluster<T>(signal: AbortSignal, until: (c: ClusterSnapshot | null) => T | undefined): Promise<T> {
    for (;;) {
      const c = await this.api!.cluster(DEMO_CLUSTER, signal);
      const v = until(c);
      if (v !== undefined) return v;
      await sleep(this.opts.clock, POLL_MS, signal);
    }
  }

  /** A command that must succeed. */
  private async command(s: Started, cmd: ApiCommand, signal: AbortSignal): Promise<CommandResultBody & { ok: true }> {
    const answer = await s.api.submit(DEMO_CLUSTER, cmd, COMMAND_TIMEOUT_MS, signal);
    if (answer.kind !== 'result') throw apiFailure(answer);
    if (!answer.body.ok) {
      throw new DemoFailure(answer.body.error.code, `${cmd.name} failed: ${answer.body.error.message} (from ${answer.body.gatewayId})`);
    }
    return answer.body as CommandResultBody & { ok: true };
  }

  private writeSecret(path: string, value: string): string {
    writeFileSync(path, value, { mode: 0o600 });
    return pathToFileURL(path).href;
  }

  private show(password: string): string {
    return this.opts.reveal ? password : maskSecret(password);
  }

  private async doCleanup(): Promise<void> {
    this.phase = 'cleanup';
    const started = this.opts.clock.monotonic();
    const all = this.supervisor.all;
    const running = all.filter((p) => p.running).length;
    await this.api?.close().catch(() => undefined);
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

function describeRole(g: GatewaySnapshot): string {
  return `${g.role} at epoch ${g.epoch}`;
}

function accountRows(accounts: readonly AccountSummary[]): string[] {
  const rows = accounts.map((a) => [
    a.accountId,
    a.accountName,
    a.notes ? a.notes : '-',
    [a.ticketIdRequired ? 'ticket ID required' : '', a.reasonRequired ? 'reason required' : ''].filter(Boolean).join(', '),
  ]);
  return table(['id', 'account', 'notes', 'needs'], rows).split('\n');
}

function passwordOf(body: CommandResultBody): string {
  const pw = body.ok ? (body.data as Partial<GetPasswordData>).password : undefined;
  if (typeof pw !== 'string') throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the answer carries no password');
  return pw;
}

function apiFailure(answer: ApiAnswer): DemoFailure {
  const e = (answer.body as { error?: { code?: string; message?: string } }).error;
  return new DemoFailure(e?.code ?? 'CONTROLLER_API_ERROR', `the controller answered HTTP ${answer.status}: ${e?.message ?? 'no error body'}`);
}
