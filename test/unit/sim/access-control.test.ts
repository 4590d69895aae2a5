import { pino } from 'pino';
import { ManualClock } from '../../../src/shared/clock.js';
import { accessAnswers, DEFAULT_ACCESS_ANSWERS, listTime, parseWindowTime } from '../../../src/sim/pmp/access-answers.js';
import { AccessControl, requesterOf, type AccessControlOptions, type Requester } from '../../../src/sim/pmp/access-control.js';
import { AuditTrail } from '../../../src/sim/pmp/audit-trail.js';
import { compileResponses, MSG, type PmpVariant } from '../../../src/sim/pmp/responses.js';
import { SAMPLE_DATA, validateSimData } from '../../../src/sim/pmp/sim-data.js';
import { PmpSimError } from '../../../src/sim/pmp/sim-errors.js';

/** The access-control model driven through its methods and a manual clock: no sockets, no sleeps. */

const MIN = 60_000;
const log = pino({ level: 'silent' });
const alice: Requester = requesterOf({ kind: 'apiUser', name: 'alice', key: 'apiUser:0', org: null });
const bob: Requester = { key: 'apiUser:b', label: 'bob' };

function setup(o: { variant?: PmpVariant; options?: AccessControlOptions } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 9, 12, 0));
  const responses = compileResponses(validateSimData(SAMPLE_DATA), o.variant ?? 'pmp-new');
  const audit = new AuditTrail(clock);
  const access = new AccessControl({ responses, audit, clock, log, options: o.options });
  const breakglass = access.account('905')!; // access-controlled, exclusive
  const op = (b: Buffer): { name: string; result: { status: string; message: string }; Details?: any } => JSON.parse(b.toString()).operation;
  const raise = (who: Requester, details: Partial<Parameters<AccessControl['raise']>[3]> = {}) =>
    op(access.raise(breakglass.resource, breakglass.account, who, { reason: 'r', ticketId: 'T-1', access: 'now', ...details }));
  const fetch = (who: Requester) => op(access.fetch(breakglass.resource, breakglass.account, who, responses));
  const checkIn = (who: Requester) => op(access.checkIn(breakglass.account, who, responses));
  return { clock, responses, audit, access, breakglass, raise, fetch, checkIn };
}

describe('access requests', () => {
  it('pending, approved, checked out to one user, refused to another, checked in', () => {
    const t = setup();
    expect(t.fetch(alice).result).toEqual({ status: 'Failed', message: MSG.approvalRequired });
    const raised = t.raise(alice);
    expect(raised.name).toBe('REQUEST PASSWORD');
    expect(raised.result.status).toBe('Success');
    expect(raised.Details).toEqual({ REQUESTID: '1', ACCOUNTID: '905', RESOURCEID: '301', STATUS: 'Waiting for approval' });
    expect(t.fetch(alice).result).toEqual({ status: 'Failed', message: DEFAULT_ACCESS_ANSWERS.fetchPending });

    expect(t.access.approve({ requestId: '1' }, 'carol')).toMatchObject({ state: 'approved', decidedBy: 'carol' });
    expect(t.fetch(alice)).toMatchObject({ name: 'GET PASSWORD', result: { status: 'Success' }, Details: { PASSWORD: 'Sim-Breakglass-Pass!' } });
    expect(t.access.list()[0]!.state).toBe('checkedOut');
    expect(t.fetch(alice).Details.PASSWORD).toBe('Sim-Breakglass-Pass!'); // the holder fetches again
    expect(t.fetch(bob).result).toEqual({ status: 'Failed', message: DEFAULT_ACCESS_ANSWERS.checkedOutByOther });
    expect(t.checkIn(bob).result).toEqual({ status: 'Failed', message: DEFAULT_ACCESS_ANSWERS.checkedOutByOther });

    expect(t.checkIn(alice)).toMatchObject({ name: 'CHECKIN PASSWORD', result: { status: 'Success', message: 'Password checked in successfully' } });
    expect(t.access.list()[0]!.state).toBe('checkedIn');
    expect(t.checkIn(alice).result.status).toBe('Success'); // idempotent
    expect(t.fetch(alice).result.message).toBe(MSG.approvalRequired); // a new request is needed
    expect(t.fetch(bob).result.message).toBe(MSG.approvalRequired);
    expect(t.audit.rows().map((r) => r.operation)).toEqual(['Password Requested', 'Password Request Approved', 'Password Checked Out', 'Password Checked In']);
    expect(JSON.stringify(t.audit.rows())).not.toContain('Sim-Breakglass-Pass!');
  });

  it('raises no second request while one is open, and one per user', () => {
    const t = setup();
    t.raise(alice);
    const again = t.raise(alice);
    expect(again.result.message).toBe(DEFAULT_ACCESS_ANSWERS.requestOpen);
    expect(again.Details.REQUESTID).toBe('1');
    expect(t.raise(bob).Details.REQUESTID).toBe('2');
    expect(t.access.list()).toHaveLength(2);
    expect(() => t.access.approve({ accountId: '905' })).toThrow(/2 pending requests/);
  });

  it('tells principals apart by their key, not by name', () => {
    const t = setup();
    const twin = requesterOf({ kind: 'apiUser', name: 'alice', key: 'apiUser:1', org: null });
    t.raise(alice);
    t.access.approve({ requestId: '1' });
    t.fetch(alice);
    expect(t.fetch(twin).result.message).toBe(DEFAULT_ACCESS_ANSWERS.checkedOutByOther);
    expect(requesterOf({ kind: 'apiUser', name: '', key: 'apiUser:2', org: null }).label).toBe('api-user');
    expect(requesterOf({ kind: 'integration', name: 'ITOM', key: 'integration:0', org: null })).toEqual({ key: 'integration:0', label: 'ITOM' });
  });

  it('rejects, and the rejected request refuses the password until a new one is approved', () => {
    const t = setup();
    t.raise(alice);
    expect(t.access.reject({ accountId: '905' }, 'carol', 'not today')).toMatchObject({ state: 'rejected', note: 'not today' });
    expect(t.fetch(alice).result.message).toBe(DEFAULT_ACCESS_ANSWERS.fetchRejected);
    expect(() => t.access.approve({ requestId: '1' })).toThrow(PmpSimError);
    expect(t.raise(alice).Details.REQUESTID).toBe('2');
  });

  it('expires a request not approved in time, on the clock', () => {
    const t = setup({ options: { approvalTimeoutMs: 10 * MIN } });
    t.raise(alice);
    t.clock.advance(10 * MIN - 1);
    expect(t.access.list()[0]!.state).toBe('pending');
    t.clock.advance(1);
    expect(t.access.list()[0]!.state).toBe('expired');
    expect(t.fetch(alice).result.message).toBe(DEFAULT_ACCESS_ANSWERS.fetchExpired);
    expect(() => t.access.approve({ requestId: '1' })).toThrow(/expired, not pending/);
  });

  it('checks the password in automatically at the end of its window', () => {
    const t = setup({ options: { autoCheckInMs: 5 * MIN } });
    t.raise(alice);
    t.access.approve({ requestId: '1' });
    t.fetch(alice);
    t.clock.advance(5 * MIN);
    expect(t.fetch(bob).result.message).toBe(MSG.approvalRequired); // no longer checked out
    expect(t.access.list()[0]!.state).toBe('checkedIn');
    expect(t.audit.rows().at(-1)).toMatchObject({ operation: 'Password Checked In', operatedBy: 'System', reason: 'auto check-in' });
  });

  it('expires an approved request whose window ends unused', () => {
    const t = setup({ options: { autoCheckInMs: 5 * MIN } });
    t.raise(alice);
    t.access.approve({ requestId: '1' });
    t.clock.advance(5 * MIN);
    expect(t.fetch(alice).result.message).toBe(DEFAULT_ACCESS_ANSWERS.fetchExpired);
  });

  it('releases an ACCESS "later" request only inside its window', () => {
    const t = setup();
    const start = t.clock.now() + 60 * MIN;
    t.raise(alice, { access: 'later', window: { start, end: start + 30 * MIN } });
    t.access.approve({ requestId: '1' });
    expect(t.access.list()[0]).toMatchObject({ windowStart: new Date(start).toISOString() });
    expect(t.fetch(alice).result.message).toBe(DEFAULT_ACCESS_ANSWERS.fetchTooEarly);
    t.clock.advance(60 * MIN);
    expect(t.fetch(alice).Details.PASSWORD).toBe('Sim-Breakglass-Pass!');
  });

  it('answers "[Request]" on older builds until the password is released', () => {
    const t = setup({ variant: 'pmp-old' });
    expect(t.fetch(alice)).toMatchObject({ result: { status: 'Success' }, Details: { PASSWORD: '[Request]' } });
    t.raise(alice);
    expect(t.fetch(alice).Details.PASSWORD).toBe('[Request]');
    t.access.approve({ requestId: '1' });
    expect(t.fetch(alice).Details.PASSWORD).toBe('Sim-Breakglass-Pass!');
  });

  it('lists the requests grouped by requester', () => {
    const t = setup();
    t.raise(alice);
    t.raise(bob);
    t.access.reject({ requestId: '2' });
    const list = JSON.parse(t.access.listAnswer(t.responses).toString()).operation;
    expect(list).toMatchObject({ name: 'GET PASSWORD REQUESTS', result: { status: 'Success' }, totalRows: 2 });
    expect(list.Details.map((d: any) => [d['REQUESTED BY'], d.PASSWORDREQUESTLIST.map((r: any) => r.STATUS)])).toEqual([
      ['alice', ['Waiting for approval']],
      ['bob', ['Rejected']],
    ]);
    expect(list.Details[0].PASSWORDREQUESTLIST[0]).toMatchObject({ 'RESOURCE NAME': 'Windows_Jump_Box', 'ACCOUNT NAME': 'breakglass', 'REQUESTED TIME': 'Jan 09, 2026 12:00 PM' });
  });

  it('takes replacement answers, and refuses unknown keys', () => {
    const t = setup({ options: { answers: { fetchPending: 'Request pending', status: { pending: 'Pending' } } } });
    expect(t.raise(alice).Details.STATUS).toBe('Pending');
    expect(t.fetch(alice).result.message).toBe('Request pending');
    expect(() => accessAnswers({ fetchPendng: 'x' })).toThrow(/accessControl\.answers\.fetchPendng: unknown key/);
    expect(() => accessAnswers({ status: { waiting: 'x' } })).toThrow(/unknown state/);
    expect(() => setup({ options: { approvalTimeoutMs: 0 } })).toThrow(/approvalTimeoutMs/);
  });

  it('names the request an admin call means, or says why not', () => {
    const t = setup();
    expect(() => t.access.approve({})).toThrow(/requestId/);
    expect(() => t.access.approve({ requestId: '9' })).toThrow(/no access request 9/);
    expect(() => t.access.approve({ accountId: '902' })).toThrow(/0 pending requests/);
  });
});

describe('access-control times', () => {
  it('reads STARTTIME/ENDTIME day first, in UTC, and refuses what is not a date', () => {
    expect(parseWindowTime('09/01/2026 17:50')).toBe(Date.UTC(2026, 0, 9, 17, 50));
    expect(parseWindowTime('31/02/2026 10:00')).toBeUndefined();
    expect(parseWindowTime('2026-01-09T17:50:00Z')).toBeUndefined();
    expect(parseWindowTime('09/01/2026 24:00')).toBeUndefined();
    expect(parseWindowTime(20260109)).toBeUndefined();
  });

  it('writes the list times as the documentation shows them', () => {
    expect(listTime(Date.UTC(2025, 11, 30, 16, 45))).toBe('Dec 30, 2025 04:45 PM');
    expect(listTime(Date.UTC(2025, 0, 1, 0, 5))).toBe('Jan 01, 2025 12:05 AM');
  });
});

describe('the exclusive flag of the data file', () => {
  const withAccount = (account: Record<string, unknown>) => ({
    apiUsers: [{ token: 't', allowedHosts: ['*'] }],
    resources: [{ id: '1', name: 'r', type: 'Linux', accounts: [{ id: '2', name: 'a', password: 'p', ...account }] }],
  });

  it('is absent unless set, and needs accessControlled', () => {
    expect(validateSimData(withAccount({})).resources[0]!.accounts[0]).not.toHaveProperty('exclusive');
    expect(validateSimData(withAccount({ accessControlled: true, exclusive: true })).resources[0]!.accounts[0]!.exclusive).toBe(true);
    expect(() => validateSimData(withAccount({ exclusive: true }))).toThrow('resources[0].accounts[0].exclusive: needs accessControlled: true');
    expect(() => validateSimData(withAccount({ accessControlled: true, exclusive: 'yes' }))).toThrow('must be true or false');
  });

  it('lets a non-exclusive approved password be fetched by its requester without a check-out', () => {
    const clock = new ManualClock();
    const responses = compileResponses(validateSimData(withAccount({ accessControlled: true })), 'pmp-new');
    const access = new AccessControl({ responses, audit: new AuditTrail(clock), clock, log });
    const { resource, account } = access.account('2')!;
    access.raise(resource, account, alice, { reason: '', ticketId: '', access: 'now' });
    access.approve({ requestId: '1' });
    expect(JSON.parse(access.fetch(resource, account, alice, responses).toString()).operation.Details.PASSWORD).toBe('p');
    expect(access.list()[0]!.state).toBe('approved');
    expect(JSON.parse(access.fetch(resource, account, bob, responses).toString()).operation.result.message).toBe(MSG.approvalRequired);
  });
});
