import { pino } from 'pino';
import { compileConfig } from '../../src/config/compile.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { GatewayError } from '../../src/shared/errors.js';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { SAMPLE_DATA, startPmpSimulator, validateSimData, type PmpSimData, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { DnsIndex } from '../../src/vault/dns-index.js';
import { createVaultClient } from '../../src/vault/index.js';
import type { ResourceDirectory, VaultClient } from '../../src/vault/types.js';
import { runCredgw } from '../helpers/cli.js';
import {
  auditText,
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  makeWorkspace,
  simVault,
  startInProcess,
  submit,
  waitActive,
  waitFor,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * The DNS-name index (protocol section 9) against the PMP simulator over
 * real TLS: every DNS NAME read through the real client, the vault calls
 * counted at the simulator, a resource added in the vault found after a
 * miss, the CLI's listing, the daemon keeping the index warm on the
 * standby as on the active, and console launches by host name and IP
 * through the reference controller.
 */

const EXTRA = [
  { id: '501', name: 'db07', type: 'Linux', dnsName: 'DB07.Corp.Example.', accounts: [] },
  { id: '502', name: 'v6-host', type: 'Linux', dnsName: '2001:0DB8:0:0:0:0:0:0005', accounts: [] },
  { id: '503', name: 'dup-a', type: 'Linux', dnsName: 'dup.corp.example', accounts: [] },
  { id: '504', name: 'dup-b', type: 'Linux', dnsName: 'DUP.corp.example.', accounts: [] },
  { id: '505', name: 'mapped', type: 'Linux', dnsName: '::ffff:10.7.7.7', accounts: [] },
];
const ADDED = { id: '601', name: 'late-host', type: 'Linux', dnsName: 'late.corp.example', accounts: [] };

function simData(extra: object[] = []): PmpSimData {
  return validateSimData({ apiUsers: SAMPLE_DATA.apiUsers, resources: [...SAMPLE_DATA.resources, ...EXTRA, ...extra] });
}

let ws: Workspace;
let sim: PmpSimulator;
const startSim = (data: PmpSimData, port = 0): Promise<PmpSimulator> =>
  startPmpSimulator({ port, data, tls: { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem } });

/** Vault requests by kind since the last reset: the resource list, and account lists by resource ID. */
function vaultCalls(s: PmpSimulator): { lists: number; accountLists: Record<string, number>; other: number } {
  const out = { lists: 0, accountLists: {} as Record<string, number>, other: 0 };
  for (const [path, n] of Object.entries(s.stats().byPath)) {
    const m = /^\/restapi\/json\/v1\/resources(?:\/(\d+)\/accounts)?\/?$/.exec(path);
    if (m?.[1]) out.accountLists[m[1]] = n;
    else if (m) out.lists += n;
    else if (!path.endsWith('/resourcetypes')) out.other += n;
  }
  return out;
}

const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof GatewayError ? e.code : String(e)),
  );

beforeAll(async () => {
  ws = makeWorkspace('dns-index');
  sim = await startSim(simData());
});

afterAll(async () => {
  await sim.close();
  ws.cleanup();
});

describe('DnsIndex over the real client', () => {
  let client: VaultClient & ResourceDirectory;
  let index: DnsIndex;

  beforeEach(() => {
    client = createVaultClient(testVaultProfile(sim.url, { caFile: ws.caFile }), { readToken: () => Promise.resolve(sim.tokens[0]!) });
    sim.resetStats();
  });

  afterEach(async () => {
    index.stop();
    await client.close();
  });

  it('reads every DNS NAME once (one list, one account list per resource) and answers host names and IPs in any spelling', async () => {
    index = new DnsIndex({ vault: client, clock: systemClock, logger: pino({ level: 'silent' }), maxCallsPerMinute: 6000, refreshIntervalMs: 3_600_000 });
    index.start();
    await index.whenReady();
    const calls = vaultCalls(sim);
    expect(calls).toEqual({ lists: 1, accountLists: Object.fromEntries(sim.data.resources.map((r) => [r.id, 1])), other: 0 });
    const cases: Array<[string, string]> = [
      ['10.1.2.3', '301'],
      ['::ffff:10.1.2.3', '301'],
      ['WEB01.corp.example.', '302'],
      ['db07.corp.example', '501'],
      ['2001:db8::5', '502'],
      ['[2001:DB8:0000::0005]', '502'],
      ['10.7.7.7', '505'],
    ];
    for (const [address, id] of cases) expect([address, (await index.lookup(address)).id]).toEqual([address, id]);
    expect(await codeOf(index.lookup('dup.corp.example'))).toBe('RESOURCE_AMBIGUOUS');
    expect(index.duplicates()).toEqual([{ address: 'dup.corp.example', ids: ['503', '504'] }]);
    // Lookups are answered from memory: no call reached the vault for them.
    expect(vaultCalls(sim)).toEqual(calls);
  });

  it('keeps its budget, counted at the simulator (manual clock for the budget, real HTTPS for the calls)', async () => {
    const clock = new ManualClock();
    // 10 a minute: one at once, then one every 6⅔ s.
    index = new DnsIndex({ vault: client, clock, logger: pino({ level: 'silent' }), maxCallsPerMinute: 10, refreshIntervalMs: 3_600_000 });
    index.start();
    const total = (): number => sim.stats().requests;
    await waitFor(() => total() === 1, 'the resource list');
    for (let second = 1; second <= 37; second++) {
      clock.advance(1000);
      // Let what the budget allows by now reach the simulator before time moves on (a bound, not a timing).
      const allowed = 1 + Math.floor((9 * second) / 60);
      await waitFor(() => total() >= allowed - 1, `${allowed - 1} calls by second ${second}`);
      await new Promise((r) => setTimeout(r, 5));
      expect(total()).toBeLessThanOrEqual(allowed);
    }
    // 37 s of a 10-a-minute budget (a burst of 1, then one every 6⅔ s): 1 + 5 calls of the 9 the build needs.
    expect(total()).toBe(6);
    expect(index.state).toBe('building');
  });

  it('finds a resource added in the vault after a miss: one re-list, then only the new resource is read', async () => {
    index = new DnsIndex({
      vault: client,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
      maxCallsPerMinute: 6000,
      refreshIntervalMs: 3_600_000,
      missRelistIntervalMs: 0,
    });
    index.start();
    await index.whenReady();
    // The vault gains a resource: the same server, restarted with one more.
    const port = sim.port;
    await sim.close();
    sim = await startSim(simData([ADDED]), port);
    // The pool's connections died with the old server; the health probe would find the new one first.
    await waitFor(() => client.probe().then(() => true, () => false), 'the restarted vault');
    sim.resetStats();
    await expect(index.lookup('late.corp.example')).resolves.toEqual({ id: '601', name: 'late-host' });
    expect(vaultCalls(sim)).toEqual({ lists: 1, accountLists: { '601': 1 }, other: 0 });
    expect(await codeOf(index.lookup('never.corp.example'))).toBe('RESOURCE_NOT_FOUND');
    expect(vaultCalls(sim)).toEqual({ lists: 2, accountLists: { '601': 1 }, other: 0 });
    await sim.close();
    sim = await startSim(simData(), port);
  });
});

describe('credgw vault resources', () => {
  it('prints the resources with their DNS names, and with --by-address the index and every duplicate', async () => {
    const dir = ws.writeConfig({ vaults: [simVault(ws, 'sim', sim)] }, 'cli');
    const plain = await runCredgw(['--config-dir', dir, 'vault', 'resources', 'sim']);
    expect(plain.code).toBe(0);
    expect(plain.out).toMatch(/^ID\s+NAME\s+DNS NAME$/m);
    expect(plain.out).toMatch(/^502\s+v6-host\s+2001:0DB8:0:0:0:0:0:0005$/m);
    expect(plain.out).toContain('8 resources, 7 DNS names; 1 shared by several resources (see --by-address)');
    const byAddress = await runCredgw(['--config-dir', dir, 'vault', 'resources', 'sim', '--by-address']);
    expect(byAddress.code).toBe(0);
    expect(byAddress.out).toMatch(/^2001:db8::5\s+502\s+v6-host$/m);
    expect(byAddress.out).toMatch(/^10\.7\.7\.7\s+505\s+mapped$/m);
    expect(byAddress.out).toMatch(/^dup\.corp\.example\s+503\s+dup-a\s+duplicate$/m);
    expect(byAddress.out).toContain('  dup.corp.example: 503 dup-a, 504 dup-b');
    const json = await runCredgw(['--config-dir', dir, 'vault', 'resources', 'sim', '--by-address', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({
      duplicates: [{ address: 'dup.corp.example', resources: [{ id: '503', name: 'dup-a' }, { id: '504', name: 'dup-b' }] }],
      withoutDnsName: [],
    });
    expect(json.out).not.toContain(sim.tokens[0]!);
  });

  it('fails with the vault error when the resources cannot be listed', async () => {
    const dir = ws.writeConfig({ vaults: [{ ...simVault(ws, 'sim', sim), token: ws.secret('wrong.token', 'not-a-known-key') }] }, 'cli-wrong');
    const res = await runCredgw(['--config-dir', dir, 'vault', 'resources', 'sim']);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: ACCESS_DENIED: /m);
  });
});

describe('the daemon', () => {
  let ctl: ReferenceController;
  let a: InProcessGateway;
  let b: InProcessGateway;

  const raw = (gatewayId: string, dnsIndex: Record<string, number> = { maxCallsPerMinute: 6000 }): Record<string, unknown> =>
    gatewayConfig(ws, {
      gatewayId,
      clusterId: 'site-dns',
      controllerUrl: ctl.wsUrl,
      vaults: [simVault(ws, 'pmp', sim, { resourceMatch: ['hostName', 'ipAddress', 'attribute'], dnsIndex })],
    });

  beforeAll(async () => {
    ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls: { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem } });
    a = await startInProcess(ws, raw('gw-dns-a'));
    await waitActive(ctl, 'site-dns', 'gw-dns-a', a);
    b = await startInProcess(ws, raw('gw-dns-b'));
    await waitFor(() => b.gateway.roles.snapshot.state === 'standby', 'gw-dns-b standby');
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await ctl?.close();
  });

  it('keeps the index of a profile that maps by address warm on the standby as on the active', async () => {
    for (const gw of [a, b]) {
      const index = gw.gateway.vaults.dnsIndex('pmp')!;
      await index.whenReady();
      await expect(index.lookup('web01.corp.example')).resolves.toEqual({ id: '302', name: 'Linux_Web_01' });
    }
    expect(b.gateway.roles.snapshot.state).toBe('standby');
    expect(b.logs.find('DNS-name index built')).toEqual([expect.objectContaining({ vault: 'pmp', resources: 8, addresses: 7, duplicates: 1 })]);
  });

  it('announces resourceByAddress in hello', () => {
    const gateways = ctl.cluster('site-dns')!.gateways;
    expect(gateways.map((g) => g.capabilities)).toEqual([
      ['listAccounts', 'getPassword', 'sealedDelivery', 'checkInPassword', 'accessRequests', 'resourceByAddress'],
      ['listAccounts', 'getPassword', 'sealedDelivery', 'checkInPassword', 'accessRequests', 'resourceByAddress'],
    ]);
  });

  it('serves a console launch for a resource the cloud knows only by host name or IP', async () => {
    const listed = await submit(ctl, 'site-dns', 'listAccounts', { vault: 'pmp', resource: { id: 'cloud-web01', hostName: 'WEB01.corp.example.' } });
    expect(listed).toMatchObject({ ok: true, data: { resourceId: '302', resourceName: 'Linux_Web_01', totalAccounts: 3 } });
    const fetched = await submit(ctl, 'site-dns', 'getPassword', {
      vault: 'pmp',
      resource: { id: 'cloud-jump', ipAddress: '::ffff:10.1.2.3' },
      accountId: '902',
      ticketId: 'INC-1042',
    });
    expect(fetched).toMatchObject({ ok: true, data: { resourceId: '301', accountId: '902', accountName: 'administrator', password: 'Sim-Adm1n-Pass!' } });
    // resourceMatch is ["hostName", "ipAddress", "attribute"]: the host name decides over the IP and the attribute.
    const both = await submit(ctl, 'site-dns', 'listAccounts', {
      vault: 'pmp',
      resource: { hostName: 'db07.corp.example', ipAddress: '10.1.2.3', customAttributes: { 'PMP Resource ID': '302' } },
    });
    expect(both).toMatchObject({ ok: true, data: { resourceId: '501', resourceName: 'db07', totalAccounts: 0 } });
    const byAttribute = await submit(ctl, 'site-dns', 'listAccounts', { vault: 'pmp', resource: { customAttributes: { 'PMP Resource ID': '301' } } });
    expect(byAttribute).toMatchObject({ ok: true, data: { resourceId: '301' } });
    await waitFor(() => auditText(ws, 'gw-dns-a').includes('"resource":"WEB01.corp.example."'), 'the audit event names the host name');
  });

  it('answers RESOURCE_AMBIGUOUS naming no resource and logs the duplicates once; a miss is final', async () => {
    const warnings = (): Record<string, unknown>[] => a.logs.find('DNS name shared by several vault resources, answered RESOURCE_AMBIGUOUS');
    for (let i = 0; i < 2; i++) {
      const r = await submit(ctl, 'site-dns', 'getPassword', { vault: 'pmp', resource: { hostName: 'dup.corp.example' }, accountId: '902' });
      expect(r).toMatchObject({ ok: false, error: { code: 'RESOURCE_AMBIGUOUS', retryable: false } });
      expect(r.error!.message).not.toMatch(/dup-a|dup-b|503|504/);
    }
    expect(warnings()).toEqual([expect.objectContaining({ vault: 'pmp', address: 'dup.corp.example', resources: [{ id: '503', name: 'dup-a' }, { id: '504', name: 'dup-b' }] })]);
    // A host name PMP does not know: no fall-through to the attribute the resource also carries.
    const miss = await submit(ctl, 'site-dns', 'listAccounts', {
      vault: 'pmp',
      resource: { hostName: 'nowhere.corp.example', customAttributes: { 'PMP Resource ID': '301' } },
    });
    expect(miss).toMatchObject({ ok: false, error: { code: 'RESOURCE_NOT_FOUND', retryable: false } });
    expectNoSecrets('gw-dns-a log', a.logs.text());
    expectNoSecrets('gw-dns-a audit', auditText(ws, 'gw-dns-a'));
  });

  it('a reload keeps the index of an unchanged profile and rebuilds a changed one', async () => {
    const before = b.gateway.vaults.dnsIndex('pmp')!;
    b.gateway.reload(compileConfig(raw('gw-dns-b')));
    expect(b.gateway.vaults.dnsIndex('pmp')).toBe(before);
    b.gateway.reload(compileConfig(raw('gw-dns-b', { maxCallsPerMinute: 5000 })));
    const after = b.gateway.vaults.dnsIndex('pmp')!;
    expect(after).not.toBe(before);
    expect(before.state).toBe('stopped');
    await after.whenReady();
    expect(after.stats()).toMatchObject({ state: 'ready', resources: 8 });
  });
});
