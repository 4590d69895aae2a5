import { GatewayError } from '../../../src/shared/errors.js';
import {
  ACCESS_REQUESTS_PATH,
  accessRequestForm,
  checkInPath,
  PmpAccessCalls,
  pmpWindowTime,
  requestPasswordPath,
} from '../../../src/vault/pmp-access-calls.js';
import { accessStateOf, decodeEnvelope, parseAccessRequestState, parseRaisedRequest, type ParsedAccount, type PmpEnvelope } from '../../../src/vault/pmp-responses.js';
import type { PmpRequest } from '../../../src/vault/pmp-transport.js';

/** PAM360 access control at the vault boundary: paths, the request's form, answers parsed, failures mapped. */

const env = (body: unknown): PmpEnvelope => decodeEnvelope(200, JSON.stringify(body));
const success = (name: string, rest: Record<string, unknown> = {}): PmpEnvelope =>
  env({ operation: { name, result: { status: 'Success', message: 'ok' }, ...rest } });
const failed = (name: string, message: string): PmpEnvelope => env({ operation: { name, result: { status: 'Failed', message } } });

const inputData = (form: string): unknown => {
  expect(form.startsWith('INPUT_DATA=')).toBe(true);
  return JSON.parse(decodeURIComponent(form.slice('INPUT_DATA='.length)));
};

describe('paths', () => {
  it('are built from checked account IDs only', () => {
    expect(requestPasswordPath('902')).toBe('/restapi/json/v1/accounts/902/requestpassword');
    expect(checkInPath('902')).toBe('/restapi/json/v1/accounts/902/checkin');
    expect(ACCESS_REQUESTS_PATH).toBe('/restapi/json/v1/accounts/passwordaccessrequests');
    expect(() => requestPasswordPath('../user')).toThrow(GatewayError);
    expect(() => checkInPath('9 02')).toThrow(GatewayError);
  });
});

describe('the request form (INPUT_DATA as PAM360 documents it)', () => {
  it('ACCESS now with the reason and ticket given', () => {
    expect(inputData(accessRequestForm({ reason: 'Remote console launch', ticketId: 'INC-1042' }))).toEqual({
      operation: { Details: { REASON: 'Remote console launch', TICKETID: 'INC-1042', ACCESS: 'now' } },
    });
    expect(inputData(accessRequestForm({}))).toEqual({ operation: { Details: { ACCESS: 'now' } } });
  });

  it('ACCESS later with STARTTIME and ENDTIME as DD/mm/yyyy HH:mm (UTC), the window widened to whole minutes', () => {
    const startMs = Date.parse('2026-01-09T17:50:30Z');
    const endMs = Date.parse('2026-01-12T17:50:01Z');
    expect(inputData(accessRequestForm({ reason: 'r', window: { startMs, endMs } }))).toEqual({
      operation: { Details: { REASON: 'r', ACCESS: 'later', STARTTIME: '09/01/2026 17:50', ENDTIME: '12/01/2026 17:51' } },
    });
  });

  it('pmpWindowTime pads and keeps whole minutes as they are', () => {
    const t = Date.parse('2026-03-04T05:06:00Z');
    expect(pmpWindowTime(t, 'down')).toBe('04/03/2026 05:06');
    expect(pmpWindowTime(t, 'up')).toBe('04/03/2026 05:06');
    expect(pmpWindowTime(Date.parse('2026-12-31T23:59:30Z'), 'up')).toBe('01/01/2027 00:00');
  });
});

describe('answers', () => {
  it('accessStateOf reads the status words loosely, most specific first', () => {
    expect(accessStateOf('Waiting for approval')).toBe('pending');
    expect(accessStateOf('Pending')).toBe('pending');
    expect(accessStateOf('Approved')).toBe('approved');
    expect(accessStateOf('Checked out')).toBe('checkedOut');
    expect(accessStateOf('Checked In')).toBe('checkedIn');
    expect(accessStateOf('Rejected')).toBe('rejected');
    expect(accessStateOf('Approval Denied')).toBe('rejected');
    expect(accessStateOf('Expired')).toBe('expired');
    expect(accessStateOf('Something new')).toBe('unknown');
    expect(accessStateOf(3)).toBe('unknown');
  });

  it('parseRaisedRequest takes REQUESTID (or REQUEST ID) and STATUS where the answer has them', () => {
    expect(parseRaisedRequest(success('REQUEST PASSWORD', { Details: { REQUESTID: '7', ACCOUNTID: '905', STATUS: 'Waiting for approval' } }))).toEqual({
      requestId: '7',
      state: 'pending',
    });
    expect(parseRaisedRequest(success('REQUEST PASSWORD', { Details: [{ 'REQUEST ID': 8 }] }))).toEqual({ requestId: '8', state: undefined });
    expect(parseRaisedRequest(success('REQUEST PASSWORD'))).toEqual({ requestId: undefined, state: undefined });
  });

  const LIST = success('GET PASSWORD REQUESTS', {
    totalRows: 3,
    Details: [
      {
        'REQUESTED BY': 'api-user',
        PASSWORDREQUESTLIST: [
          { 'REQUEST ID': '3', 'ACCOUNT ID': '905', STATUS: 'Rejected' },
          { 'REQUEST ID': '11', 'ACCOUNT ID': '905', STATUS: 'Waiting for approval' },
        ],
      },
      { 'REQUESTED BY': 'other', PASSWORDREQUESTLIST: [{ 'REQUEST ID': '4', 'ACCOUNT ID': '906', STATUS: 'Approved' }] },
    ],
  });

  it('parseAccessRequestState: by request ID, else the account\'s newest, else none', () => {
    expect(parseAccessRequestState(LIST, '905', '3')).toBe('rejected');
    expect(parseAccessRequestState(LIST, '905', undefined)).toBe('pending');
    expect(parseAccessRequestState(LIST, '906', undefined)).toBe('approved');
    expect(parseAccessRequestState(LIST, '905', '99')).toBe('none');
    expect(parseAccessRequestState(LIST, '907', undefined)).toBe('none');
    expect(parseAccessRequestState(success('GET PASSWORD REQUESTS', { totalRows: 0 }), '905', undefined)).toBe('none');
  });

  it('parseAccessRequestState reads entries listed without a requester group too', () => {
    const flat = success('GET PASSWORD REQUESTS', { Details: [{ REQUESTID: 5, ACCOUNTID: '905', STATUS: 'Expired' }] });
    expect(parseAccessRequestState(flat, '905', undefined)).toBe('expired');
  });

  it('a list entry that is not an object is VAULT_ERROR', () => {
    const bad = success('GET PASSWORD REQUESTS', { Details: [{ PASSWORDREQUESTLIST: ['x'] }] });
    expect(() => parseAccessRequestState(bad, '905', undefined)).toThrow(expect.objectContaining({ code: 'VAULT_ERROR' }));
  });
});

function account(extra: Partial<ParsedAccount> = {}): ParsedAccount {
  return { id: '905', passwdId: '905', name: 'breakglass', notes: undefined, ticketIdRequired: false, reasonRequired: false, accessDenied: false, notesListed: true, ...extra };
}

/** The calls over a scripted transport: what was sent, and what it answered. */
function calls(answer: (req: PmpRequest) => PmpEnvelope, acc: ParsedAccount = account(), requireTicketId = false, orgName: string | null = null) {
  const sent: PmpRequest[] = [];
  const found: string[] = [];
  const access = new PmpAccessCalls({
    request: (req) => {
      sent.push(req);
      return Promise.resolve(answer(req));
    },
    findAccount: (rid, aid, org) => {
      found.push(`${org ?? '-'}:${rid}/${aid}`);
      if (aid !== acc.id) return Promise.reject(new GatewayError('ACCOUNT_NOT_FOUND', 'the resource has no such account'));
      return Promise.resolve(acc);
    },
    profile: { requireTicketId, orgName },
  });
  return { access, sent, found };
}

describe('PmpAccessCalls.requestAccess', () => {
  it('POSTs the form to requestpassword after finding the account in its resource', async () => {
    const { access, sent, found } = calls(() => success('REQUEST PASSWORD', { Details: { REQUESTID: '1', STATUS: 'Waiting for approval' } }));
    const raised = await access.requestAccess('301', '905', { ticketId: 'INC-1', reason: 'why' });
    expect(raised).toEqual({ requestId: '1', state: 'pending' });
    expect(found).toEqual(['-:301/905']);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ call: 'requestAccess', method: 'POST', path: '/restapi/json/v1/accounts/905/requestpassword', orgName: null });
    expect(sent[0]!.query).toBeUndefined();
    expect(inputData(sent[0]!.form!)).toEqual({ operation: { Details: { REASON: 'why', TICKETID: 'INC-1', ACCESS: 'now' } } });
  });

  it('each call is made in the call\'s organisation, else the profile\'s; one a header cannot carry is RESOURCE_NOT_MAPPED before any request', async () => {
    const ok = (req: PmpRequest): PmpEnvelope => (req.call === 'accessRequests' ? success('GET PASSWORD REQUESTS', { totalRows: 0 }) : success('OK'));
    const c = calls(ok, account(), false, 'Acme');
    await c.access.requestAccess('301', '905', {});
    await c.access.checkIn('301', '905', { orgName: 'Tenant B' });
    await c.access.accessRequestState('905', undefined, { orgName: null });
    expect(c.sent.map((r) => [r.call, r.orgName])).toEqual([
      ['requestAccess', 'Acme'],
      ['checkIn', 'Tenant B'],
      ['accessRequests', null],
    ]);
    expect(c.found).toEqual(['Acme:301/905', 'Tenant B:301/905']);
    await expect(c.access.requestAccess('301', '905', {}, { orgName: 'bad\norg' })).rejects.toMatchObject({ code: 'RESOURCE_NOT_MAPPED' });
    expect(c.sent).toHaveLength(3);
  });

  it.each([
    ['a #### account', account({ accessDenied: true }), {}, false, 'ACCESS_DENIED'],
    ['a ticket-required account without a ticket', account({ ticketIdRequired: true }), { reason: 'r' }, false, 'TICKET_ID_REQUIRED'],
    ['a profile requiring tickets, none given', account(), { reason: 'r' }, true, 'TICKET_ID_REQUIRED'],
    ['a reason-required account without a reason', account({ reasonRequired: true }), { ticketId: 't', reason: '  ' }, false, 'REASON_REQUIRED'],
  ] as const)('refuses %s before any request', async (_label, acc, req, requireTicketId, code) => {
    const { access, sent } = calls(() => success('REQUEST PASSWORD'), acc, requireTicketId);
    await expect(access.requestAccess('301', '905', req)).rejects.toMatchObject({ code });
    expect(sent).toEqual([]);
  });

  it('an unknown account is ACCOUNT_NOT_FOUND with no request', async () => {
    const { access, sent } = calls(() => success('REQUEST PASSWORD'));
    await expect(access.requestAccess('301', '906', {})).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    expect(sent).toEqual([]);
  });

  it.each([
    ['A request for this password is already open', 'APPROVAL_PENDING'],
    ['The password is checked out by another user', 'CHECKED_OUT'],
    ['STARTTIME and ENDTIME must be given as DD/MM/yyyy HH:mm', 'BAD_REQUEST'],
    ['Access control is not enabled for this account', 'VAULT_ERROR'],
  ])('a Failed answer "%s" is %s', async (message, code) => {
    const { access } = calls(() => failed('REQUEST PASSWORD', message));
    await expect(access.requestAccess('301', '905', { reason: 'r' })).rejects.toMatchObject({ code, detail: message });
  });
});

describe('PmpAccessCalls.accessRequestState', () => {
  it('GETs the request list and reads the request', async () => {
    const { access, sent } = calls(() =>
      success('GET PASSWORD REQUESTS', { Details: [{ PASSWORDREQUESTLIST: [{ 'REQUEST ID': '2', 'ACCOUNT ID': '905', STATUS: 'Approved' }] }] }),
    );
    expect(await access.accessRequestState('905', '2')).toBe('approved');
    expect(sent[0]).toMatchObject({ call: 'accessRequests', path: ACCESS_REQUESTS_PATH });
    expect(sent[0]!.method).toBeUndefined();
  });

  it('a Failed list is VAULT_ERROR', async () => {
    const { access } = calls(() => failed('GET PASSWORD REQUESTS', 'You are not authorized to view the requests'));
    await expect(access.accessRequestState('905', undefined)).rejects.toMatchObject({ code: 'VAULT_ERROR' });
  });
});

describe('PmpAccessCalls.checkIn', () => {
  it('PUTs checkin for an account of the resource', async () => {
    const { access, sent } = calls(() => success('CHECKIN PASSWORD', { Details: { ACCOUNTID: '905' } }));
    await access.checkIn('301', '905');
    expect(sent[0]).toMatchObject({ call: 'checkIn', method: 'PUT', path: '/restapi/json/v1/accounts/905/checkin', form: '' });
  });

  it('is idempotent: a vault that says nothing is checked out is success', async () => {
    const { access } = calls(() => failed('CHECKIN PASSWORD', 'The password is not checked out'));
    await expect(access.checkIn('301', '905')).resolves.toBeUndefined();
  });

  it('another user holding it is CHECKED_OUT; other failures VAULT_ERROR; an unknown account ACCOUNT_NOT_FOUND', async () => {
    await expect(calls(() => failed('CHECKIN PASSWORD', 'The password is checked out by another user')).access.checkIn('301', '905')).rejects.toMatchObject({
      code: 'CHECKED_OUT',
    });
    await expect(calls(() => failed('CHECKIN PASSWORD', 'Internal error')).access.checkIn('301', '905')).rejects.toMatchObject({ code: 'VAULT_ERROR' });
    const none = calls(() => success('CHECKIN PASSWORD'));
    await expect(none.access.checkIn('301', '906')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    expect(none.sent).toEqual([]);
  });
});
