import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import {
  PMP_SIM_MESSAGES as MSG,
  SAMPLE_APP_NAME,
  SAMPLE_APP_TOKEN,
  SAMPLE_APP_TOKEN_WRONG_HOST,
  SAMPLE_DATA,
  SAMPLE_ORG_NAME,
  SAMPLE_ORG_NAME_2,
  SAMPLE_TOKEN,
  SAMPLE_TOKEN_ORG,
  SAMPLE_TOKEN_ORG_OWN,
  SAMPLE_TOKEN_WRONG_HOST,
  type PmpSimData,
  type PmpSimulator,
} from '../../src/sim/pmp/index.js';
import { API, failed, simFixture } from '../helpers/sim-fixture.js';

/**
 * The simulator's authentication over real sockets: every token form real
 * clients use (AUTHTOKEN / APP_AUTHTOKEN, as headers, query or form
 * parameters), API users and integrations, the host binding, the
 * organisation an MSP call acts in, and logs without tokens.
 */

const { agent, sharedSim, withSim } = simFixture();

interface Answer {
  status: number;
  json: any;
}

async function call(sim: PmpSimulator, path: string, headers: Record<string, string> = {}, o: { method?: 'GET' | 'PUT'; body?: string } = {}): Promise<Answer> {
  const res = await request(sim.url + path, { method: o.method ?? 'GET', headers, body: o.body, dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

function ok(a: Answer): void {
  expect(a.status).toBe(200);
  expect(a.json.operation.result).toEqual(expect.objectContaining({ status: 'Success' }));
}

function refused(a: Answer, message: string): void {
  failed(a, 'Authentication', message);
}

let sim: PmpSimulator;
beforeAll(async () => {
  sim = await sharedSim();
});

const enc = encodeURIComponent;

describe('an API user key, in every form', () => {
  it.each<[string, string, Record<string, string>]>([
    ['AUTHTOKEN header', `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN }],
    ['?AUTHTOKEN= query', `${API}/resources?AUTHTOKEN=${enc(SAMPLE_TOKEN)}`, {}],
    ['APP_AUTHTOKEN header with APP_NAME', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_TOKEN, APP_NAME: 'ANSIBLE' }],
    ['APP_AUTHTOKEN header with APP_TYPE', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_TOKEN, APP_TYPE: '17' }],
    ['APP_AUTHTOKEN header alone', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_TOKEN }],
    ['?APP_AUTHTOKEN=&APP_NAME= query', `${API}/resources?APP_AUTHTOKEN=${enc(SAMPLE_TOKEN)}&APP_NAME=Ansible`, {}],
  ])('%s', async (_form, path, headers) => {
    ok(await call(sim, path, headers));
  });

  it('as form parameters of a PUT body (a servlet reads them like query parameters)', async () => {
    const body = `AUTHTOKEN=${enc(SAMPLE_TOKEN)}&INPUT_DATA=${enc("{'operation':{'Details':{'NEWPASSWORD':'Sim-Adm1n-Pass!'}}}")}`;
    ok(await call(sim, `${API}/resources/301/accounts/902/password`, { 'content-type': 'application/x-www-form-urlencoded' }, { method: 'PUT', body }));
  });

  it('is refused as APP_AUTHTOKEN when the switch says real servers would not take it', async () => {
    await withSim({ behaviour: { apiKeyAsAppToken: false } }, async (strict) => {
      refused(await call(strict, `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_TOKEN, APP_NAME: 'x' }), MSG.badToken);
      ok(await call(strict, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN }));
    });
  });

  it('the first form present is the one checked: headers before parameters, AUTHTOKEN before APP_AUTHTOKEN', async () => {
    ok(await call(sim, `${API}/resources?AUTHTOKEN=wrong`, { AUTHTOKEN: SAMPLE_TOKEN, APP_AUTHTOKEN: 'wrong' }));
    refused(await call(sim, `${API}/resources?AUTHTOKEN=${enc(SAMPLE_TOKEN)}`, { APP_AUTHTOKEN: 'wrong' }), MSG.badToken);
    refused(await call(sim, `${API}/resources?APP_AUTHTOKEN=${enc(SAMPLE_TOKEN)}`, { AUTHTOKEN: 'wrong' }), MSG.badToken);
  });

  it('an unknown or missing token is refused with the recorded envelope in every form', async () => {
    refused(await call(sim, `${API}/resources`), MSG.badToken);
    refused(await call(sim, `${API}/resources`, { APP_AUTHTOKEN: 'nope', APP_NAME: SAMPLE_APP_NAME }), MSG.badToken);
    refused(await call(sim, `${API}/resources?APP_AUTHTOKEN=nope&APP_NAME=${SAMPLE_APP_NAME}`), MSG.badToken);
  });
});

describe('an integration (application) token', () => {
  it.each<[string, string, Record<string, string>]>([
    ['APP_AUTHTOKEN and APP_NAME headers', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN, APP_NAME: SAMPLE_APP_NAME }],
    ['APP_NAME in another letter case', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN, APP_NAME: SAMPLE_APP_NAME.toUpperCase() }],
    ['APP_AUTHTOKEN header, APP_NAME query', `${API}/resources?APP_NAME=${SAMPLE_APP_NAME}`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN }],
    ['both in the query', `${API}/resources?APP_AUTHTOKEN=${enc(SAMPLE_APP_TOKEN)}&APP_NAME=${SAMPLE_APP_NAME}`, {}],
  ])('is accepted with %s', async (_form, path, headers) => {
    ok(await call(sim, path, headers));
  });

  it('needs its own APP_NAME (or APP_TYPE) beside it', async () => {
    refused(await call(sim, `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN }), MSG.badAppName);
    refused(await call(sim, `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN, APP_NAME: 'ITOM' }), MSG.badAppName);
    refused(await call(sim, `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN, APP_TYPE: '17' }), MSG.badAppName);
    const data: PmpSimData = {
      ...SAMPLE_DATA,
      integrations: [{ name: 'xsoar', token: 'app-17', appName: 'Cortex XSOAR', appType: '17', allowedHosts: ['*'], orgName: null, orgNames: [] }],
    };
    await withSim({ data }, async (s) => {
      ok(await call(s, `${API}/resources`, { APP_AUTHTOKEN: 'app-17', APP_TYPE: '17' }));
      ok(await call(s, `${API}/resources`, { APP_AUTHTOKEN: 'app-17', APP_NAME: 'cortex xsoar' }));
      refused(await call(s, `${API}/resources`, { APP_AUTHTOKEN: 'app-17', APP_TYPE: '18' }), MSG.badAppName);
    });
    await withSim({ behaviour: { requireAppName: false } }, async (lenient) => {
      ok(await call(lenient, `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN }));
    });
  });

  it('is not an API key (AUTHTOKEN), unless the switch says so', async () => {
    refused(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_APP_TOKEN }), MSG.badToken);
    refused(await call(sim, `${API}/resources?AUTHTOKEN=${enc(SAMPLE_APP_TOKEN)}`), MSG.badToken);
    await withSim({ behaviour: { appTokenAsAuthtoken: true } }, async (s) => {
      ok(await call(s, `${API}/resources`, { AUTHTOKEN: SAMPLE_APP_TOKEN }));
    });
  });
});

describe('host binding', () => {
  it.each<[string, string, Record<string, string>]>([
    ['API user, header', `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_WRONG_HOST }],
    ['API user, query', `${API}/resources?AUTHTOKEN=${enc(SAMPLE_TOKEN_WRONG_HOST)}`, {}],
    ['API user as APP_AUTHTOKEN', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_TOKEN_WRONG_HOST, APP_NAME: 'x' }],
    ['integration, headers', `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_APP_TOKEN_WRONG_HOST, APP_NAME: SAMPLE_APP_NAME }],
    ['integration, query', `${API}/resources?APP_AUTHTOKEN=${enc(SAMPLE_APP_TOKEN_WRONG_HOST)}&APP_NAME=${SAMPLE_APP_NAME}`, {}],
  ])('refuses a caller outside allowedHosts: %s', async (_form, path, headers) => {
    refused(await call(sim, path, headers), MSG.badHost);
  });
});

describe('organisations (MSP)', () => {
  it('a user with an own organisation needs no orgName; one it does not belong to is refused', async () => {
    ok(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG_OWN }));
    ok(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG_OWN, orgName: ` ${SAMPLE_ORG_NAME.toLowerCase()} ` }));
    refused(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG_OWN, orgName: SAMPLE_ORG_NAME_2 }), MSG.badOrg);
  });

  it('a user in several organisations without an own one must name one of them', async () => {
    refused(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG }), MSG.orgRequired);
    ok(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG, orgName: SAMPLE_ORG_NAME }));
    ok(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG, orgName: SAMPLE_ORG_NAME_2 }));
    refused(await call(sim, `${API}/resources`, { AUTHTOKEN: SAMPLE_TOKEN_ORG, orgName: 'Initech' }), MSG.badOrg);
  });

  it('a call sees the resources of its organisation (and those of none), by list, by ID and by name', async () => {
    const res = (id: string, name: string, orgName: string | null): PmpSimData['resources'][number] => ({
      ...SAMPLE_DATA.resources[2]!,
      id,
      name,
      orgName,
      accounts: [{ ...SAMPLE_DATA.resources[0]!.accounts[0]!, id: `${id}0`, name: 'admin', password: `pw-${id}` }],
    });
    const data: PmpSimData = {
      apiUsers: [
        { token: 'msp', allowedHosts: ['*'], orgName: null, orgNames: ['Acme', 'Globex'], name: 'msp' },
        { token: 'plain', allowedHosts: ['*'], orgName: null, orgNames: [], name: 'plain' },
      ],
      integrations: [{ name: 'itom', token: 'app', appName: 'ITOM', appType: null, allowedHosts: ['*'], orgName: 'Globex', orgNames: ['Globex'] }],
      resources: [res('1', 'acme-host', 'Acme'), res('2', 'globex-host', 'Globex'), res('3', 'shared-host', null)],
    };
    await withSim({ data }, async (s) => {
      const names = async (headers: Record<string, string>): Promise<string[]> =>
        (await call(s, `${API}/resources`, headers)).json.operation.Details.map((r: any) => r['RESOURCE NAME']);
      expect(await names({ AUTHTOKEN: 'msp', orgName: 'acme' })).toEqual(['acme-host', 'shared-host']);
      expect(await names({ AUTHTOKEN: 'msp', orgName: 'Globex' })).toEqual(['globex-host', 'shared-host']);
      expect(await names({ AUTHTOKEN: 'plain' })).toEqual(['acme-host', 'globex-host', 'shared-host']);
      expect(await names({ APP_AUTHTOKEN: 'app', APP_NAME: 'ITOM' })).toEqual(['globex-host', 'shared-host']);

      const acme = { AUTHTOKEN: 'msp', orgName: 'Acme' };
      expect((await call(s, `${API}/resources/1/accounts/10/password`, acme)).json.operation.Details.PASSWORD).toBe('pw-1');
      const hidden: Array<[string, string, string]> = [
        [`${API}/resources/2/accounts`, 'GET RESOURCE ACCOUNTLIST', MSG.resourceNotFound],
        [`${API}/resources/2/accounts/20`, 'GET RESOURCE ACCOUNT DETAILS', MSG.resourceNotFound],
        [`${API}/resources/2/accounts/20/password`, 'GET PASSWORD', MSG.resourceNotFound],
        [`${API}/resources/getResourceIdAccountId?RESOURCENAME=globex-host&ACCOUNTNAME=admin`, 'GET_RESOURCEACCOUNTID', MSG.namesNotFound],
        [`${API}/resources/resourcename/globex-host`, 'GET_RESOURCEID', MSG.resourceNameNotFound],
        [`${API}/resources/getResourceAccountDetails?RESOURCEID=2&ACCOUNTID=20`, 'GET_RESOURCEACCOUNTDETAILS', MSG.resourceNotFound],
      ];
      for (const [path, name, message] of hidden) {
        expect((await call(s, path, acme)).json).toEqual({ operation: { name, result: { status: 'Failed', message } } });
      }
      const put = await call(s, `${API}/resources/2/accounts/20/password`, acme, { method: 'PUT', body: `INPUT_DATA=${enc('{operation:{Details:{NEWPASSWORD:x}}}')}` });
      expect(put.json.operation.result).toEqual({ status: 'Failed', message: MSG.resourceNotFound });
      expect(s.data.resources[1]!.accounts[0]!.password).toBe('pw-2');
    });
  });
});

it('never logs a token, in any form, even at debug level', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  await withSim({ logger: pino({ level: 'debug' }, sink) }, async (s) => {
    await call(s, `${API}/resources?APP_AUTHTOKEN=${enc(SAMPLE_APP_TOKEN)}&APP_NAME=${SAMPLE_APP_NAME}`);
    await call(s, `${API}/resources`, { APP_AUTHTOKEN: SAMPLE_TOKEN, APP_NAME: 'x' });
    await call(s, `${API}/resources`, { APP_AUTHTOKEN: 'wrong-app-token-value' });
    await call(s, `${API}/resources?AUTHTOKEN=${enc(SAMPLE_TOKEN_ORG)}`);
  });
  const text = lines.join('');
  expect(text).toContain('pmp simulator request');
  for (const secret of [SAMPLE_APP_TOKEN, SAMPLE_TOKEN, SAMPLE_TOKEN_ORG, 'wrong-app-token-value']) expect(text).not.toContain(secret);
});
