import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadSimData,
  PmpSimError,
  SAMPLE_DATA,
  SAMPLE_TOKEN,
  validateSimData,
} from '../../../src/sim/pmp/index.js';

function minimal(): any {
  return {
    apiUsers: [{ token: 't-1', allowedHosts: ['127.0.0.1'], orgName: null }],
    resources: [
      {
        id: '1',
        name: 'res1',
        type: 'Linux',
        dnsName: '10.0.0.1',
        accounts: [{ id: '10', name: 'root', password: 'pw' }],
      },
    ],
  };
}

function errorOf(raw: unknown): PmpSimError {
  try {
    validateSimData(raw);
  } catch (err) {
    if (err instanceof PmpSimError) return err;
    throw err;
  }
  throw new Error('validateSimData accepted the input');
}

describe('validateSimData', () => {
  it('fills the defaults of a minimal file', () => {
    const d = validateSimData(minimal());
    expect(d.apiUsers[0]).toEqual({ token: 't-1', allowedHosts: ['127.0.0.1'], orgName: null, orgNames: [], name: '' });
    expect(d.integrations).toEqual([]);
    expect(d.resources[0]).toMatchObject({ description: '', owner: 'admin', passwordPolicy: 'Strong', customFields: [], orgName: null });
    expect(d.resources[0]!.accounts[0]).toEqual({
      id: '10',
      passwdId: '10',
      name: 'root',
      password: 'pw',
      notes: '',
      ticketIdRequired: false,
      reasonRequired: false,
      accessControlled: false,
      accessDenied: false,
      customFields: [],
    });
  });

  it('accepts the exact format of the issue', () => {
    const d = validateSimData({
      apiUsers: [{ token: 'x', allowedHosts: ['127.0.0.1'], orgName: null }],
      resources: [
        {
          id: '301', name: 'Windows_Jump_Box', type: 'Windows', dnsName: '10.1.2.3',
          accounts: [{
            id: '902', passwdId: '902', name: 'administrator', password: 'p', notes: 'n',
            ticketIdRequired: false, reasonRequired: false, accessControlled: false, accessDenied: false,
          }],
        },
      ],
    });
    expect(d.resources[0]!.accounts[0]!.notes).toBe('n');
  });

  const cases: Array<[string, (d: any) => void, string, string]> = [
    ['not an object', (d) => { d.resources = 'x'; }, 'resources', 'must be an array'],
    ['missing apiUsers', (d) => { delete d.apiUsers; }, 'apiUsers', 'is required'],
    ['no API users', (d) => { d.apiUsers = []; }, 'apiUsers', 'at least one'],
    ['empty token', (d) => { d.apiUsers[0].token = ' '; }, 'apiUsers[0].token', 'must not be empty'],
    ['duplicate token', (d) => { d.apiUsers.push({ token: 't-1', allowedHosts: ['*'] }); }, 'apiUsers[1].token', 'duplicates'],
    ['no hosts', (d) => { d.apiUsers[0].allowedHosts = []; }, 'apiUsers[0].allowedHosts', 'at least one host'],
    ['bad host', (d) => { d.apiUsers[0].allowedHosts = [3]; }, 'apiUsers[0].allowedHosts[0]', 'non-empty string'],
    ['bad orgName', (d) => { d.apiUsers[0].orgName = 5; }, 'apiUsers[0].orgName', 'string or null'],
    ['unknown user key', (d) => { d.apiUsers[0].tokn = 'x'; }, 'apiUsers[0].tokn', 'unknown key'],
    ['numeric resource id', (d) => { d.resources[0].id = 301; }, 'resources[0].id', 'write "301"'],
    ['non-digit resource id', (d) => { d.resources[0].id = '3a'; }, 'resources[0].id', 'string of digits'],
    ['duplicate resource id', (d) => { d.resources.push({ ...d.resources[0], name: 'other', accounts: [] }); }, 'resources[1].id', 'duplicates resource id 1'],
    ['duplicate resource name', (d) => { d.resources.push({ id: '2', name: 'RES1', type: 'Linux', accounts: [] }); }, 'resources[1].name', 'case-insensitive'],
    ['missing type', (d) => { delete d.resources[0].type; }, 'resources[0].type', 'is required'],
    ['missing accounts', (d) => { delete d.resources[0].accounts; }, 'resources[0].accounts', 'is required'],
    ['typo in a flag', (d) => { d.resources[0].accounts[0].ticketIDRequired = true; }, 'resources[0].accounts[0].ticketIDRequired', 'unknown key'],
    ['flag not boolean', (d) => { d.resources[0].accounts[0].accessDenied = 'yes'; }, 'resources[0].accounts[0].accessDenied', 'true or false'],
    ['missing password', (d) => { delete d.resources[0].accounts[0].password; }, 'resources[0].accounts[0].password', 'is required'],
    ['bad passwdId', (d) => { d.resources[0].accounts[0].passwdId = 'x'; }, 'resources[0].accounts[0].passwdId', 'digits'],
    ['duplicate account id', (d) => { d.resources.push({ id: '2', name: 'b', type: 'Linux', accounts: [{ id: '10', name: 'a', password: 'p' }] }); }, 'resources[1].accounts[0].id', 'unique across resources'],
    ['duplicate account name', (d) => { d.resources[0].accounts.push({ id: '11', name: 'ROOT', password: 'p' }); }, 'resources[0].accounts[1].name', 'duplicates account name'],
    ['custom field without label', (d) => { d.resources[0].customFields = [{ value: 'v' }]; }, 'resources[0].customFields[0].label', 'is required'],
    ['orgNames not an array', (d) => { d.apiUsers[0].orgNames = 'Acme'; }, 'apiUsers[0].orgNames', 'must be an array'],
    ['empty organisation', (d) => { d.apiUsers[0].orgNames = ['Acme', ' ']; }, 'apiUsers[0].orgNames[1]', 'non-empty string'],
    ['duplicate organisation', (d) => { d.apiUsers[0].orgNames = ['Acme', 'ACME ']; }, 'apiUsers[0].orgNames[1]', 'case-insensitive'],
    ['own organisation not among orgNames', (d) => { d.apiUsers[0].orgNames = ['Acme']; d.apiUsers[0].orgName = 'Globex'; }, 'apiUsers[0].orgName', 'one of orgNames'],
    ['integration without appName', (d) => { d.integrations = [{ name: 'i', token: 'a', allowedHosts: ['*'] }]; }, 'integrations[0].appName', 'is required'],
    ['integration without name', (d) => { d.integrations = [{ token: 'a', appName: 'x', allowedHosts: ['*'] }]; }, 'integrations[0].name', 'is required'],
    ['integration token of an API user', (d) => { d.integrations = [{ name: 'i', token: 't-1', appName: 'x', allowedHosts: ['*'] }]; }, 'integrations[0].token', 'duplicates'],
    ['integration without hosts', (d) => { d.integrations = [{ name: 'i', token: 'a', appName: 'x', allowedHosts: [] }]; }, 'integrations[0].allowedHosts', 'at least one host'],
    ['bad appType', (d) => { d.integrations = [{ name: 'i', token: 'a', appName: 'x', appType: 17, allowedHosts: ['*'] }]; }, 'integrations[0].appType', 'string or null'],
    ['unknown integration key', (d) => { d.integrations = [{ name: 'i', token: 'a', appName: 'x', allowedHosts: ['*'], app_name: 'x' }]; }, 'integrations[0].app_name', 'unknown key'],
    ['integrations not an array', (d) => { d.integrations = {}; }, 'integrations', 'must be an array'],
    ['bad resource orgName', (d) => { d.resources[0].orgName = ''; }, 'resources[0].orgName', 'string or null'],
  ];
  it.each(cases)('%s → names %s', (_title, mutate, keyPath, problem) => {
    const d = minimal();
    mutate(d);
    const err = errorOf(d);
    expect(err.code).toBe('SIM_DATA_INVALID');
    expect(err.keyPath).toBe(keyPath);
    expect(err.message).toContain(`${keyPath}: `);
    expect(err.message).toContain(problem);
  });

  it('keeps a file of the old format valid: orgName alone is the own organisation and the only one', () => {
    const d = minimal();
    d.apiUsers[0].orgName = 'Acme Tenant';
    expect(validateSimData(d).apiUsers[0]).toMatchObject({ orgName: 'Acme Tenant', orgNames: ['Acme Tenant'] });
  });

  it('reads integrations and organisations, with their defaults', () => {
    const d = minimal();
    d.apiUsers[0].orgNames = ['Acme', 'Globex'];
    d.integrations = [{ name: 'itom', token: 'app-1', appName: 'ITOM', allowedHosts: ['10.0.0.5'], orgName: 'Globex' }];
    d.resources[0].orgName = 'Acme';
    const v = validateSimData(d);
    expect(v.apiUsers[0]).toMatchObject({ orgName: null, orgNames: ['Acme', 'Globex'] });
    expect(v.integrations).toEqual([
      { name: 'itom', token: 'app-1', appName: 'ITOM', appType: null, allowedHosts: ['10.0.0.5'], orgName: 'Globex', orgNames: ['Globex'] },
    ]);
    expect(v.resources[0]!.orgName).toBe('Acme');
  });

  it('takes integrations without API users, not a file without either', () => {
    const d = minimal();
    d.apiUsers = [];
    d.integrations = [{ name: 'i', token: 'a', appName: 'x', allowedHosts: ['*'] }];
    expect(validateSimData(d).integrations).toHaveLength(1);
  });

  it('refuses a non-object root', () => {
    expect(errorOf([]).message).toBe('must be an object');
  });
});

describe('SAMPLE_DATA', () => {
  const accounts = SAMPLE_DATA.resources.flatMap((r) => r.accounts);
  it('is valid and unchanged by validation', () => {
    expect(validateSimData(SAMPLE_DATA)).toEqual(SAMPLE_DATA);
    expect(SAMPLE_DATA.apiUsers.map((u) => u.token)).toContain(SAMPLE_TOKEN);
  });
  it('has one account of each kind', () => {
    const plain = (a: (typeof accounts)[number]): boolean =>
      !a.ticketIdRequired && !a.reasonRequired && !a.accessControlled && !a.accessDenied;
    expect(accounts.some((a) => plain(a) && a.notes !== '')).toBe(true);
    expect(accounts.some((a) => plain(a) && a.notes === '')).toBe(true);
    expect(accounts.some((a) => a.ticketIdRequired && !a.reasonRequired)).toBe(true);
    expect(accounts.some((a) => a.reasonRequired && !a.ticketIdRequired)).toBe(true);
    expect(accounts.some((a) => a.accessControlled)).toBe(true);
    expect(accounts.some((a) => a.accessDenied)).toBe(true);
    expect(accounts.some((a) => a.passwdId !== a.id)).toBe(true);
  });
  it('has the demo resource and a Linux resource', () => {
    const jump = SAMPLE_DATA.resources.find((r) => r.id === '301');
    expect(jump?.name).toBe('Windows_Jump_Box');
    expect(jump?.accounts.find((a) => a.id === '902')?.name).toBe('administrator');
    expect(SAMPLE_DATA.resources.some((r) => r.type === 'Linux' && r.accounts.length > 0)).toBe(true);
  });
});

describe('loadSimData', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'credgw-simdata-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a valid file', () => {
    const f = join(dir, 'ok.json');
    writeFileSync(f, JSON.stringify(minimal()));
    expect(loadSimData(f).resources[0]!.name).toBe('res1');
  });
  it('names a missing file', () => {
    const f = join(dir, 'missing.json');
    expect(() => loadSimData(f)).toThrow(expect.objectContaining({ code: 'SIM_DATA_UNREADABLE', message: expect.stringContaining(f) }));
  });
  it('names a file that is not JSON', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{"apiUsers": [');
    expect(() => loadSimData(f)).toThrow(expect.objectContaining({ code: 'SIM_DATA_UNREADABLE', message: expect.stringContaining('is not JSON') }));
  });
  it('names the key path of an invalid file', () => {
    const f = join(dir, 'invalid.json');
    const d = minimal();
    d.resources[0].accounts[0].id = 10;
    writeFileSync(f, JSON.stringify(d));
    expect(() => loadSimData(f)).toThrow(expect.objectContaining({ code: 'SIM_DATA_INVALID', keyPath: 'resources[0].accounts[0].id' }));
  });
});
