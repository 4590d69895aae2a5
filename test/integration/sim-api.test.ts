import { request } from 'undici';
import {
  GENERATED_BULK_RESOURCE_ID,
  INPUT_DATA_MAX_CHARS,
  PMP_SIM_MESSAGES as MSG,
  SAMPLE_DATA,
  SAMPLE_TOKEN,
  startPmpSimulator,
  type PmpSimAccount,
  type PmpSimResource,
  type PmpSimulator,
} from '../../src/sim/pmp/index.js';
import { API, failed, jsonOrUndefined, simFixture } from '../helpers/sim-fixture.js';

/**
 * The simulator's API beyond the four calls the gateway started with, over
 * real sockets: INPUT_DATA in every lenient form, getResourceAccountDetails,
 * the resource list's paging and search, paging of a 40,000-account list,
 * the password change and its listeners, and generated data.
 */

const { pki, agent, sharedSim, withSim } = simFixture();

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

interface CallOptions {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  body?: string;
  headers?: Record<string, string>;
}

async function call(sim: PmpSimulator, path: string, o: CallOptions = {}): Promise<Answer> {
  const res = await request(sim.url + path, {
    method: o.method ?? 'GET',
    headers: { AUTHTOKEN: SAMPLE_TOKEN, ...(o.headers ?? {}) },
    body: o.body,
    dispatcher: agent,
  });
  const json = jsonOrUndefined(await res.body.text());
  return { status: res.statusCode, headers: res.headers, json };
}

const input = (text: string): string => `INPUT_DATA=${encodeURIComponent(text)}`;

let sim: PmpSimulator;
beforeAll(async () => {
  sim = await sharedSim();
});

describe('INPUT_DATA, read as leniently as PAM360 reads it', () => {
  const pw = `${API}/resources/302/accounts/913/password`; // ticket- and reason-required
  const password = async (o: CallOptions & { query?: string }): Promise<string | undefined> =>
    (await call(sim, o.query ? `${pw}?${o.query}` : pw, o)).json.operation.Details?.PASSWORD;

  it.each([
    ['strict JSON', '{"operation":{"Details":{"REASON":"r","TICKETID":"T-1"}}}'],
    ['a Python repr (str(dict))', "{'operation': {'Details': {'REASON': 'r', 'TICKETID': 'T-1'}}}"],
    ['unquoted keys and values', '{operation: {Details: {REASON: console launch, TICKETID: T-1}}}'],
    ['a trailing comma', "{'operation': {'Details': {'REASON': 'r', 'TICKETID': 'T-1',},},}"],
    ["Python's None as the ticket (org.json reads the string \"None\")", "{'operation': {'Details': {'REASON': 'r', 'TICKETID': None}}}"],
    ['a numeric ticket', "{'operation': {'Details': {'REASON': 'r', 'TICKETID': 42}}}"],
  ])('%s, in the query and as a form body', async (_form, text) => {
    expect(await password({ query: input(text) })).toBe('Sim-Oracle-Pass!');
    expect(await password({ body: input(text), headers: { 'content-type': 'application/x-www-form-urlencoded' } })).toBe('Sim-Oracle-Pass!');
  });

  it('as a raw body "INPUT_DATA=" + str(dict), not URL-encoded (a production script does so)', async () => {
    expect(await password({ body: "INPUT_DATA={'operation': {'Details': {'REASON': 'r', 'TICKETID': 'T-1'}}}" })).toBe('Sim-Oracle-Pass!');
  });

  it("a Python True is not a ticket (a boolean is no text), so the account's rule still applies", async () => {
    failed(await call(sim, `${pw}?${input("{'operation': {'Details': {'REASON': 'r', 'TICKETID': True}}}")}`), 'GET PASSWORD', MSG.ticketRequired);
  });

  it.each([
    ['not an object', '[1]'],
    ['unterminated', "{'operation': {'Details': {'REASON': 'r'}"],
    ["Python's \\x escape", "{'operation': {'Details': {'REASON': '\\x41'}}}"],
    ['a duplicate key', "{'operation': {'Details': {'REASON': 'r', 'REASON': 's'}}}"],
    ['over the size bound', `{'operation': {'Details': {'REASON': '${'x'.repeat(INPUT_DATA_MAX_CHARS)}'}}}`],
  ])('malformed (%s) is answered as PMP answers broken INPUT_DATA', async (_what, text) => {
    const viaBody = text.length > 8000; // a query string that long would pass Node's header limit
    const a = viaBody ? await call(sim, pw, { body: input(text) }) : await call(sim, `${pw}?${input(text)}`);
    failed(a, 'GET PASSWORD', MSG.badInputData);
  });
});

describe('resources/getResourceAccountDetails (older builds)', () => {
  const legacy = (rid: string, aid: string, extra = ''): string => `${API}/resources/getResourceAccountDetails?RESOURCEID=${rid}&ACCOUNTID=${aid}${extra}`;
  const accountDetails = (a: Answer): Record<string, string> => {
    expect(a.json.operation.result.status).toBe('Success');
    expect(typeof a.json.operation.Details.ACCOUNTDETAILS).toBe('string');
    return JSON.parse(a.json.operation.Details.ACCOUNTDETAILS);
  };

  it('holds the password in ACCOUNTDETAILS, a JSON string, and counts as a password fetch', async () => {
    sim.resetStats();
    const a = await call(sim, legacy('301', '902'));
    expect(a.json.operation.name).toBe('GET_RESOURCEACCOUNTDETAILS');
    expect(accountDetails(a)).toEqual({ 'ACCOUNT ID': '902', 'ACCOUNT NAME': 'administrator', PASSWORD: 'Sim-Adm1n-Pass!' });
    expect(JSON.parse(a.json.operation.Details.RESOURCEDETAILS)).toMatchObject({ 'RESOURCE ID': '301', 'RESOURCE NAME': 'Windows_Jump_Box', 'DNS NAME': '10.1.2.3' });
    expect(sim.stats().passwordFetches).toBe(1);
  });

  it('says why in PASSWORD_REASON when the password is not handed out', async () => {
    expect(accountDetails(await call(sim, legacy('301', '903')))).toEqual({ 'ACCOUNT ID': '903', 'ACCOUNT NAME': 'svc_backup', PASSWORD_REASON: MSG.ticketRequired });
    expect(accountDetails(await call(sim, legacy('302', '911')))['PASSWORD_REASON']).toBe(MSG.accessDenied);
    expect(accountDetails(await call(sim, legacy('301', '905')))['PASSWORD_REASON']).toBe(MSG.approvalRequired);
    expect(accountDetails(await call(sim, legacy('301', '903', `&${input("{'operation':{'Details':{'TICKETID':'T'}}}")}`)))['PASSWORD']).toBe('Sim-Backup-Pass!');
  });

  it('pmp-old hands out "[Request]" as its password call does', async () => {
    await withSim({ variant: 'pmp-old' }, async (old) => {
      expect(accountDetails(await call(old, legacy('301', '905')))['PASSWORD']).toBe('[Request]');
    });
  });

  it('fails like the other calls for missing or unknown IDs and broken INPUT_DATA', async () => {
    failed(await call(sim, `${API}/resources/getResourceAccountDetails?RESOURCEID=301`), 'GET_RESOURCEACCOUNTDETAILS', MSG.idsMissing);
    failed(await call(sim, legacy('999', '902')), 'GET_RESOURCEACCOUNTDETAILS', MSG.resourceNotFound);
    failed(await call(sim, legacy('301', '911')), 'GET_RESOURCEACCOUNTDETAILS', MSG.accountNotFound);
    failed(await call(sim, legacy('../301', '902')), 'GET_RESOURCEACCOUNTDETAILS', MSG.resourceNotFound);
    failed(await call(sim, legacy('301', '902', `&${input('{broken')}`)), 'GET_RESOURCEACCOUNTDETAILS', MSG.badInputData);
  });
});

describe('look-ups by name and the connection test', () => {
  it('resources/resourcename/{name}: case-insensitive, percent-decoded', async () => {
    const a = await call(sim, `${API}/resources/resourcename/LINUX_WEB_01`);
    expect(a.json.operation.Details).toEqual({ RESOURCEID: '302' });
    failed(await call(sim, `${API}/resources/resourcename/Linux%20Web`), 'GET_RESOURCEID', MSG.resourceNameNotFound);
  });

  it('resources/resourcetypes lists the built-in types even without resources', async () => {
    await withSim({ data: { ...sim.data, resources: [] } }, async (empty) => {
      const op = (await call(empty, `${API}/resources/resourcetypes`)).json.operation;
      expect(op.result.status).toBe('Success');
      expect(op.Details.length).toBeGreaterThan(0);
    });
  });
});

/** Resources of one account each (the first one's is "oracle"), every other one described "odd one", for list tests. */
function resources(spec: Array<[string, string, string]>): PmpSimResource[] {
  return spec.map(([id, name, type], i) => ({
    id, name, type, dnsName: `${name}.example`, description: i % 2 ? 'odd one' : '', owner: 'admin', department: '', location: '',
    domainName: '', url: '', passwordPolicy: 'Strong', customFields: [], orgName: null,
    accounts: [{ id: `${id}1`, passwdId: `${id}1`, name: i === 0 ? 'oracle' : 'root', password: 'p', notes: '', ticketIdRequired: false, reasonRequired: false, accessControlled: false, accessDenied: false, customFields: [] } satisfies PmpSimAccount],
  }));
}

describe('GET resources: paging and search (INPUT_DATA)', () => {
  const list = async (s: PmpSimulator, details: string): Promise<{ total: number; names: string[] | undefined; op: any }> => {
    const op = (await call(s, `${API}/resources?${input(`{'operation':{'Details':{${details}}}}`)}`)).json.operation;
    return { total: op.totalRows, names: op.Details?.map((r: any) => r['RESOURCE NAME']), op };
  };
  const data = { ...SAMPLE_DATA, resources: resources([['1', 'lin-a', 'Linux'], ['2', 'win-b', 'Windows'], ['3', 'lin-c', 'Linux'], ['4', 'aix-d', 'Unix'], ['5', 'win-e', 'Windows 2019']]) };
  let s: PmpSimulator;
  beforeAll(async () => {
    s = await startPmpSimulator({ tls: pki.server, data });
  });
  afterAll(() => s.close());

  it('pages with STARTINDEX and LIMIT; totalRows counts every matching row', async () => {
    expect(await list(s, "'STARTINDEX': 0, 'LIMIT': 2")).toMatchObject({ total: 5, names: ['lin-a', 'win-b'] });
    expect(await list(s, "'STARTINDEX': '2', 'LIMIT': '2'")).toMatchObject({ total: 5, names: ['lin-c', 'aix-d'] });
    expect(await list(s, 'STARTINDEX: 4, LIMIT: 10')).toMatchObject({ total: 5, names: ['win-e'] });
    expect(await list(s, "'LIMIT': 1")).toMatchObject({ total: 5, names: ['lin-a'] });
    const past = await list(s, "'STARTINDEX': 5, 'LIMIT': 2");
    expect(past.total).toBe(5);
    expect('Details' in past.op).toBe(false);
  });

  it('filters by VIEWTYPE', async () => {
    expect((await list(s, "'VIEWTYPE': 'ALLMYPASSWORD'")).names).toHaveLength(5);
    expect(await list(s, "'VIEWTYPE': 'LINUXSSHPASSWORD'")).toMatchObject({ total: 3, names: ['lin-a', 'lin-c', 'aix-d'] });
    expect(await list(s, "'VIEWTYPE': 'WINDOWSRDPPASSWORD'")).toMatchObject({ total: 2, names: ['win-b', 'win-e'] });
    expect((await list(s, "'VIEWTYPE': 'FAVOURITEPASSWORD'")).total).toBe(0);
  });

  it('searches a column (case-insensitive substring), or the resources with a matching account', async () => {
    expect((await list(s, "'SEARCHTYPE': 'RESOURCE', 'SEARCHCOLUMN': 'RESOURCENAME', 'SEARCHVALUE': 'WIN'")).names).toEqual(['win-b', 'win-e']);
    expect((await list(s, "'SEARCHCOLUMN': 'RESOURCETYPE', 'SEARCHVALUE': 'unix'")).names).toEqual(['aix-d']);
    expect((await list(s, "'SEARCHCOLUMN': 'ALL', 'SEARCHVALUE': 'odd'")).names).toEqual(['win-b', 'aix-d']);
    expect((await list(s, "'SEARCHTYPE': 'ACCOUNT', 'SEARCHCOLUMN': 'ACCOUNTNAME', 'SEARCHVALUE': 'orac'")).names).toEqual(['lin-a']);
    expect(await list(s, "'SEARCHVALUE': 'win', 'STARTINDEX': 1, 'LIMIT': 1")).toMatchObject({ total: 2, names: ['win-e'] });
  });

  it('refuses what the API does not have', async () => {
    failed((await call(s, `${API}/resources?${input("{'operation':{'Details':{'VIEWTYPE':'MINE'}}}")}`)), 'GET RESOURCES', MSG.badViewType);
    failed((await call(s, `${API}/resources?${input("{'operation':{'Details':{'SEARCHCOLUMN':'DNSNAME','SEARCHVALUE':'x'}}}")}`)), 'GET RESOURCES', MSG.badSearch);
    failed((await call(s, `${API}/resources?${input("{'operation':{'Details':{'SEARCHTYPE':'USER'}}}")}`)), 'GET RESOURCES', MSG.badSearch);
    failed((await call(s, `${API}/resources?${input("{'operation':{'Details':{'LIMIT':0}}}")}`)), 'GET RESOURCES', MSG.badPaging);
    failed((await call(s, `${API}/resources?${input("{'operation':{'Details':{'STARTINDEX':'x'}}}")}`)), 'GET RESOURCES', MSG.badPaging);
    failed((await call(s, `${API}/resources?${input('{nope')}`)), 'GET RESOURCES', MSG.badInputData);
  });

  it('without paging keys, INPUT_DATA leaves the whole list as built at start', async () => {
    const whole = await call(s, `${API}/resources`);
    expect((await call(s, `${API}/resources?${input("{'operation':{'Details':{'REASON':'x'}}}")}`)).json).toEqual(whole.json);
  });

  it('switches: STARTINDEX from 1, totalRows of the page', async () => {
    await withSim({ data, behaviour: { startIndexBase: 1, pagedTotalRows: 'page' } }, async (alt) => {
      expect(await list(alt, "'STARTINDEX': 1, 'LIMIT': 2")).toMatchObject({ total: 2, names: ['lin-a', 'win-b'] });
      expect(await list(alt, "'STARTINDEX': 0, 'LIMIT': 1")).toMatchObject({ total: 1, names: ['lin-a'] });
    });
  });
});

describe('GET resources/{id}/accounts: paging over 40,000 accounts', () => {
  let big: PmpSimulator;
  beforeAll(async () => {
    big = await startPmpSimulator({ tls: pki.server, generate: { resources: 0, bulkAccounts: 40_000 } });
  }, 60_000);
  afterAll(() => big.close());
  const path = `${API}/resources/${GENERATED_BULK_RESOURCE_ID}/accounts`;
  const page = async (s: PmpSimulator, details: string): Promise<any> =>
    (await call(s, `${path}?${input(`{'operation':{'Details':{${details}}}}`)}`)).json.operation;

  it('pages of 1,000 give every account once, in order, with totalRows', async () => {
    const seen: string[] = [];
    for (let start = 0; start < 40_000; start += 1000) {
      const op = await page(big, `'STARTINDEX': ${start}, 'LIMIT': 1000`);
      expect(op.totalRows).toBe(40_000);
      expect(op.Details['RESOURCE ID']).toBe(GENERATED_BULK_RESOURCE_ID);
      seen.push(...op.Details['ACCOUNT LIST'].map((a: any) => a['ACCOUNT NAME']));
    }
    expect(seen).toHaveLength(40_000);
    expect(seen[0]).toBe('bulk0000001');
    expect(seen[39_999]).toBe('bulk0040000');
    expect(new Set(seen).size).toBe(40_000);
  }, 60_000);

  it('searches account names, and answers the whole list without paging keys', async () => {
    const op = await page(big, "'SEARCHVALUE': 'bulk003999', 'LIMIT': 5");
    expect(op.totalRows).toBe(10);
    expect(op.Details['ACCOUNT LIST'].map((a: any) => a['ACCOUNT NAME'])).toEqual(['bulk0039990', 'bulk0039991', 'bulk0039992', 'bulk0039993', 'bulk0039994']);
    failed(await call(big, `${path}?${input("{'operation':{'Details':{'SEARCHCOLUMN':'NOTES','SEARCHVALUE':'x'}}}")}`), 'GET RESOURCE ACCOUNTLIST', MSG.badSearch);
    const whole = (await call(big, path)).json.operation;
    expect(whole.Details['ACCOUNT LIST']).toHaveLength(40_000);
    expect('totalRows' in whole).toBe(false);
  }, 60_000);

  it('with the switch off, ignores INPUT_DATA as a build without paging would', async () => {
    await withSim({ behaviour: { accountListPaging: false } }, async (s) => {
      const op = (await call(s, `${API}/resources/301/accounts?${input("{'operation':{'Details':{'LIMIT':1}}}")}`)).json.operation;
      expect(op.Details['ACCOUNT LIST']).toHaveLength(4);
      expect((await call(s, `${API}/resources/301/accounts?${input('{broken')}`)).json.operation.result.status).toBe('Success');
    });
  });
});

describe('PUT resources/{rid}/accounts/{aid}/password: change a password', () => {
  const put = (s: PmpSimulator, rid: string, aid: string, text: string): Promise<Answer> =>
    call(s, `${API}/resources/${rid}/accounts/${aid}/password`, { method: 'PUT', body: input(text), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  it('stores the new password, answers as PAM360 recorded, and tells the listeners', async () => {
    const heard: Array<[string, string, string]> = [];
    await withSim({ onPasswordChanged: (r, a) => heard.push([r.id, a.id, a.password]) }, async (s) => {
      const extra: string[] = [];
      const stop = s.onPasswordChanged((_r, a) => extra.push(a.name));
      s.onPasswordChanged(() => {
        throw new Error('a broken listener');
      });
      const a = await put(s, '301', '902', "{'operation': {'Details': {'NEWPASSWORD': 'New pass & more', 'RESETTYPE': 'LOCAL', 'REASON': 'rotation'}}}");
      expect(a.json).toEqual({ operation: { name: 'CHANGE PASSWORD', result: { status: 'Success', message: 'Password changed successfully' } } });
      expect((await call(s, `${API}/resources/301/accounts/902/password`)).json.operation.Details.PASSWORD).toBe('New pass & more');
      expect(s.data.resources[0]!.accounts[0]!.password).toBe('New pass & more');
      expect(heard).toEqual([['301', '902', 'New pass & more']]);
      expect(extra).toEqual(['administrator']);
      stop();
      await put(s, '301', '902', '{"operation":{"Details":{"NEWPASSWORD":"third","RESETTYPE":"REMOTE"}}}');
      expect(extra).toEqual(['administrator']);
      expect(heard.map((h) => h[2])).toEqual(['New pass & more', 'third']);
      expect(s.stats().passwordFetches).toBe(1);
    });
  });

  it('generates a password when NEWPASSWORD is absent', async () => {
    await withSim({}, async (s) => {
      expect((await put(s, '302', '912', "{'operation': {'Details': {'REASON': 'rotate'}}}")).json.operation.result.status).toBe('Success');
      const now = s.data.resources[1]!.accounts[1]!.password;
      expect(now).not.toBe('Sim-Deploy-Pass!');
      expect(now.length).toBeGreaterThanOrEqual(12);
    });
  });

  it('fails for unknown IDs, an account the user may not touch, a bad RESETTYPE or INPUT_DATA', async () => {
    failed(await put(sim, '999', '902', '{}'), 'CHANGE PASSWORD', MSG.resourceNotFound);
    failed(await put(sim, '301', '911', '{}'), 'CHANGE PASSWORD', MSG.accountNotFound);
    failed(await put(sim, '302', '911', "{'operation':{'Details':{'NEWPASSWORD':'x'}}}"), 'CHANGE PASSWORD', MSG.changeDenied);
    failed(await put(sim, '301', '902', "{'operation':{'Details':{'NEWPASSWORD':'x','RESETTYPE':'ELSEWHERE'}}}"), 'CHANGE PASSWORD', MSG.badResetType);
    failed(await put(sim, '301', '902', "{'operation':{'Details':{'NEWPASSWORD':'x'}}"), 'CHANGE PASSWORD', MSG.badInputData);
    expect((await call(sim, `${API}/resources/301/accounts/902/password`)).json.operation.Details.PASSWORD).toBe('Sim-Adm1n-Pass!');
  });

  it('other methods on the password path, and writes the simulator does not have, are still HTTP 405', async () => {
    const del = await call(sim, `${API}/resources/301/accounts/902/password`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    // A method no route has is refused before the path is looked at, naming every method the API has.
    expect(del.headers['allow']).toBe('GET, PUT, POST');
    const post = await call(sim, `${API}/resources/301/accounts/902/password`, { method: 'POST', body: input('{}') });
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, PUT');
    expect((await call(sim, `${API}/resources`, { method: 'POST', body: input('{}') })).status).toBe(405);
  });
});

describe('generated data over the wire', () => {
  it('the same seed serves byte-identical lists; another seed does not', async () => {
    const lists: string[] = [];
    for (const seed of [3, 3, 4]) {
      await withSim({ generate: { resources: 2000, seed } }, async (s) => {
        const res = await request(`${s.url}${API}/resources`, { headers: { AUTHTOKEN: SAMPLE_TOKEN }, dispatcher: agent });
        lists.push(await res.body.text());
      });
    }
    expect(JSON.parse(lists[0]!).operation.totalRows).toBe(2003);
    expect(lists[1]).toBe(lists[0]);
    expect(lists[2]).not.toBe(lists[0]);
  }, 60_000);
});
