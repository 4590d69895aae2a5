import { GatewayError } from '../../../src/shared/errors.js';
import {
  decodeEnvelope,
  expectSuccess,
  normalizeNotes,
  parseAccountList,
  parseAccountNotes,
  parsePassword,
  parseResources,
  type PmpEnvelope,
} from '../../../src/vault/pmp-responses.js';

/** Runs fn and returns the GatewayError it throws (fails the test otherwise). */
function caught(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

const env = (body: unknown): PmpEnvelope => decodeEnvelope(200, JSON.stringify(body));

// Responses as recorded in shared/reference/pmp-api.md.
const RESOURCES = {
  operation: {
    name: 'GET RESOURCES',
    result: { status: 'Success', message: 'Resources fetched successfully' },
    totalRows: 1,
    Details: [{ 'RESOURCE ID': '1', 'RESOURCE NAME': 'res1', 'RESOURCE DESCRIPTION': '', 'RESOURCE TYPE': 'Linux', NOOFACCOUNTS: '1' }],
  },
};

const ACCOUNT_LIST = {
  operation: {
    name: 'GET RESOURCE ACCOUNTLIST',
    result: { status: 'Success', message: 'Resource details with account list fetched successfully' },
    Details: {
      'RESOURCE ID': '1',
      'RESOURCE NAME': 'res1',
      'RESOURCE TYPE': 'Linux',
      'RESOURCE DESCRIPTION': '',
      'DNS NAME': '10.1.2.3',
      'RESOURCE OWNER': 'admin',
      DEPARTMENT: '',
      LOCATION: '',
      'DOMAIN NAME': '',
      'RESOURCE URL': '',
      'RESOURCE PASSWORD POLICY': 'Strong',
      PASSWORDREQUEST_REASON_MANDATORY: 'false',
      'ACCOUNT LIST': [
        {
          'ACCOUNT ID': '1',
          'ACCOUNT NAME': 'admin',
          PASSWDID: '1',
          ACCOUNT_DESCRIPTION: '',
          'PASSWORD STATUS': '****',
          ISFAVPASS: 'false',
          AUTOLOGONLIST: ['SSH', 'Telnet'],
          AUTOLOGONSTATUS: 'ALLOWED',
          ISREASONREQUIRED: 'false',
          IS_TICKETID_REQD: 'false',
          IS_TICKETID_REQD_MANDATORY: 'false',
          IS_TICKETID_REQD_ACW: 'false',
          PASSWORDREQUEST_REASON_MANDATORY: 'false',
          ISREMOTEAPPONLY: 'false',
          'ACCOUNT PASSWORD POLICY': 'Strong',
        },
      ],
    },
  },
};

describe('decodeEnvelope', () => {
  it('accepts Success and Failed envelopes, with extra keys and a PAM360 numeric statusCode', () => {
    const e = env({
      operation: {
        name: 'GET PASSWORD',
        result: { status: 'Success', message: 'Password fetched successfully', statusCode: 20000 },
        Details: { PASSWORD: 'x' },
        newKey: { nested: true },
      },
    });
    expect(e).toEqual({ operationName: 'GET PASSWORD', status: 'Success', message: 'Password fetched successfully', details: { PASSWORD: 'x' }, totalRows: undefined });
    const f = env({ operation: { name: 'GET PASSWORD', result: { status: 'Failed', message: 'nope', statusCode: 40004 } } });
    expect(f.status).toBe('Failed');
    expect(f.details).toBeUndefined();
  });

  it.each([
    ['empty body', 200, ''],
    ['whitespace body', 200, '  \r\n'],
    ['non-JSON', 200, 'Internal error'],
    ['HTML error page', 200, '<html><head><title>Error</title></head><body>Oops</body></html>'],
    ['JSON without operation', 200, '{"foo":1}'],
    ['JSON array', 200, '[1,2]'],
    ['operation without result', 200, '{"operation":{"name":"X"}}'],
    ['status neither Success nor Failed', 200, '{"operation":{"result":{"status":"Maybe"}}}'],
    ['HTTP 500 with a valid envelope', 500, JSON.stringify(RESOURCES)],
    ['HTTP 404', 404, 'Not Found'],
  ])('%s is VAULT_ERROR', (_name, status, body) => {
    const err = caught(() => decodeEnvelope(status, body));
    expect(err.code).toBe('VAULT_ERROR');
    expect(err.retryable).toBe(true);
  });

  it('never copies a body into the error detail (a broken password answer must not leak)', () => {
    const err = caught(() => decodeEnvelope(200, 'PASSWORD=hunter2-secret'));
    expect(err.detail).not.toContain('hunter2');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('Authentication failures', () => {
  it.each([
    'API key received is not associated to any user. Authentication failed.',
    'User is not allowed to access from this host',
  ])('"%s" is ACCESS_DENIED for every call, with the message as detail', (message) => {
    const e = env({ operation: { name: 'Authentication', result: { status: 'Failed', message } } });
    for (const call of ['listResources', 'listAccounts', 'accountDetails', 'getPassword', 'probe'] as const) {
      const err = caught(() => expectSuccess(e, { call }));
      expect(err.code).toBe('ACCESS_DENIED');
      expect(err.detail).toBe(message);
    }
  });
});

describe('parseResources', () => {
  it('reads the recorded list', () => {
    expect(parseResources(env(RESOURCES))).toEqual([{ id: '1', name: 'res1', type: 'Linux', description: undefined, dnsName: undefined }]);
  });

  it('an empty list has totalRows 0 and no Details key', () => {
    const e = env({ operation: { name: 'GET RESOURCES', result: { status: 'Success', message: 'Resources fetched successfully' }, totalRows: 0 } });
    expect(e.totalRows).toBe(0);
    expect(parseResources(e)).toEqual([]);
  });

  it('accepts Details as a lone object and numeric IDs', () => {
    const e = env({ operation: { name: 'GET RESOURCES', result: { status: 'Success' }, Details: { 'RESOURCE ID': 7, 'RESOURCE NAME': 'x' } } });
    expect(parseResources(e).map((r) => r.id)).toEqual(['7']);
  });

  it.each([
    ['missing ID', { 'RESOURCE NAME': 'x' }],
    ['non-numeric ID', { 'RESOURCE ID': '../x', 'RESOURCE NAME': 'x' }],
    ['missing name', { 'RESOURCE ID': '1' }],
  ])('%s is VAULT_ERROR', (_n, item) => {
    const e = env({ operation: { name: 'GET RESOURCES', result: { status: 'Success' }, Details: [item] } });
    expect(caught(() => parseResources(e)).code).toBe('VAULT_ERROR');
  });
});

describe('parseAccountList', () => {
  it('reads the recorded list (newer build, ACCOUNT_DESCRIPTION "" = no notes)', () => {
    const list = parseAccountList(env(ACCOUNT_LIST), '1');
    expect(list).toEqual({
      resourceId: '1',
      resourceName: 'res1',
      resourceType: 'Linux',
      dnsName: '10.1.2.3',
      accounts: [
        { id: '1', passwdId: '1', name: 'admin', notes: undefined, notesListed: true, ticketIdRequired: false, reasonRequired: false, accessDenied: false },
      ],
    });
  });

  it('older PMP: PASSWORD POLICY, CUSTOM FIELD, no ACCOUNT_DESCRIPTION, PASSWDID != ACCOUNT ID', () => {
    const e = env({
      operation: {
        name: 'GET RESOURCE ACCOUNTLIST',
        result: { status: 'Success', message: 'ok' },
        Details: {
          'RESOURCE ID': '1',
          'RESOURCE NAME': 'res1',
          'PASSWORD POLICY': 'Strong',
          'CUSTOM FIELD': [{ CUSTOMFIELDLABEL: 'Server', CUSTOMFIELDVALUE: 'a' }],
          'ACCOUNT LIST': [{ 'ACCOUNT ID': '124', 'ACCOUNT NAME': 'root', PASSWDID: '166', 'PASSWORD STATUS': '****' }],
        },
      },
    });
    const [a] = parseAccountList(e, '1').accounts;
    expect(a).toMatchObject({ id: '124', passwdId: '166', name: 'root', notes: undefined, notesListed: false });
  });

  it('only ACCOUNT ID, ACCOUNT NAME and PASSWDID are required; flags default to false', () => {
    const e = env({ operation: { result: { status: 'Success' }, Details: { 'ACCOUNT LIST': [{ 'ACCOUNT ID': '2', 'ACCOUNT NAME': 'a', PASSWDID: '2' }] } } });
    const list = parseAccountList(e, '9');
    expect(list.resourceId).toBe('9');
    expect(list.accounts[0]).toMatchObject({ ticketIdRequired: false, reasonRequired: false, accessDenied: false });
  });

  it.each([
    ['ACCOUNT ID', { 'ACCOUNT NAME': 'a', PASSWDID: '1' }],
    ['ACCOUNT NAME', { 'ACCOUNT ID': '1', PASSWDID: '1' }],
    ['PASSWDID', { 'ACCOUNT ID': '1', 'ACCOUNT NAME': 'a' }],
  ])('an account without %s is VAULT_ERROR', (_k, item) => {
    const e = env({ operation: { result: { status: 'Success' }, Details: { 'ACCOUNT LIST': [item] } } });
    expect(caught(() => parseAccountList(e, '1')).code).toBe('VAULT_ERROR');
  });

  it('a resource without accounts, and Details as an array', () => {
    const e = env({ operation: { result: { status: 'Success' }, Details: [{ 'RESOURCE ID': '3', 'RESOURCE NAME': 'r' }] } });
    expect(parseAccountList(e, '3').accounts).toEqual([]);
  });

  it.each([
    [{ IS_TICKETID_REQD: 'true', IS_TICKETID_REQD_MANDATORY: 'true' }, {}, { ticketIdRequired: true }],
    [{ IS_TICKETID_REQD: 'true', IS_TICKETID_REQD_MANDATORY: 'false' }, {}, { ticketIdRequired: false }],
    [{ IS_TICKETID_REQD: 'false', IS_TICKETID_REQD_MANDATORY: 'true' }, {}, { ticketIdRequired: false }],
    [{ ISREASONREQUIRED: 'true' }, {}, { reasonRequired: true }],
    [{ PASSWORDREQUEST_REASON_MANDATORY: 'TRUE' }, {}, { reasonRequired: true }],
    [{}, { PASSWORDREQUEST_REASON_MANDATORY: 'true' }, { reasonRequired: true }],
    [{ 'PASSWORD STATUS': '####' }, {}, { accessDenied: true }],
    [{ 'PASSWORD STATUS': '****' }, {}, { accessDenied: false }],
    [{ ACCOUNT_DESCRIPTION: 'N/A' }, {}, { notes: undefined, notesListed: true }],
    [{ ACCOUNT_DESCRIPTION: 'jump box admin' }, {}, { notes: 'jump box admin', notesListed: true }],
  ])('flags %j (resource %j) → %j', (accountKeys, resourceKeys, expected) => {
    const e = env({
      operation: {
        result: { status: 'Success' },
        Details: { ...resourceKeys, 'ACCOUNT LIST': [{ 'ACCOUNT ID': '1', 'ACCOUNT NAME': 'a', PASSWDID: '1', ...accountKeys }] },
      },
    });
    expect(parseAccountList(e, '1').accounts[0]).toMatchObject(expected);
  });

  it('a Failed account list is RESOURCE_NOT_FOUND', () => {
    const e = env({ operation: { name: 'GET RESOURCE ACCOUNTLIST', result: { status: 'Failed', message: 'Resource not found' } } });
    const err = caught(() => expectSuccess(e, { call: 'listAccounts' }));
    expect(err.code).toBe('RESOURCE_NOT_FOUND');
    expect(err.detail).toBe('Resource not found');
  });
});

describe('parseAccountNotes', () => {
  const details = (d: unknown): PmpEnvelope =>
    env({ operation: { name: 'GET RESOURCE ACCOUNT DETAILS', result: { status: 'Success', message: 'Account details fetched successfully' }, Details: d } });

  it('reads DESCRIPTION; "N/A" and "" are no notes', () => {
    expect(parseAccountNotes(details({ DESCRIPTION: 'Domain admin for the jump box', PASSWDID: '1', 'LAST MODIFIED TIME': 'N/A' }))).toBe(
      'Domain admin for the jump box',
    );
    expect(parseAccountNotes(details({ DESCRIPTION: 'N/A' }))).toBeUndefined();
    expect(parseAccountNotes(details({ DESCRIPTION: '' }))).toBeUndefined();
    expect(parseAccountNotes(details({ PASSWDID: '1' }))).toBeUndefined();
    expect(parseAccountNotes(details([{ DESCRIPTION: 'as array' }]))).toBe('as array');
  });

  it('normalizeNotes', () => {
    expect(normalizeNotes(' n/a ')).toBeUndefined();
    expect(normalizeNotes(42)).toBeUndefined();
    expect(normalizeNotes(' keep spaces ')).toBe(' keep spaces ');
  });

  it('a Failed details call is ACCOUNT_NOT_FOUND', () => {
    const e = env({ operation: { name: 'GET RESOURCE ACCOUNT DETAILS', result: { status: 'Failed', message: 'Account not found' } } });
    expect(caught(() => expectSuccess(e, { call: 'accountDetails' })).code).toBe('ACCOUNT_NOT_FOUND');
  });
});

describe('parsePassword', () => {
  const pw = (d: unknown): PmpEnvelope => env({ operation: { name: 'GET PASSWORD', result: { status: 'Success', message: 'Password fetched successfully' }, Details: d } });

  it('returns the password as is', () => {
    expect(parsePassword(pw({ PASSWORD: 's3cr3t' }))).toBe('s3cr3t');
    expect(parsePassword(pw({ PASSWORD: ' spaced ' }))).toBe(' spaced ');
    expect(parsePassword(pw([{ PASSWORD: 'arr' }]))).toBe('arr');
  });

  it('"[Request]" is APPROVAL_REQUIRED, never a password', () => {
    const err = caught(() => parsePassword(pw({ PASSWORD: '[Request]' })));
    expect(err.code).toBe('APPROVAL_REQUIRED');
    expect(err.retryable).toBe(false);
  });

  it('a Success without a PASSWORD string is VAULT_ERROR', () => {
    expect(caught(() => parsePassword(pw({}))).code).toBe('VAULT_ERROR');
    expect(caught(() => parsePassword(pw({ PASSWORD: 5 }))).code).toBe('VAULT_ERROR');
    expect(caught(() => parsePassword(env({ operation: { result: { status: 'Success' } } }))).code).toBe('VAULT_ERROR');
  });
});
