/**
 * Issue 1/5's reload proofs against real gateways (in-process, as `credgw
 * run` builds them) with the reference controller and PMP simulators over
 * TLS: a SIGHUP reload keeps every vault's health (so the role does not
 * move), a command holding a replaced vault client across its two vault
 * calls finishes on it, and settings that need a restart keep running with
 * their started values and keep saying so until the restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { VERSION } from '../../src/shared/version.js';
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
  startInProcess,
  submit,
  waitFor,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { startGatedSimulator, type GatedSimulator } from '../helpers/gated-simulator.js';

const CLUSTER = 'reload-site';
const RESOURCES_PATH = '/restapi/json/v1/resources';
/** A minute: the gateway and the controller share this process, so a stall of it silences both sides at once. */
const QUIET_HEARTBEAT_MS = 60_000;

describe('reloading a running gateway', () => {
  let ws: Workspace;
  let sim: PmpSimulator;
  let gated: GatedSimulator;
  let ctl: ReferenceController;
  let gwA: InProcessGateway;
  let gwB: InProcessGateway;
  let rawA: Record<string, unknown>;
  let base: string;

  const cluster = (): NonNullable<ReturnType<ReferenceController['cluster']>> => ctl.cluster(CLUSTER)!;
  /** Writes gw-a's config file and reloads it as SIGHUP does. */
  const reloadA = (raw: Record<string, unknown>): boolean => {
    writeFileSync(join(gwA.configDir, 'config.json'), JSON.stringify(raw));
    return gwA.daemon.reload();
  };
  /**
   * A command through the controller, served by gw-a. Its result travels on
   * gw-a's link after every frame gw-a sent before, so once it is back the
   * controller has acted on them all.
   */
  const roundTrip = async (): Promise<void> => {
    const r = await submit(ctl, CLUSTER, 'getPassword', { vault: 'pmp', resource: resource('301'), accountId: '902' });
    expect(r).toMatchObject({ ok: true, gatewayId: 'gw-a' });
  };

  beforeAll(async () => {
    ws = makeWorkspace('reload');
    sim = await startPmpSimulator({ tls: ws.tls });
    gated = await startGatedSimulator(ws.tls);
    // Liveness is not under test: with a heartbeat no stall of a loaded test
    // process reaches, only vault health could move the role.
    ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls: ws.tls, heartbeatMs: QUIET_HEARTBEAT_MS });
    rawA = gatewayConfig(ws, {
      gatewayId: 'gw-a',
      clusterId: CLUSTER,
      controllerUrl: ctl.wsUrl,
      vaults: [simVault(ws, 'pmp', sim, { healthIntervalMs: 60_000 }), simVault(ws, 'gated', gated.sim, { healthIntervalMs: 60_000 })],
      logLevel: 'info',
      telemetryListen: '127.0.0.1:0',
    });
    gwA = await startActive(ws, ctl, rawA);
    // A healthy standby the controller would hand the role to.
    gwB = await startInProcess(
      ws,
      gatewayConfig(ws, { gatewayId: 'gw-b', clusterId: CLUSTER, controllerUrl: ctl.wsUrl, vaults: [simVault(ws, 'pmp', sim)], logLevel: 'info' }),
    );
    await waitFor(() => cluster().gateways.find((g) => g.gatewayId === 'gw-b' && g.role === 'standby' && g.vaults.some((v) => v.healthy)), 'gw-b healthy standby');
    await waitFor(() => gwA.gateway.status().vaults.find((v) => v.name === 'pmp')?.healthy, 'gw-a pmp healthy');
    base = `http://127.0.0.1:${gwA.gateway.telemetryAddress!.port}`;
  });

  afterAll(async () => {
    gated?.releaseAll();
    await gwB?.stop();
    await gwA?.stop();
    await ctl?.close();
    await gated?.close();
    await sim?.close();
    ws?.cleanup();
  });

  it('logs one start-up line with the version, the config file, node and the pid', () => {
    const lines = gwA.logs.find('credgw starting');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ version: VERSION, config: join(gwA.configDir, 'config.json'), node: process.version, pid: process.pid });
  });

  it('keeps the active role and every vault healthy across reloads of an unchanged config', async () => {
    const promotions = cluster().counts.promotions;
    const epoch = cluster().epoch;
    const healthLines = gwA.logs.find('vault health changed').length;
    for (let i = 0; i < 6; i++) expect(reloadA(rawA)).toBe(true);
    await roundTrip();
    expect(cluster().activeGatewayId).toBe('gw-a');
    expect(cluster().counts.promotions).toBe(promotions);
    expect(cluster().epoch).toBe(epoch);
    expect(cluster().gateways.find((g) => g.gatewayId === 'gw-a')!.vaults.find((v) => v.name === 'pmp')).toMatchObject({ healthy: true });
    // Nothing changed, so nothing is said to have.
    expect(gwA.logs.find('vault health changed').length).toBe(healthLines);
    expect(gwA.logs.find('configuration reloaded').at(-1)).toMatchObject({ kept: ['pmp', 'gated'], changed: [], restartRequired: [] });
  });

  it('keeps a changed vault healthy while its new pool is probed, without moving the role', async () => {
    const promotions = cluster().counts.promotions;
    const vaults = rawA['vaults'] as Array<Record<string, unknown>>;
    expect(reloadA({ ...rawA, vaults: [{ ...vaults[0], timeoutMs: 12_345 }, vaults[1]] })).toBe(true);
    await roundTrip();
    expect(cluster().activeGatewayId).toBe('gw-a');
    expect(cluster().counts.promotions).toBe(promotions);
    expect(gwA.gateway.status().vaults.find((v) => v.name === 'pmp')).toMatchObject({ healthy: true });
    expect(reloadA(rawA)).toBe(true);
  });

  it('lets a command finish on the vault client a reload replaced between its two vault calls', async () => {
    const seen = gated.sim.stats().byPath[RESOURCES_PATH] ?? 0;
    // A resource name: first the name lookup, then the password call, on the client the command took.
    const pending = submit(ctl, CLUSTER, 'getPassword', { vault: 'gated', resource: resource('Windows_Jump_Box'), accountId: '902' }, 30_000);
    await waitFor(() => (gated.sim.stats().byPath[RESOURCES_PATH] ?? 0) > seen, 'the name lookup at the vault');
    // The gated profile changes: the command's client is retired while the command holds it.
    const vaults = rawA['vaults'] as Array<Record<string, unknown>>;
    expect(reloadA({ ...rawA, vaults: [vaults[0], { ...vaults[1], timeoutMs: 20_000 }] })).toBe(true);
    expect(gwA.logs.find('configuration reloaded').at(-1)).toMatchObject({ changed: ['gated'] });
    expect(await gated.release(pending)).toMatchObject({ ok: true, gatewayId: 'gw-a', data: { accountName: 'administrator' } });
    // The retired client's calls say nothing about the vault's health.
    expect(gwA.logs.find('vault unhealthy')).toEqual([]);
    expect(reloadA(rawA)).toBe(true);
  });

  it('keeps the started identity and reports the restart it needs until the config is back', async () => {
    const readyz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await request(`${base}/readyz`);
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    const restartWarnings = (): number => gwA.logs.find('changed settings wait for a restart; the started values stay in effect').length;
    const warned = restartWarnings();

    expect(reloadA({ ...rawA, gatewayId: 'gw-renamed' })).toBe(true);
    expect(gwA.gateway.status()).toMatchObject({ gatewayId: 'gw-a', restartRequired: ['gatewayId'] });
    expect(gwA.gateway.currentConfig.gatewayId).toBe('gw-a');
    expect(restartWarnings()).toBe(warned + 1);
    // Still what the controller knows, still serving.
    await roundTrip();

    // A second reload (a policy change) compares with what the gateway started with, not with the last reload.
    expect(reloadA({ ...rawA, gatewayId: 'gw-renamed', policy: { denyAccounts: ['guest'] } })).toBe(true);
    expect(gwA.gateway.status()).toMatchObject({ gatewayId: 'gw-a', restartRequired: ['gatewayId'] });
    expect(gwA.logs.find('configuration reloaded').at(-1)).toMatchObject({ restartRequired: ['gatewayId'] });
    expect(restartWarnings()).toBe(warned + 2);
    const status = (await (await request(`${base}/status`)).body.json()) as Record<string, unknown>;
    expect(status).toMatchObject({ gatewayId: 'gw-a', restartRequired: ['gatewayId'] });
    expect(await readyz()).toEqual({ status: 200, body: { ready: true, reasons: [], warnings: ['a restart is needed to apply changed gatewayId'] } });

    // The file back as started: nothing pending any more.
    expect(reloadA(rawA)).toBe(true);
    expect(gwA.gateway.status().restartRequired).toEqual([]);
    expect(await readyz()).toEqual({ status: 200, body: { ready: true, reasons: [], warnings: [] } });
    expect(restartWarnings()).toBe(warned + 2);
    expectNoSecrets('gateway logs', gwA.logs.text());
  });
});
