import { request } from 'undici';
import { ManualClock } from '../../src/shared/clock.js';
import {
  DEFAULT_ACCESS_ANSWERS as A,
  PMP_SIM_MESSAGES as MSG,
  SAMPLE_DATA,
  SAMPLE_ORG_NAME_2,
  SAMPLE_TOKEN,
  SAMPLE_TOKEN_ORG_OWN,
  type PmpSimData,
  type PmpSimOptions,
  type PmpSimulator,
} from '../../src/sim/pmp/index.js';
import { API, simFixture } from '../helpers/sim-fixture.js';

/**
 * PAM360's access control in the simulator, over real HTTPS: the API
 * calls a gateway makes (requestpassword, the password call, checkin, the
 * request list) and the loopback admin calls an approver's UI stands for.
 * The simulator runs on a ManualClock, so expiry is driven, not waited for.
 */

const OTHER_TOKEN = 'pmp-sim-token-second-user';
const fixture = simFixture();
const { agent } = fixture;
const MIN = 60_000;

/** The sample data with a second API user on loopback, to be "another user". */
const DATA: PmpSimData = {
  apiUsers: [...SAMPLE_DATA.apiUsers, { name: 'second-user', token: OTHER_TOKEN, allowedHosts: ['127.0.0.1', '::1'], orgName: null, orgNames: [] }],
  integrations: SAMPLE_DATA.integrations,
  resources: SAMPLE_DATA.resources,
};

interface Op {
  name: string;
  result: { status: string; message: string };
  Details?: any;
  totalRows?: number;
}

async function pmp(sim: PmpSimulator, method: 'GET' | 'POST' | 'PUT', path: string, o: { token?: string; details?: Record<string, unknown> } = {}): Promise<Op> {
  const input = o.details ? `INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: o.details } }))}` : undefined;
  const url = sim.url + API + path + (method === 'GET' && input ? `?${input}` : '');
  const res = await request(url, {
    method,
    headers: { AUTHTOKEN: o.token ?? SAMPLE_TOKEN, ...(method !== 'GET' && input ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    body: method !== 'GET' ? (input ?? '') : undefined,
    dispatcher: agent,
  });
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { operation: Op }).operation;
}

async function admin(sim: PmpSimulator, method: 'GET' | 'POST', call: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(`${sim.url}/__sim/${call}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  return { status: res.statusCode, json: await res.body.json() };
}

const fetchPw = (sim: PmpSimulator, token?: string): Promise<Op> =>
  pmp(sim, 'GET', '/resources/301/accounts/905/password', { details: { REASON: 'console', TICKETID: 'INC-1' }, ...(token ? { token } : {}) });
const raise = (sim: PmpSimulator, details: Record<string, unknown> = {}, token?: string): Promise<Op> =>
  pmp(sim, 'POST', '/accounts/905/requestpassword', { details: { REASON: 'console', TICKETID: 'INC-1', ...details }, ...(token ? { token } : {}) });
const checkIn = (sim: PmpSimulator, token?: string): Promise<Op> => pmp(sim, 'PUT', '/accounts/905/checkin', token ? { token } : {});

async function withSim(opts: PmpSimOptions, fn: (sim: PmpSimulator, clock: ManualClock) => Promise<void>): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 9, 12, 0));
  await fixture.withSim({ data: DATA, clock, ...opts }, (sim) => fn(sim, clock));
}

describe('PMP simulator: access requests over HTTPS', () => {
  it('request, pending, approve, fetch, exclusive refusal for another user, check-in', async () => {
    await withSim({}, async (sim) => {
      expect((await fetchPw(sim)).result).toEqual({ status: 'Failed', message: MSG.approvalRequired });

      const raised = await raise(sim);
      expect(raised).toEqual({
        name: 'REQUEST PASSWORD',
        result: { status: 'Success', message: A.requestRaised },
        Details: { REQUESTID: '1', ACCOUNTID: '905', RESOURCEID: '301', STATUS: 'Waiting for approval' },
      });
      expect((await fetchPw(sim)).result).toEqual({ status: 'Failed', message: A.fetchPending });
      expect((await raise(sim)).Details.REQUESTID).toBe('1'); // no second request while one is open

      const listed = await admin(sim, 'GET', 'requests');
      expect(listed.status).toBe(200);
      expect(listed.json.requests).toEqual([
        expect.objectContaining({ requestId: '1', state: 'pending', accountId: '905', requestedBy: 'credgw-gateway', reason: 'console', ticketId: 'INC-1', access: 'now' }),
      ]);

      const approved = await admin(sim, 'POST', 'requests/approve', { requestId: '1', approver: 'carol' });
      expect(approved).toEqual({ status: 200, json: { ok: true, request: expect.objectContaining({ state: 'approved', decidedBy: 'carol' }) } });

      expect(await fetchPw(sim)).toMatchObject({ name: 'GET PASSWORD', result: { status: 'Success' }, Details: { PASSWORD: 'Sim-Breakglass-Pass!' } });
      expect(sim.accessRequests()[0]!.state).toBe('checkedOut');
      expect((await fetchPw(sim, OTHER_TOKEN)).result).toEqual({ status: 'Failed', message: A.checkedOutByOther });
      expect((await checkIn(sim, OTHER_TOKEN)).result).toEqual({ status: 'Failed', message: A.checkedOutByOther });

      expect(await checkIn(sim)).toEqual({ name: 'CHECKIN PASSWORD', result: { status: 'Success', message: A.checkedIn }, Details: { ACCOUNTID: '905' } });
      expect((await checkIn(sim)).result.status).toBe('Success'); // idempotent
      expect(sim.accessRequests()[0]!.state).toBe('checkedIn');
      expect((await fetchPw(sim, OTHER_TOKEN)).result.message).toBe(MSG.approvalRequired); // free again, but needs its own request

      const ops = sim.auditRows().map((r) => r.operation);
      expect(ops).toEqual(['Password Requested', 'Password Request Approved', 'Password Checked Out', 'Password Checked In']);
    });
  });

  it('getResourceAccountDetails is the password call: the same requests, approvals and exclusive check-out', async () => {
    const legacy = async (sim: PmpSimulator, token?: string): Promise<Record<string, string>> => {
      const op = await pmp(sim, 'GET', '/resources/getResourceAccountDetails?RESOURCEID=301&ACCOUNTID=905', token ? { token } : {});
      expect(op.result.status).toBe('Success');
      return JSON.parse(op.Details.ACCOUNTDETAILS as string) as Record<string, string>;
    };
    await withSim({}, async (sim) => {
      expect(await legacy(sim)).toEqual({ 'ACCOUNT ID': '905', 'ACCOUNT NAME': 'breakglass', PASSWORD_REASON: MSG.approvalRequired });
      await raise(sim);
      expect((await legacy(sim))['PASSWORD_REASON']).toBe(A.fetchPending);
      sim.approveRequest({ accountId: '905' });
      expect((await legacy(sim))['PASSWORD']).toBe('Sim-Breakglass-Pass!');
      expect(sim.accessRequests()[0]!.state).toBe('checkedOut');
      expect(await legacy(sim, OTHER_TOKEN)).toEqual({ 'ACCOUNT ID': '905', 'ACCOUNT NAME': 'breakglass', PASSWORD_REASON: A.checkedOutByOther });
    });
  });

  it('keeps requests and check-ins to the resources of the caller\'s organisation', async () => {
    const data: PmpSimData = { ...DATA, resources: DATA.resources.map((r) => (r.id === '301' ? { ...r, orgName: SAMPLE_ORG_NAME_2 } : r)) };
    await withSim({ data }, async (sim) => {
      expect((await raise(sim, {}, SAMPLE_TOKEN_ORG_OWN)).result).toEqual({ status: 'Failed', message: MSG.accountNotFound });
      expect((await checkIn(sim, SAMPLE_TOKEN_ORG_OWN)).result).toEqual({ status: 'Failed', message: MSG.accountNotFound });
      expect(sim.accessRequests()).toEqual([]);
      expect((await raise(sim)).result.message).toBe(A.requestRaised); // a user outside organisations sees every resource
    });
  });

  it('reject: the request is refused, and the admin cannot approve it any more', async () => {
    await withSim({}, async (sim) => {
      await raise(sim);
      const rejected = await admin(sim, 'POST', 'requests/reject', { accountId: '905', note: 'not now' });
      expect(rejected.json.request).toMatchObject({ state: 'rejected', note: 'not now', decidedBy: 'admin' });
      expect((await fetchPw(sim)).result).toEqual({ status: 'Failed', message: A.fetchRejected });
      const again = await admin(sim, 'POST', 'requests/approve', { requestId: '1' });
      expect(again).toEqual({ status: 400, json: { error: 'requestId: access request 1 is rejected, not pending', code: 'SIM_ADMIN_INVALID' } });
      expect((await admin(sim, 'POST', 'requests/approve', { requestId: '7' })).status).toBe(400);
      expect((await admin(sim, 'POST', 'requests/approve', [])).json.code).toBe('SIM_ADMIN_INVALID');
    });
  });

  it('expires a request not approved in time, on the simulator clock', async () => {
    await withSim({ accessControl: { approvalTimeoutMs: 15 * MIN } }, async (sim, clock) => {
      await raise(sim);
      clock.advance(15 * MIN);
      expect((await fetchPw(sim)).result).toEqual({ status: 'Failed', message: A.fetchExpired });
      expect((await admin(sim, 'GET', 'requests')).json.requests[0].state).toBe('expired');
      expect((await admin(sim, 'POST', 'requests/approve', { requestId: '1' })).status).toBe(400);
      expect((await raise(sim)).Details).toMatchObject({ REQUESTID: '2', STATUS: 'Waiting for approval' });
    });
  });

  it('checks an exclusive password in at its auto check-in time', async () => {
    await withSim({ accessControl: { autoCheckInMs: 20 * MIN } }, async (sim, clock) => {
      await raise(sim);
      sim.approveRequest({ requestId: '1' });
      expect((await fetchPw(sim)).Details.PASSWORD).toBe('Sim-Breakglass-Pass!');
      clock.advance(20 * MIN);
      expect((await fetchPw(sim, OTHER_TOKEN)).result.message).toBe(MSG.approvalRequired);
      expect(sim.accessRequests()[0]!.state).toBe('checkedIn');
    });
  });

  it('takes an ACCESS "later" window in PAM360 format and releases the password inside it only', async () => {
    await withSim({}, async (sim, clock) => {
      const bad = await raise(sim, { ACCESS: 'later', STARTTIME: '2026-01-09 13:00', ENDTIME: '09/01/2026 14:00' });
      expect(bad.result).toEqual({ status: 'Failed', message: A.badWindow });
      expect((await raise(sim, { ACCESS: 'sometime' })).result).toEqual({ status: 'Failed', message: A.badAccess });
      const ok = await raise(sim, { ACCESS: 'later', STARTTIME: '09/01/2026 13:00', ENDTIME: '09/01/2026 14:00' });
      expect(ok.result.status).toBe('Success');
      sim.approveRequest({ accountId: '905' });
      expect((await fetchPw(sim)).result.message).toBe(A.fetchTooEarly);
      clock.advance(60 * MIN);
      expect((await fetchPw(sim)).Details.PASSWORD).toBe('Sim-Breakglass-Pass!');
    });
  });

  it('refuses a request for an unknown account, one without access control, or one the user may not read; check-in of nothing is ok', async () => {
    await withSim({}, async (sim) => {
      expect((await pmp(sim, 'POST', '/accounts/999999/requestpassword')).result).toEqual({ status: 'Failed', message: MSG.accountNotFound });
      expect((await pmp(sim, 'POST', '/accounts/902/requestpassword')).result).toEqual({ status: 'Failed', message: A.notAccessControlled });
      expect((await pmp(sim, 'POST', '/accounts/911/requestpassword')).result).toEqual({ status: 'Failed', message: MSG.accessDenied });
      expect((await pmp(sim, 'PUT', '/accounts/999999/checkin')).result).toEqual({ status: 'Failed', message: MSG.accountNotFound });
      expect((await pmp(sim, 'PUT', '/accounts/902/checkin')).result.status).toBe('Success'); // nothing checked out: ok
      expect(sim.accessRequests()).toEqual([]);
    });
  });

  it('answers "[Request]" on pmp-old until approved', async () => {
    await withSim({ variant: 'pmp-old' }, async (sim) => {
      await raise(sim);
      expect(await fetchPw(sim)).toMatchObject({ result: { status: 'Success' }, Details: { PASSWORD: '[Request]' } });
      sim.approveRequest({ requestId: '1' });
      expect((await fetchPw(sim)).Details.PASSWORD).toBe('Sim-Breakglass-Pass!');
    });
  });

  it('lists password requests through the API, grouped by requester', async () => {
    await withSim({}, async (sim) => {
      const empty = await pmp(sim, 'GET', '/accounts/passwordaccessrequests');
      expect(empty).toEqual({ name: 'GET PASSWORD REQUESTS', result: { status: 'Success', message: A.listMessage }, totalRows: 0 });
      await raise(sim);
      await raise(sim, {}, OTHER_TOKEN);
      sim.rejectRequest({ requestId: '2' });
      const list = await pmp(sim, 'GET', '/accounts/passwordaccessrequests');
      expect(list.totalRows).toBe(2);
      expect(list.Details.map((d: any) => [d['REQUESTED BY'], d.PASSWORDREQUESTLIST[0].STATUS])).toEqual([
        ['credgw-gateway', 'Waiting for approval'],
        ['second-user', 'Rejected'],
      ]);
    });
  });

  it('answers 405 to the wrong method on the new paths, and 404 to an unknown admin call', async () => {
    await withSim({}, async (sim) => {
      const res = await request(`${sim.url}${API}/accounts/905/requestpassword`, { method: 'GET', headers: { AUTHTOKEN: SAMPLE_TOKEN }, dispatcher: agent });
      await res.body.text();
      expect(res.statusCode).toBe(405);
      expect(res.headers['allow']).toBe('POST');
      const unknown = await admin(sim, 'GET', 'requests/approve');
      expect(unknown.status).toBe(404);
    });
  });
});
