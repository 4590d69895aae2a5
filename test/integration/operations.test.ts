/**
 * Issue 4/4's operations proof against a real gateway (in-process, as
 * `credgw run` builds it) with the reference controller and the PMP
 * simulator over TLS: /readyz flips with the link and with the vault,
 * /metrics counts match the commands sent, `credgw status` and
 * `credgw diagnose` against the running daemon, and a reload under load
 * without a failed command.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { runCredgw as cli } from '../helpers/cli.js';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import {
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  makeWorkspace,
  resource,
  simVault,
  startActive,
  submit,
  waitActive,
  waitFor,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';

const CLUSTER = 'ops-site';
/**
 * The controller's heartbeat. The link gives up after 3 heartbeats of
 * silence; at 200 ms a busy test machine stalled that long and dropped the
 * link mid-suite, so the suite's outcome depended on the machine's speed.
 */
const OPS_HEARTBEAT_MS = 1000;



async function get(base: string, path: string): Promise<{ status: number; text: string }> {
  const res = await request(`${base}${path}`);
  return { status: res.statusCode, text: await res.body.text() };
}

/** The value of one sample line of the Prometheus text, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const parts = inner.split(',');
    if (want.every((w) => parts.includes(w))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return 0;
}

describe('operations against a running gateway', () => {
  let ws: Workspace;
  let sim: PmpSimulator;
  let ctl: ReferenceController;
  let gw: InProcessGateway;
  let base: string;
  let raw: Record<string, unknown>;

  beforeAll(async () => {
    ws = makeWorkspace('ops');
    sim = await startPmpSimulator({ port: 0, tls: ws.tls });
    ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls: ws.tls, heartbeatMs: OPS_HEARTBEAT_MS });
    raw = gatewayConfig(ws, {
      gatewayId: 'gw-ops',
      clusterId: CLUSTER,
      controllerUrl: ctl.wsUrl,
      vaults: [simVault(ws, 'pmp', sim, { healthIntervalMs: 1000 })],
      logLevel: 'info',
      telemetryListen: '127.0.0.1:0',
    });
    gw = await startActive(ws, ctl, raw);
    const address = gw.gateway.telemetryAddress;
    if (!address) throw new Error('telemetry endpoint not listening');
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    await gw?.stop();
    await ctl?.close();
    await sim?.close();
    ws?.cleanup();
  });

  it('metrics count exactly the commands sent, by name and outcome', async () => {
    const before = (await get(base, '/metrics')).text;
    const ok = 7;
    const refused = 3;
    for (let i = 0; i < ok; i++) {
      const r = await submit(ctl, CLUSTER, 'getPassword', { vault: 'pmp', resource: resource('301'), accountId: '902' });
      expect(r.ok).toBe(true);
    }
    for (let i = 0; i < refused; i++) {
      const r = await submit(ctl, CLUSTER, 'getPassword', { vault: 'pmp', resource: resource('301'), accountId: '903' });
      expect(r.error?.code).toBe('TICKET_ID_REQUIRED');
    }
    const list = await submit(ctl, CLUSTER, 'listAccounts', { vault: 'pmp', resource: resource('Windows_Jump_Box') });
    expect(list.ok).toBe(true);
    const after = (await get(base, '/metrics')).text;
    const delta = (labels: Record<string, string>): number =>
      sample(after, 'credgw_commands_total', labels) - sample(before, 'credgw_commands_total', labels);
    expect(delta({ name: 'getPassword', outcome: 'ok' })).toBe(ok);
    expect(delta({ name: 'getPassword', outcome: 'TICKET_ID_REQUIRED' })).toBe(refused);
    expect(delta({ name: 'listAccounts', outcome: 'ok' })).toBe(1);
    expect(sample(after, 'credgw_role', { role: 'active' })).toBe(1);
    expect(sample(after, 'credgw_link_state', { state: 'up' })).toBe(1);
    expect(after).toMatch(/^credgw_command_duration_seconds_bucket\{/m);
    expectNoSecrets('metrics', after);
  });

  it('status and diagnose describe the running daemon', async () => {
    const listen = `127.0.0.1:${gw.gateway.telemetryAddress!.port}`;
    const status = await cli(['--config-dir', gw.configDir, 'status', '--json', '--listen', listen]);
    expect(status.code).toBe(0);
    const doc = JSON.parse(status.out) as Record<string, unknown>;
    expect(doc).toMatchObject({ gatewayId: 'gw-ops', clusterId: CLUSTER, role: 'active', lifecycle: 'running', link: { state: 'up' } });
    expect((doc['vaults'] as Array<Record<string, unknown>>)[0]).toMatchObject({ name: 'pmp', healthy: true });

    const human = await cli(['--config-dir', gw.configDir, 'status', '--listen', listen]);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/role\s+active, epoch \d+/);

    // diagnose reads telemetry.listen from the config for its "daemon status" line: point it at the live port.
    const diagDir = ws.writeConfig({ ...raw, telemetry: { ...(raw['telemetry'] as object), listen } }, 'etc-diag');
    const diag = await cli(['--config-dir', diagDir, 'diagnose']);
    expect(diag.err).toBe('');
    expect(diag.code).toBe(0);
    expect(diag.out).toMatch(/ok\s+daemon status\s+running on 127\.0\.0\.1:\d+: .*role active/);
    expect(diag.out).toMatch(/ok\s+controller auth\s+token accepted/);
    expect(diag.out).toMatch(/ok\s+vault pmp auth\s+API key accepted/);
    expectNoSecrets('status and diagnose output', status.out + human.out + diag.out + diag.err);
  });

  it('status and diagnose with no daemon running say so and exit non-zero', async () => {
    const dir = ws.writeConfig({ ...raw, telemetry: { listen: '127.0.0.1:9', logLevel: 'info', audit: 'stdout' } }, 'etc-none');
    const status = await cli(['--config-dir', dir, 'status']);
    expect(status.code).toBe(1);
    expect(status.err).toMatch(/credgw is not running \(no answer on 127\.0\.0\.1:9\)/);
    const diag = await cli(['--config-dir', dir, 'diagnose']);
    expect(diag.out).toMatch(/daemon status/);
    expect(diag.out).not.toMatch(/FAIL\s+daemon status/);
  });

  it('reloads vault profiles and policy under load without a failed command or a dropped link', async () => {
    const connectedAt = ctl.cluster(CLUSTER)!.gateways.find((g) => g.gatewayId === 'gw-ops')!.connectedAt;
    let stop = false;
    const results: Array<{ ok: boolean; code?: string }> = [];
    const worker = async (): Promise<void> => {
      while (!stop) {
        const r = await submit(ctl, CLUSTER, 'getPassword', { vault: 'pmp', resource: resource('301'), accountId: '902', ticketId: 'INC-7' });
        results.push(r.ok ? { ok: true } : { ok: false, code: r.error!.code });
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    const configFile = join(gw.configDir, 'config.json');
    const vault = (raw['vaults'] as Array<Record<string, unknown>>)[0]!;
    for (let i = 0; i < 6; i++) {
      await waitFor(() => results.length >= (i + 1) * 10, 'commands to flow between reloads');
      // Alternate a change that rebuilds the vault pool (timeoutMs) with a policy change.
      const next = {
        ...raw,
        vaults: [{ ...vault, timeoutMs: 10_000 + i }],
        policy: { denyAccounts: i % 2 === 0 ? ['guest'] : [], allowResources: null, maxFetchesPerAccountPerMinute: null },
      };
      writeFileSync(configFile, JSON.stringify(next));
      expect(gw.daemon.reload()).toBe(true);
    }
    // An invalid file is refused and the running config keeps serving.
    writeFileSync(configFile, JSON.stringify({ ...raw, limits: { maxInFlight: -1 } }));
    expect(gw.daemon.reload()).toBe(false);
    const seenBefore = results.length;
    await waitFor(() => results.length >= seenBefore + 10, 'commands after the refused reload');
    stop = true;
    await Promise.all(workers);
    writeFileSync(configFile, JSON.stringify(raw));

    const failed = results.filter((r) => !r.ok);
    expect(failed).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(70);
    expect(ctl.cluster(CLUSTER)!.gateways.find((g) => g.gatewayId === 'gw-ops')!.connectedAt).toBe(connectedAt);
    expect(gw.logs.find('configuration reloaded').length).toBeGreaterThanOrEqual(6);
    expect(gw.logs.find('reload refused, the running configuration stays')).toHaveLength(1);
    expectNoSecrets('gateway logs', gw.logs.text());
  });
  it('/readyz flips with the vault and with the link, with the reason', async () => {
    expect((await get(base, '/readyz')).status).toBe(200);

    // The vault: every request to it fails until the fault is cleared.
    sim.inject({ kind: 'http500' });
    const vaultDown = await waitFor(async () => {
      const r = await get(base, '/readyz');
      return r.status === 503 ? r : null;
    }, 'readyz 503 for the vault');
    expect(JSON.parse(vaultDown.text)).toMatchObject({ ready: false });
    expect(vaultDown.text).toMatch(/no vault is healthy \(pmp: VAULT_ERROR\)/);
    sim.clearFaults();
    await waitFor(async () => (await get(base, '/readyz')).status === 200, 'readyz 200 after the vault recovers');

    // The link: the controller goes away; the gateway is alive but not ready, and says why.
    const port = new URL(ctl.httpUrl).port;
    await ctl.close();
    const linkDown = await waitFor(async () => {
      const r = await get(base, '/readyz');
      return r.status === 503 ? r : null;
    }, 'readyz 503 for the link');
    expect(linkDown.text).toMatch(/the controller link is (backoff|connecting|handshaking)/);
    expect(linkDown.text).toMatch(/the role is unknown/);
    expect((await get(base, '/healthz')).status).toBe(200);

    ctl = await startReferenceController({ port: Number(port), tokens: [CONTROLLER_TOKEN], tls: ws.tls, heartbeatMs: OPS_HEARTBEAT_MS });
    await waitActive(ctl, CLUSTER, 'gw-ops', gw);
    await waitFor(async () => (await get(base, '/readyz')).status === 200, 'readyz 200 after the link is back');
  });
});
