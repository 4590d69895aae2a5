import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import {
  auditText,
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  makeWorkspace,
  resource,
  simVault,
  waitActive,
  waitFor,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { startGatedSimulator, type GatedSimulator } from '../helpers/gated-simulator.js';
import { spawnGateway, type CliProcess } from '../helpers/gateway-process.js';

/**
 * `credgw run` as a real process (the built CLI, `dist/cli/main.js`, or
 * `$CREDGW_TEST_DIST/cli/main.js`): it starts, serves a console launch
 * through the reference controller's HTTP API, applies a SIGHUP reload
 * without dropping its link, refuses an invalid new config while the old
 * one keeps serving, and drains an in-flight command on SIGTERM before
 * exiting 0; SIGABRT (systemd's watchdog) ends it at once. An invalid
 * config at start is refused with exit status 1 and the key path of every
 * problem.
 */

const CLUSTER = 'site-proc';

let ws: Workspace;
let sim: PmpSimulator;
let gated: GatedSimulator;
let ctl: ReferenceController;
let api: Agent;
let proc: CliProcess | undefined;
let configDir: string;
let raw: Record<string, unknown>;

/** POST /api/v1/clusters/{id}/commands over HTTPS, trusting the controller's certificate through the test CA. */
async function launch(params: Record<string, unknown>, name = 'getPassword'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`${ctl.httpUrl}/api/v1/clusters/${CLUSTER}/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, params, timeoutMs: 20_000 }),
    dispatcher: api,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

const gp = (vault: string, ref: string, accountId: string): Record<string, unknown> => ({
  vault,
  resource: resource(ref),
  accountId,
  ticketId: 'INC-77',
  requestedBy: 'bob@example.com',
});

function connectedAt(): string | undefined {
  return ctl.cluster(CLUSTER)?.gateways.find((g) => g.gatewayId === 'gw-proc')?.connectedAt;
}

beforeAll(async () => {
  ws = makeWorkspace('gw-proc');
  const tls = { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem };
  sim = await startPmpSimulator({ tls });
  gated = await startGatedSimulator(tls);
  ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls, heartbeatMs: 1000 });
  api = new Agent({ connect: { ca: ws.pki.ca.certPem } });
  raw = gatewayConfig(ws, {
    gatewayId: 'gw-proc',
    clusterId: CLUSTER,
    controllerUrl: ctl.wsUrl,
    vaults: [simVault(ws, 'pmp', sim), simVault(ws, 'pmp-gated', gated.sim)],
  });
  configDir = ws.writeConfig(raw);
});

afterAll(async () => {
  proc?.kill();
  await proc?.exited;
  gated?.releaseAll();
  await api?.close();
  await ctl?.close();
  await gated?.close();
  await sim?.close();
  ws?.cleanup();
});

describe('credgw run as a process', () => {
  it('starts and serves a console launch through the controller HTTP API', async () => {
    proc = spawnGateway(configDir);
    await waitActive(ctl, CLUSTER, 'gw-proc');
    const res = await launch(gp('pmp', 'Windows_Jump_Box', '902'));
    expect(res).toMatchObject({ status: 200, body: { ok: true, gatewayId: 'gw-proc', data: { accountName: 'administrator', password: 'Sim-Adm1n-Pass!' } } });
  });

  it('applies a policy change on SIGHUP without dropping the link', async () => {
    const before = connectedAt();
    const promotions = ctl.cluster(CLUSTER)!.counts.promotions;
    ws.writeConfig({ ...raw, policy: { denyAccounts: ['administrator'] } });
    proc!.child.kill('SIGHUP');
    await proc!.waitForOutput(/"msg":"configuration reloaded"/, 'the reload');
    const denied = await launch(gp('pmp', '301', '902'));
    expect(denied.body).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect(connectedAt()).toBe(before);
    expect(ctl.cluster(CLUSTER)!.counts.promotions).toBe(promotions);
  });

  it('refuses an invalid new config on SIGHUP and keeps serving with the old one', async () => {
    const before = connectedAt();
    ws.writeConfig({ ...raw, policy: { denyAccounts: [] }, limits: { maxInFlight: 0 } });
    proc!.child.kill('SIGHUP');
    await proc!.waitForOutput(/reload refused, the running configuration stays/, 'the refusal');
    expect(proc!.stdout()).toMatch(/"problem":"limits\.maxInFlight[^"]*"/);
    // Still the policy of the last good config: administrator denied, others served.
    expect((await launch(gp('pmp', '301', '902'))).body).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect((await launch(gp('pmp', '302', '912'))).body).toMatchObject({ ok: true, data: { password: 'Sim-Deploy-Pass!' } });
    expect(connectedAt()).toBe(before);
  });

  it('reopens the audit file on SIGHUP (logrotate: rename, then reload): new lines in a new 0640 file at the path', async () => {
    const path = join(ws.dir, 'gw-proc-audit.log');
    // The two reloads above each reopened the file too: wait for this one's line.
    const mark = proc!.stdoutMark();
    renameSync(path, `${path}.1`);
    // The config on disk is still the refused one: the reopen does not depend on it.
    proc!.child.kill('SIGHUP');
    await proc!.waitForStdoutAfter(mark, /"msg":"audit file reopened"/, 'the reopen');
    const res = await launch(gp('pmp', '302', '912'));
    expect(res.body).toMatchObject({ ok: true });
    const id = String(res.body['id']);
    await waitFor(() => existsSync(path) && readFileSync(path, 'utf8').includes(id), 'the new audit line in the new file');
    expect(readFileSync(`${path}.1`, 'utf8')).not.toContain(id);
    expect(readFileSync(`${path}.1`, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(4);
    expect((statSync(path).mode & 0o777).toString(8)).toBe('640');
  });

  it('drains the command in flight on SIGTERM, then exits 0', async () => {
    const listPath = '/restapi/json/v1/resources/301/accounts';
    const seen = gated.sim.stats().byPath[listPath] ?? 0;
    const pending = launch(gp('pmp-gated', '301', '903'));
    // The command's first vault call has reached the simulator: the gateway holds it in flight.
    await waitFor(() => (gated.sim.stats().byPath[listPath] ?? 0) > seen, 'the in-flight vault call');
    proc!.child.kill('SIGTERM');
    await proc!.waitForOutput(/"msg":"resigned the active role"/, 'the resign');
    expect((await gated.release(pending)).body).toMatchObject({ ok: true, gatewayId: 'gw-proc', data: { accountName: 'svc_backup', password: 'Sim-Backup-Pass!' } });
    expect(await proc!.exited).toEqual({ code: 0, signal: null });
    expect(proc!.stdout()).toMatch(/"to":"stopped"/);
  });

  it('abandons a command still in flight when the drain time runs out: answered NOT_ACTIVE and audited, its vault call cut, exit 0 without waiting for the vault', async () => {
    // The vault's own time-out far away (10 min): only the drain bound can end the command.
    const vaults = [simVault(ws, 'pmp', sim), simVault(ws, 'pmp-gated', gated.sim, { timeoutMs: 600_000 })];
    const gw = spawnGateway(ws.writeConfig({ ...raw, vaults, limits: { drainTimeoutMs: 200 } }, 'etc-abandon'));
    const listPath = '/restapi/json/v1/resources/301/accounts';
    try {
      await waitActive(ctl, CLUSTER, 'gw-proc');
      const seen = gated.sim.stats().byPath[listPath] ?? 0;
      // Its answer is not awaited: with no other gateway, the controller holds the re-sent command to its time-out.
      void launch(gp('pmp-gated', '301', '903')).catch(() => undefined);
      await waitFor(() => (gated.sim.stats().byPath[listPath] ?? 0) > seen, 'the in-flight vault call');
      gw.child.kill('SIGTERM');
      // The gated vault holds its answer until the test moves its clock, which it does not: the exit cannot wait for the call.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((done) => (timer = setTimeout(() => done('still running 5 s after SIGTERM'), 5000)));
      expect(await Promise.race([gw.exited, late])).toEqual({ code: 0, signal: null });
      clearTimeout(timer);
      expect(gw.stdout()).toMatch(/"abandoned":1,.*"msg":"drain time ran out: the commands in flight are abandoned, their vault calls cut"/);
      const lines = auditText(ws, 'gw-proc').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => l['vault'] === 'pmp-gated' && l['outcome'] === 'NOT_ACTIVE')).toHaveLength(1);
    } finally {
      gated.releaseAll();
      gw.kill();
      await gw.exited;
    }
  });

  it('wrote no token or password to stdout, stderr or the audit file', () => {
    const out = proc!.stdout();
    expect(out).toMatch(/"msg":"controller link up"/);
    expectNoSecrets('stdout', out);
    expectNoSecrets('stderr', proc!.stderr());
    // Rotated once (above): the earlier lines are in .1.
    const audit = readFileSync(join(ws.dir, 'gw-proc-audit.log.1'), 'utf8') + auditText(ws, 'gw-proc');
    expect(audit.trim().split('\n').length).toBeGreaterThanOrEqual(5);
    expectNoSecrets('audit', audit);
  });

  it('refuses to start on an invalid config: exit 1 and the key path of every problem', async () => {
    const badDir = ws.writeConfig(
      {
        ...raw,
        vaults: [{ ...(raw['vaults'] as Record<string, unknown>[])[0], timeoutMs: 5 }],
        limits: { maxInFlight: 0 },
      },
      'etc-bad',
    );
    const bad = spawnGateway(badDir);
    const exit = await bad.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(bad.stderr()).toMatch(/vaults\[0\]\.timeoutMs/);
    expect(bad.stderr()).toMatch(/limits\.maxInFlight/);
    expect(bad.stderr()).toMatch(/CONFIG_INVALID/);
    expect(ctl.connectedGateways()).toEqual([]);
    expectNoSecrets('stderr of a refused start', bad.stdout() + bad.stderr());
  });

  it('refuses to start when telemetry.audit cannot be opened: one line naming the file, exit 1, no stack trace', async () => {
    const target = join(ws.dir, 'no-such-dir', 'audit.log');
    const dir = ws.writeConfig({ ...raw, telemetry: { ...(raw['telemetry'] as Record<string, unknown>), audit: target } }, 'etc-no-audit');
    const bad = spawnGateway(dir);
    expect(await bad.exited).toEqual({ code: 1, signal: null });
    expect(bad.stderr()).toBe(
      `error: AUDIT_UNAVAILABLE: telemetry.audit: cannot open ${target} for appending: ${join(ws.dir, 'no-such-dir')} does not exist; credgw run refuses to start\n`,
    );
    expect(bad.stdout()).not.toMatch(/stack|    at /);
  });

  it('dies of SIGABRT, the signal systemd\'s watchdog kills with, at once (no exit hook swallows it)', async () => {
    const gw = spawnGateway(ws.writeConfig(raw, 'etc-abrt'));
    try {
      await waitActive(ctl, CLUSTER, 'gw-proc');
      gw.child.kill('SIGABRT');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((done) => (timer = setTimeout(() => done('still running 5 s after SIGABRT'), 5000)));
      const exit = await Promise.race([gw.exited, late]);
      clearTimeout(timer);
      expect(exit).toEqual({ code: null, signal: 'SIGABRT' });
    } finally {
      gw.kill();
      await gw.exited;
    }
  });
});
