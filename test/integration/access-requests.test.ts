import { Agent, request } from 'undici';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { SAMPLE_DATA, startPmpSimulator, type PmpSimData, type PmpSimulator } from '../../src/sim/pmp/index.js';
import {
  auditText,
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  KNOWN_SECRETS,
  makeWorkspace,
  resource,
  simVault,
  startInProcess,
  submit,
  waitActive,
  waitFor,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';

/**
 * Access requests and check-out (protocol section 10) end to end: the
 * reference controller's command API, a real gateway, and the PMP
 * simulator's model of PAM360's access control, approved and rejected
 * through its loopback admin calls as an approver would in the UI. Two
 * vault profiles on the same simulator with different API keys are "this
 * user" and "another user".
 */

const CLUSTER = 'site-access';
const OTHER_TOKEN = 'pmp-sim-token-second-user-6d0e';
const ACCESS_RETRY_AFTER_MS = 30_000;

const base905 = SAMPLE_DATA.resources.flatMap((r) => r.accounts).find((a) => a.id === '905')!;
/** Accounts behind access control, one per scenario (905 is the sample's, exclusive). */
const EXTRA = [
  { ...base905, id: '906', passwdId: '906', name: 'breakglass-reject', password: 'Sim-Reject-Pass-906!' },
  { ...base905, id: '907', passwdId: '907', name: 'breakglass-window', password: 'Sim-Window-Pass-907!' },
  { ...base905, id: '908', passwdId: '908', name: 'breakglass-old', password: 'Sim-Old-Pass-908!' },
  { ...base905, id: '909', passwdId: '909', name: 'breakglass-pair', password: 'Sim-Pair-Pass-909!' },
];
const DATA: PmpSimData = {
  integrations: [],
  apiUsers: [...SAMPLE_DATA.apiUsers, { name: 'second-user', token: OTHER_TOKEN, allowedHosts: ['127.0.0.1', '::1'], orgName: null, orgNames: [] }],
  resources: SAMPLE_DATA.resources.map((r) => (r.id === '301' ? { ...r, accounts: [...r.accounts, ...EXTRA] } : r)),
};
const SECRETS = [...KNOWN_SECRETS, OTHER_TOKEN, ...EXTRA.map((a) => a.password)];

let ws: Workspace;
let sim: PmpSimulator;
/** Answers "[Request]" whatever the request's state (older builds): the gateway reads the request list. */
let oldSim: PmpSimulator;
let ctl: ReferenceController;
let gw: InProcessGateway;
let agent: Agent;

beforeAll(async () => {
  ws = makeWorkspace('gw-access');
  const tls = { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem };
  sim = await startPmpSimulator({ tls, data: DATA });
  oldSim = await startPmpSimulator({ tls, data: DATA, variant: 'pmp-old' });
  ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls, heartbeatMs: 1000 });
  agent = new Agent({ connect: { ca: [ws.pki.ca.certPem] } });
  gw = await startInProcess(
    ws,
    gatewayConfig(ws, {
      gatewayId: 'gw-access',
      clusterId: CLUSTER,
      controllerUrl: ctl.wsUrl,
      vaults: [
        simVault(ws, 'pmp', sim),
        { ...simVault(ws, 'pmp-other', sim), token: ws.secret('pmp-other.token', OTHER_TOKEN) },
        simVault(ws, 'pmp-old', oldSim),
      ],
    }),
  );
  await waitActive(ctl, CLUSTER, 'gw-access', gw);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await ctl?.close();
  await sim?.close();
  await oldSim?.close();
  await agent?.close();
  ws?.cleanup();
});

type Result = Awaited<ReturnType<typeof submit>> & { error?: { code: string; message: string; retryable: boolean; retryAfterMs?: number } };

const R301 = resource('301');
const getPassword = (accountId: string, extra: Record<string, unknown> = {}, vault = 'pmp'): Promise<Result> =>
  submit(ctl, CLUSTER, 'getPassword', {
    vault,
    resource: R301,
    accountId,
    ticketId: 'INC-2041',
    reason: 'Remote console launch',
    requestedBy: 'alice@example.com',
    ...extra,
  });
const requestAccess = (accountId: string, extra: Record<string, unknown> = {}, vault = 'pmp'): Promise<Result> =>
  getPassword(accountId, { requestAccess: true, ...extra }, vault);
const checkIn = (accountId: string, vault = 'pmp'): Promise<Result> =>
  submit(ctl, CLUSTER, 'checkInPassword', { vault, resource: R301, accountId, requestedBy: 'alice@example.com', reason: 'Console session ended' });

/** An approver's decision at the simulator's admin endpoint. */
async function decide(target: PmpSimulator, decision: 'approve' | 'reject', accountId: string): Promise<void> {
  const res = await request(`${target.url}/__sim/requests/${decision}`, { method: 'POST', body: JSON.stringify({ accountId, approver: 'carol' }), dispatcher: agent });
  const body = await res.body.text();
  expect([res.statusCode, body]).toEqual([200, expect.stringContaining('"ok":true')]);
}

/** The simulator's access requests of one account. */
const requestsOf = (target: PmpSimulator, accountId: string) => target.accessRequests().filter((r) => r.accountId === accountId);

const codeOf = (r: Result): string => (r.ok ? 'ok' : r.error!.code);

describe('access requests through the controller, the gateway and the simulator', () => {
  it('without requestAccess: APPROVAL_REQUIRED and the vault is not asked to raise anything', async () => {
    const r = await getPassword('905');
    expect(r.error).toEqual({ code: 'APPROVAL_REQUIRED', message: expect.any(String), retryable: false });
    expect(requestsOf(sim, '905')).toEqual([]);
  });

  it('pending -> a second request not raised -> approved -> fetched -> checked in', async () => {
    const first = await requestAccess('905');
    expect(first.error).toEqual({ code: 'APPROVAL_PENDING', message: expect.any(String), retryable: true, retryAfterMs: ACCESS_RETRY_AFTER_MS });
    expect(requestsOf(sim, '905')).toEqual([
      expect.objectContaining({ state: 'pending', reason: 'Remote console launch', ticketId: 'INC-2041', access: 'now', requestedBy: 'credgw-gateway' }),
    ]);

    const second = await requestAccess('905');
    expect(second.error).toMatchObject({ code: 'APPROVAL_PENDING', retryAfterMs: ACCESS_RETRY_AFTER_MS });
    expect(requestsOf(sim, '905')).toHaveLength(1);

    await decide(sim, 'approve', '905');
    const fetched = await requestAccess('905');
    expect(fetched).toMatchObject({ ok: true, data: { resourceId: '301', accountId: '905', accountName: 'breakglass', password: base905.password } });
    expect(requestsOf(sim, '905').map((r) => r.state)).toEqual(['checkedOut']);

    const checkedIn = await checkIn('905');
    expect(checkedIn).toMatchObject({ ok: true, data: { accountId: '905' } });
    expect(requestsOf(sim, '905').map((r) => r.state)).toEqual(['checkedIn']);
    // Idempotent.
    expect(await checkIn('905')).toMatchObject({ ok: true, data: { accountId: '905' } });
    expect(requestsOf(sim, '905')).toHaveLength(1);
  });

  it('an account checked out by this user answers CHECKED_OUT to another user, for a fetch and a check-in', async () => {
    expect(codeOf(await requestAccess('905'))).toBe('APPROVAL_PENDING');
    await decide(sim, 'approve', '905');
    expect((await requestAccess('905')).ok).toBe(true);

    const other = await requestAccess('905', {}, 'pmp-other');
    expect(other.error).toEqual({ code: 'CHECKED_OUT', message: expect.any(String), retryable: true });
    expect((await checkIn('905', 'pmp-other')).error).toEqual({ code: 'CHECKED_OUT', message: expect.any(String), retryable: true });
    // Nothing was raised for the other user while it was held.
    expect(requestsOf(sim, '905').filter((r) => r.requestedBy === 'second-user')).toEqual([]);

    expect((await checkIn('905')).ok).toBe(true);
    expect(requestsOf(sim, '905').at(-1)?.state).toBe('checkedIn');
  });

  it('rejected -> APPROVAL_DENIED (not retryable), with no second request; a later request raises a new one', async () => {
    expect(codeOf(await requestAccess('906'))).toBe('APPROVAL_PENDING');
    await decide(sim, 'reject', '906');
    const denied = await requestAccess('906');
    expect(denied.error).toEqual({ code: 'APPROVAL_DENIED', message: expect.any(String), retryable: false });
    expect(requestsOf(sim, '906').map((r) => r.state)).toEqual(['rejected']);
    // Without requestAccess the controller gets the code it always got.
    expect(codeOf(await getPassword('906'))).toBe('APPROVAL_REQUIRED');

    expect(codeOf(await requestAccess('906'))).toBe('APPROVAL_PENDING');
    expect(requestsOf(sim, '906').map((r) => r.state)).toEqual(['rejected', 'pending']);
  });

  it('an access window reaches the vault as ACCESS later with STARTTIME/ENDTIME; before it starts the password waits', async () => {
    const minute = 60_000;
    const start = Math.ceil(Date.now() / minute) * minute + 60 * minute;
    const accessWindow = { startTime: new Date(start + 30_000).toISOString(), endTime: new Date(start + 60 * minute).toISOString() };
    expect(codeOf(await requestAccess('907', { accessWindow }))).toBe('APPROVAL_PENDING');
    expect(requestsOf(sim, '907')).toEqual([
      expect.objectContaining({
        state: 'pending',
        access: 'later',
        windowStart: new Date(start).toISOString(),
        windowEnd: new Date(start + 60 * minute).toISOString(),
      }),
    ]);
    await decide(sim, 'approve', '907');
    const early = await requestAccess('907', { accessWindow });
    expect(early.error).toMatchObject({ code: 'APPROVAL_PENDING', retryable: true, retryAfterMs: ACCESS_RETRY_AFTER_MS });
    expect(requestsOf(sim, '907')).toHaveLength(1);
  });

  it('a window the controller gets wrong is BAD_REQUEST at the controller, before any gateway or vault', async () => {
    const outcome = await ctl.submit(CLUSTER, {
      name: 'getPassword',
      params: { vault: 'pmp', resource: R301, accountId: '907', requestAccess: true, accessWindow: { startTime: '2026-01-09T10:00:00Z', endTime: '2026-01-09T09:00:00Z' } },
      timeoutMs: 10_000,
    });
    expect(outcome).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST', message: expect.stringMatching(/after startTime/) } } });
  });

  it('a vault answering "[Request]" (older builds): the request list tells pending from rejected', async () => {
    expect(codeOf(await getPassword('908', {}, 'pmp-old'))).toBe('APPROVAL_REQUIRED');
    expect(codeOf(await requestAccess('908', {}, 'pmp-old'))).toBe('APPROVAL_PENDING');
    expect(codeOf(await requestAccess('908', {}, 'pmp-old'))).toBe('APPROVAL_PENDING');
    expect(requestsOf(oldSim, '908')).toHaveLength(1);
    await decide(oldSim, 'reject', '908');
    expect(codeOf(await requestAccess('908', {}, 'pmp-old'))).toBe('APPROVAL_DENIED');
    expect(codeOf(await requestAccess('908', {}, 'pmp-old'))).toBe('APPROVAL_PENDING');
    await decide(oldSim, 'approve', '908');
    expect(await requestAccess('908', {}, 'pmp-old')).toMatchObject({ ok: true, data: { accountId: '908', password: EXTRA[2]!.password } });
    expect(requestsOf(oldSim, '908').map((r) => r.state)).toEqual(['rejected', 'checkedOut']);
    expect((await checkIn('908', 'pmp-old')).ok).toBe(true);
  });
});

describe('across a failover: the vault is the truth both gateways share', () => {
  it('the standby taking over finds the request waiting in the vault\'s list and raises no second one ("[Request]" vault)', async () => {
    const PAIR = 'site-access-pair';
    const raw = (gatewayId: string): Record<string, unknown> =>
      gatewayConfig(ws, { gatewayId, clusterId: PAIR, controllerUrl: ctl.wsUrl, vaults: [simVault(ws, 'pmp-old', oldSim)] });
    const a = await startInProcess(ws, raw('gw-pair-a'));
    await waitActive(ctl, PAIR, 'gw-pair-a', a);
    const b = await startInProcess(ws, raw('gw-pair-b'));
    let aStopped = false;
    try {
      await waitFor(() => ctl.cluster(PAIR)?.gateways.some((g) => g.gatewayId === 'gw-pair-b' && g.role === 'standby'), 'gw-pair-b standby');
      const calls = (path: string): number => oldSim.stats().byPath[`/restapi/json/v1/accounts/${path}`] ?? 0;
      const raises = (): number => calls('909/requestpassword');
      // The list serves every account: earlier tests read it too.
      const listedBefore = calls('passwordaccessrequests');
      const listReads = (): number => calls('passwordaccessrequests') - listedBefore;
      const ask = (): Promise<Result & { gatewayId?: string }> =>
        submit(ctl, PAIR, 'getPassword', { vault: 'pmp-old', resource: R301, accountId: '909', ticketId: 'INC-2041', reason: 'Remote console launch', requestedBy: 'alice@example.com', requestAccess: true });

      const first = await ask();
      expect([codeOf(first), first.gatewayId]).toEqual(['APPROVAL_PENDING', 'gw-pair-a']);
      // The cost of sharing through the vault: one list read before the first raise.
      expect([listReads(), raises()]).toEqual([1, 1]);

      await a.stop();
      aStopped = true;
      await waitActive(ctl, PAIR, 'gw-pair-b', b);
      const after = await ask();
      expect(after).toMatchObject({ ok: false, gatewayId: 'gw-pair-b', error: { code: 'APPROVAL_PENDING', retryable: true, retryAfterMs: ACCESS_RETRY_AFTER_MS } });
      // gw-pair-b never saw the request: it read the list, found it waiting, raised nothing.
      expect([listReads(), raises()]).toEqual([2, 1]);
      // Remembered now; a "[Request]" vault cannot tell pending from decided, so each later ask reads the list by the request's ID.
      expect(await ask()).toMatchObject({ error: { code: 'APPROVAL_PENDING' } });
      expect([listReads(), raises()]).toEqual([3, 1]);
      expect(requestsOf(oldSim, '909').map((r) => r.state)).toEqual(['pending']);

      await decide(oldSim, 'approve', '909');
      expect(await ask()).toMatchObject({ ok: true, gatewayId: 'gw-pair-b', data: { accountId: '909', password: EXTRA[3]!.password } });
      expect(await submit(ctl, PAIR, 'checkInPassword', { vault: 'pmp-old', resource: R301, accountId: '909', requestedBy: 'alice@example.com' })).toMatchObject({ ok: true });
      expect(requestsOf(oldSim, '909').map((r) => r.state)).toEqual(['checkedIn']);
      expect(raises()).toBe(1);
    } finally {
      if (!aStopped) await a.stop();
      await b.stop();
    }
    for (const g of [a, b]) expectNoSecrets('logs', g.logs.text(), SECRETS);
  }, 60_000);
});

describe('audit and secrets', () => {
  it('audits every request and check-in like a fetch, and writes no password or token anywhere', async () => {
    await gw.stop();
    const lines = auditText(ws, 'gw-access')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const raised = lines.filter((l) => l['action'] === 'accessRequested');
    expect(raised.length).toBeGreaterThanOrEqual(5);
    for (const l of raised) expect(l).toMatchObject({ event: 'getPassword', outcome: 'APPROVAL_PENDING', requestedBy: 'alice@example.com', ticketId: 'INC-2041' });
    const checkIns = lines.filter((l) => l['event'] === 'checkInPassword');
    expect(checkIns.map((l) => l['outcome'])).toEqual(['ok', 'ok', 'CHECKED_OUT', 'ok', 'ok']);
    expect(checkIns[0]).toMatchObject({ vault: 'pmp', resourceId: '301', accountId: '905', requestedBy: 'alice@example.com', reason: 'Console session ended' });
    expectNoSecrets('audit', auditText(ws, 'gw-access'), SECRETS);
    expectNoSecrets('logs', gw.logs.text(), SECRETS);
  });
});
