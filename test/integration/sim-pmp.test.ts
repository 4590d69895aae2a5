import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { ManualClock } from '../../src/shared/clock.js';
import { spkiPinFromPem } from '../../src/tls/index.js';
import {
  PMP_SIM_MESSAGES as MSG,
  GENERATED_BULK_RESOURCE_ID,
  SAMPLE_APP_TOKEN,
  SAMPLE_DATA,
  SAMPLE_ORG_NAME,
  SAMPLE_TOKEN,
  SAMPLE_TOKEN_ORG,
  SAMPLE_TOKEN_WRONG_HOST,
  startPmpSimulator,
  type PmpSimulator,
} from '../../src/sim/pmp/index.js';
import { runSimPmp, simPmpCommand } from '../../src/cli/sim-pmp.js';
import { API, failed, jsonOrUndefined, simFixture } from '../helpers/sim-fixture.js';

const { pki, agent, sharedSim, withSim } = simFixture();

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

interface CallOptions {
  token?: string | null;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT';
  body?: string;
  dispatcher?: Agent;
}

async function call(sim: PmpSimulator, path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const token = o.token === undefined ? SAMPLE_TOKEN : o.token;
  if (token !== null) headers['AUTHTOKEN'] = token;
  const res = await request(sim.url + path, {
    method: o.method ?? 'GET',
    headers,
    body: o.body,
    dispatcher: o.dispatcher ?? agent,
  });
  const text = await res.body.text();
  const json = jsonOrUndefined(text);
  return { status: res.statusCode, contentType: String(res.headers['content-type']), text, json };
}

function inputData(details: Record<string, string>): string {
  return `INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: details } }))}`;
}

/** Waits (event-loop turns, no timers) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

let sim: PmpSimulator;
beforeAll(async () => {
  sim = await sharedSim();
});
afterEach(() => {
  sim.clearFaults();
  sim.setLatency(0);
});

describe('PMP simulator: success shapes', () => {
  it('lists resources', async () => {
    const a = await call(sim, `${API}/resources`);
    expect(a.status).toBe(200);
    expect(a.contentType).toContain('application/json');
    const op = a.json.operation;
    expect(op.name).toBe('GET RESOURCES');
    expect(op.result).toEqual({ status: 'Success', message: 'Resources fetched successfully' });
    expect(op.totalRows).toBe(3);
    expect(op.Details[0]).toEqual({
      'RESOURCE ID': '301',
      'RESOURCE NAME': 'Windows_Jump_Box',
      'RESOURCE DESCRIPTION': 'Jump host for the data centre',
      'RESOURCE TYPE': 'Windows',
      NOOFACCOUNTS: '4',
    });
  });

  it('lists no resources without a Details key', async () => {
    await withSim({ data: { ...SAMPLE_DATA, resources: [] } }, async (empty) => {
      const op = (await call(empty, `${API}/resources`)).json.operation;
      expect(op.result.status).toBe('Success');
      expect(op.totalRows).toBe(0);
      expect('Details' in op).toBe(false);
    });
  });

  it('lists the accounts of a resource with their flags as strings', async () => {
    const op = (await call(sim, `${API}/resources/302/accounts`)).json.operation;
    expect(op.name).toBe('GET RESOURCE ACCOUNTLIST');
    expect(op.result).toEqual({ status: 'Success', message: 'Resource details with account list fetched successfully' });
    const d = op.Details;
    expect(d).toMatchObject({ 'RESOURCE ID': '302', 'RESOURCE NAME': 'Linux_Web_01', 'DNS NAME': 'web01.corp.example', 'RESOURCE PASSWORD POLICY': 'Strong' });
    const byName = Object.fromEntries(d['ACCOUNT LIST'].map((a: any) => [a['ACCOUNT NAME'], a]));
    expect(byName.root['PASSWORD STATUS']).toBe('####');
    expect(byName.deploy).toMatchObject({ 'ACCOUNT ID': '912', PASSWDID: '1166', 'PASSWORD STATUS': '****', ACCOUNT_DESCRIPTION: '' });
    expect(byName.oracle).toMatchObject({
      IS_TICKETID_REQD: 'true',
      IS_TICKETID_REQD_MANDATORY: 'true',
      ISREASONREQUIRED: 'true',
      ACCOUNT_DESCRIPTION: 'DB owner',
      AUTOLOGONLIST: ['SSH', 'Telnet'],
      IS_COMMAND_CONTROL_CONFIGURED: 'false',
    });
    expect(JSON.stringify(op)).not.toContain('Sim-');
  });

  it('gives account details with notes, N/A when there are none', async () => {
    const op = (await call(sim, `${API}/resources/301/accounts/902`)).json.operation;
    expect(op.name).toBe('GET RESOURCE ACCOUNT DETAILS');
    expect(op.result.status).toBe('Success');
    expect(op.Details).toMatchObject({ DESCRIPTION: 'Domain admin for the jump box', PASSWDID: '902', 'PASSWORD STATUS': '****' });
    expect((await call(sim, `${API}/resources/301/accounts/904`)).json.operation.Details.DESCRIPTION).toBe('N/A');
    const oracle = (await call(sim, `${API}/resources/302/accounts/913`)).json.operation.Details;
    expect(oracle['CUSTOM FIELD']).toEqual([
      { CUSTOMFIELDLABEL: 'SID', CUSTOMFIELDVALUE: 'ORCL', CUSTOMFIELDTYPE: 'Character', CUSTOMFIELDCOLUMNNAME: 'COLUMN_CHAR1' },
    ]);
  });

  it('gives a password', async () => {
    const a = await call(sim, `${API}/resources/301/accounts/902/password`);
    expect(a.json).toEqual({
      operation: {
        name: 'GET PASSWORD',
        result: { status: 'Success', message: 'Password fetched successfully' },
        Details: { PASSWORD: 'Sim-Adm1n-Pass!' },
      },
    });
  });

  it('resolves IDs by names (case-insensitive), and a resource ID by name', async () => {
    const ids = await call(sim, `${API}/resources/getResourceIdAccountId?RESOURCENAME=windows_jump_box&ACCOUNTNAME=Administrator`);
    expect(ids.json.operation).toEqual({
      name: 'GET_RESOURCEACCOUNTID',
      result: {
        status: 'Success',
        message: 'Resource ID and account ID fetched successfully for the given resource name and account name.',
      },
      Details: { RESOURCEID: '301', ACCOUNTID: '902' },
    });
    failed(await call(sim, `${API}/resources/getResourceIdAccountId?RESOURCENAME=Windows_Jump_Box&ACCOUNTNAME=nobody`), 'GET_RESOURCEACCOUNTID', MSG.namesNotFound);
    failed(await call(sim, `${API}/resources/getResourceIdAccountId?RESOURCENAME=Windows_Jump_Box`), 'GET_RESOURCEACCOUNTID', MSG.namesMissing);
    const rid = await call(sim, `${API}/resources/resourcename/${encodeURIComponent('Linux_Web_01')}`);
    expect(rid.json.operation.result.status).toBe('Success');
    expect(rid.json.operation.Details).toEqual({ RESOURCEID: '302' });
    failed(await call(sim, `${API}/resources/resourcename/${encodeURIComponent('no such host')}`), 'GET_RESOURCEID', MSG.resourceNameNotFound);
  });

  it('lists resource types', async () => {
    const op = (await call(sim, `${API}/resources/resourcetypes`)).json.operation;
    expect(op.result.status).toBe('Success');
    expect(op.Details).toEqual([{ 'RESOURCE TYPE': 'Linux' }, { 'RESOURCE TYPE': 'Windows' }]);
  });
});

describe('PMP simulator: authentication', () => {
  it('refuses an unknown or missing token with the recorded envelope', async () => {
    failed(await call(sim, `${API}/resources`, { token: 'nope' }), 'Authentication', MSG.badToken);
    failed(await call(sim, `${API}/resources/301/accounts/902/password`, { token: null }), 'Authentication', MSG.badToken);
    expect(MSG.badToken).toBe('API key received is not associated to any user. Authentication failed.');
  });

  it('refuses a caller outside allowedHosts', async () => {
    failed(await call(sim, `${API}/resources`, { token: SAMPLE_TOKEN_WRONG_HOST }), 'Authentication', 'User is not allowed to access from this host');
  });

  it('takes the legacy ?AUTHTOKEN= query parameter', async () => {
    const a = await call(sim, `${API}/resources?AUTHTOKEN=${SAMPLE_TOKEN}`, { token: null });
    expect(a.json.operation.result.status).toBe('Success');
  });

  it('requires the orgName header of a user in several organisations without an own one, case-insensitively', async () => {
    failed(await call(sim, `${API}/resources`, { token: SAMPLE_TOKEN_ORG }), 'Authentication', MSG.orgRequired);
    failed(await call(sim, `${API}/resources`, { token: SAMPLE_TOKEN_ORG, headers: { orgName: 'Other' } }), 'Authentication', MSG.badOrg);
    const ok = await call(sim, `${API}/resources`, { token: SAMPLE_TOKEN_ORG, headers: { orgName: SAMPLE_ORG_NAME.toUpperCase() } });
    expect(ok.json.operation.result.status).toBe('Success');
    // A user without orgName ignores the header.
    const plain = await call(sim, `${API}/resources`, { headers: { orgName: 'Anything' } });
    expect(plain.json.operation.result.status).toBe('Success');
  });

  it('refuses before routing: an unknown path with a bad token is an authentication failure', async () => {
    failed(await call(sim, `${API}/user/regenerateAuthtoken`, { token: 'nope' }), 'Authentication', MSG.badToken);
  });
});

describe('PMP simulator: account kinds on the password call', () => {
  const pw = (rid: string, aid: string, details?: Record<string, string>): string =>
    `${API}/resources/${rid}/accounts/${aid}/password${details ? `?${inputData(details)}` : ''}`;

  it('ticket-required: Failed without TICKETID, Success with it', async () => {
    failed(await call(sim, pw('301', '903')), 'GET PASSWORD', MSG.ticketRequired);
    failed(await call(sim, pw('301', '903', { REASON: 'x', TICKETID: '  ' })), 'GET PASSWORD', MSG.ticketRequired);
    expect((await call(sim, pw('301', '903', { TICKETID: 'INC-1' }))).json.operation.Details.PASSWORD).toBe('Sim-Backup-Pass!');
  });

  it('reason-required: Failed without REASON, Success with it', async () => {
    failed(await call(sim, pw('301', '904', { TICKETID: 'INC-1' })), 'GET PASSWORD', MSG.reasonRequired);
    expect((await call(sim, pw('301', '904', { REASON: 'audit' }))).json.operation.Details.PASSWORD).toBe('Sim-Audit-Pass!');
  });

  it('ticket- and reason-required: needs both', async () => {
    failed(await call(sim, pw('302', '913', { REASON: 'r' })), 'GET PASSWORD', MSG.ticketRequired);
    failed(await call(sim, pw('302', '913', { TICKETID: 't' })), 'GET PASSWORD', MSG.reasonRequired);
    expect((await call(sim, pw('302', '913', { TICKETID: 't', REASON: 'r' }))).json.operation.result.status).toBe('Success');
  });

  it('takes INPUT_DATA as a form body too, whatever the Content-Type', async () => {
    const a = await call(sim, pw('301', '903'), { body: inputData({ TICKETID: 'INC-2' }), headers: { 'content-type': 'text/plain' } });
    expect(a.json.operation.Details.PASSWORD).toBe('Sim-Backup-Pass!');
    const j = await call(sim, pw('301', '903'), { body: JSON.stringify({ operation: { Details: { TICKETID: 'INC-3' } } }) });
    expect(j.json.operation.result.status).toBe('Success');
  });

  it('refuses INPUT_DATA that is not JSON', async () => {
    failed(await call(sim, `${pw('301', '902')}?INPUT_DATA=%7Bnot-json`), 'GET PASSWORD', MSG.badInputData);
  });

  it('access-denied: Failed whatever is given', async () => {
    failed(await call(sim, pw('302', '911', { TICKETID: 't', REASON: 'r' })), 'GET PASSWORD', MSG.accessDenied);
  });

  it('access-controlled: Failed on pmp-new', async () => {
    failed(await call(sim, pw('301', '905', { REASON: 'r' })), 'GET PASSWORD', MSG.approvalRequired);
  });

  it('unknown resource or account: Failed, no Details', async () => {
    failed(await call(sim, pw('999', '902')), 'GET PASSWORD', MSG.resourceNotFound);
    failed(await call(sim, pw('302', '902')), 'GET PASSWORD', MSG.accountNotFound);
    failed(await call(sim, pw('abc', '902')), 'GET PASSWORD', MSG.resourceNotFound);
    failed(await call(sim, `${API}/resources/999/accounts`), 'GET RESOURCE ACCOUNTLIST', MSG.resourceNotFound);
    failed(await call(sim, `${API}/resources/999/accounts/902`), 'GET RESOURCE ACCOUNT DETAILS', MSG.resourceNotFound);
    failed(await call(sim, `${API}/resources/301/accounts/911`), 'GET RESOURCE ACCOUNT DETAILS', MSG.accountNotFound);
  });
});

describe('PMP simulator: paths PMP does not map', () => {
  it('answers HTTP 404 for an unknown API path or a path outside the API', async () => {
    const a = await call(sim, `${API}/resources/301/accounts/902/password/extra`);
    expect(a.status).toBe(404);
    expect(a.contentType).toContain('text/html');
    expect((await call(sim, '/index.html')).status).toBe(404);
  });

  it('answers HTTP 405 to methods other than GET', async () => {
    expect((await call(sim, `${API}/resources`, { method: 'POST', body: '' })).status).toBe(405);
  });

  it('resolves dot segments the way a servlet container does, visibly in stats', async () => {
    sim.resetStats();
    const a = await call(sim, `${API}/resources/resourcename/../../user/regenerateAuthtoken`);
    expect(a.status).toBe(404);
    expect(sim.stats().byPath).toEqual({ [`${API}/user/regenerateAuthtoken`]: 1 });
  });
});

describe('PMP simulator: faults', () => {
  it('close: the socket is destroyed without an answer', async () => {
    sim.inject({ kind: 'close', count: 1 });
    await expect(call(sim, `${API}/resources`)).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
    expect((await call(sim, `${API}/resources`)).json.operation.result.status).toBe('Success');
  });

  it('http500: HTTP 500 with an HTML page', async () => {
    sim.inject({ kind: 'http500', count: 1 });
    const a = await call(sim, `${API}/resources`);
    expect(a.status).toBe(500);
    expect(a.contentType).toContain('text/html');
  });

  it('empty: HTTP 200 with no body', async () => {
    sim.inject({ kind: 'empty', count: 1 });
    const a = await call(sim, `${API}/resources`);
    expect([a.status, a.text]).toEqual([200, '']);
  });

  it('nonjson: HTTP 200 with HTML', async () => {
    sim.inject({ kind: 'nonjson', count: 1 });
    const a = await call(sim, `${API}/resources`);
    expect(a.status).toBe(200);
    expect(a.json).toBeUndefined();
    expect(a.text).toContain('<html>');
  });

  it('count and match: only matching paths, only count times, unlimited by default', async () => {
    sim.inject({ kind: 'http500', match: '/password', count: 2 });
    expect((await call(sim, `${API}/resources`)).status).toBe(200);
    expect((await call(sim, `${API}/resources/301/accounts/902/password`)).status).toBe(500);
    expect((await call(sim, `${API}/resources/301/accounts/902/password`)).status).toBe(500);
    expect((await call(sim, `${API}/resources/301/accounts/902/password`)).status).toBe(200);
    sim.inject({ kind: 'empty' });
    for (let i = 0; i < 3; i++) expect((await call(sim, `${API}/resources`)).text).toBe('');
    sim.clearFaults();
    expect((await call(sim, `${API}/resources`)).status).toBe(200);
  });

  it('hang: no answer until the simulator closes', async () => {
    const own = await startPmpSimulator({ tls: pki.server });
    own.inject({ kind: 'hang', match: '/password' });
    let settled = false;
    const pending = call(own, `${API}/resources/301/accounts/902/password`).finally(() => {
      settled = true;
    });
    await until(() => own.stats().requests === 1, 'hanging request reached the simulator');
    // Other paths still answer while one request hangs.
    expect((await call(own, `${API}/resources`)).status).toBe(200);
    expect(settled).toBe(false);
    await own.close();
    await expect(pending).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });
});

describe('PMP simulator: latency, stats, admin endpoint', () => {
  it('delays answers by the latency on the given clock', async () => {
    const clock = new ManualClock();
    await withSim({ clock, latencyMs: 250 }, async (slow) => {
      let answered = false;
      const pending = call(slow, `${API}/resources`).then((a) => {
        answered = true;
        return a;
      });
      await until(() => clock.pending === 1, 'the answer waits on the clock');
      clock.advance(249);
      await new Promise((r) => setImmediate(r));
      expect(answered).toBe(false);
      clock.advance(1);
      expect((await pending).json.operation.result.status).toBe('Success');
      slow.setLatency(0);
      expect((await call(slow, `${API}/resources`)).status).toBe(200);
      expect(clock.pending).toBe(0);
    });
  });

  it('counts requests per path and password fetches', async () => {
    sim.resetStats();
    await call(sim, `${API}/resources?x=1`);
    await call(sim, `${API}/resources`);
    await call(sim, `${API}/resources/301/accounts/902/password`);
    await call(sim, `${API}/resources/301/accounts/903/password`); // Failed, still audited
    await call(sim, `${API}/resources/301/accounts/902/password`, { token: 'nope' }); // not authenticated: no audit
    sim.inject({ kind: 'close', count: 1 });
    await expect(call(sim, `${API}/resources/301/accounts/902/password`)).rejects.toThrow();
    expect(sim.stats()).toEqual({
      requests: 6,
      passwordFetches: 2,
      byPath: {
        [`${API}/resources`]: 2,
        [`${API}/resources/301/accounts/902/password`]: 3,
        [`${API}/resources/301/accounts/903/password`]: 1,
      },
    });
  });

  it('serves /__sim/ to loopback callers: faults, stats, latency', async () => {
    sim.resetStats();
    const admin = (method: CallOptions['method'], path: string, body?: unknown): Promise<Answer> =>
      call(sim, `/__sim/${path}`, { token: null, method, body: body === undefined ? undefined : JSON.stringify(body) });

    expect((await admin('POST', 'faults', { kind: 'http500', match: '/accounts', count: 1 })).json).toEqual({ ok: true, activeFaults: 1 });
    expect((await call(sim, `${API}/resources/301/accounts`)).status).toBe(500);
    expect((await admin('POST', 'faults', { kind: 'empty' })).status).toBe(200);
    expect((await call(sim, `${API}/resources`)).text).toBe('');
    expect((await admin('DELETE', 'faults')).json).toEqual({ ok: true, activeFaults: 0 });
    expect((await call(sim, `${API}/resources`)).status).toBe(200);

    const stats = await admin('GET', 'stats');
    expect(stats.json).toEqual({ requests: 3, passwordFetches: 0, byPath: { [`${API}/resources/301/accounts`]: 1, [`${API}/resources`]: 2 } });
    expect((await admin('DELETE', 'stats')).status).toBe(200);
    expect(sim.stats().requests).toBe(0);

    expect((await admin('POST', 'latency', { ms: 0 })).json).toEqual({ ok: true, latencyMs: 0 });

    const bad = await admin('POST', 'faults', { kind: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 'SIM_FAULT_INVALID', error: expect.stringContaining('kind: must be one of') });
    expect((await admin('POST', 'latency', { ms: -1 })).status).toBe(400);
    expect((await call(sim, '/__sim/faults', { token: null, method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await admin('GET', 'nothing')).status).toBe(404);
    expect(sim.stats().requests).toBe(0); // admin calls are not counted
  });

  it('latency set through the admin endpoint applies', async () => {
    const clock = new ManualClock();
    await withSim({ clock }, async (s) => {
      const r = await call(s, '/__sim/latency', { token: null, method: 'POST', body: '{"ms":100}' });
      expect(r.json.latencyMs).toBe(100);
      const pending = call(s, `${API}/resources`);
      await until(() => clock.pending === 1, 'delayed answer');
      clock.advance(100);
      expect((await pending).status).toBe(200);
    });
  });
});

describe('PMP simulator: variants', () => {
  it('pmp-old: PASSWORD POLICY, CUSTOM FIELD array, no ACCOUNT_DESCRIPTION, "[Request]"', async () => {
    await withSim({ variant: 'pmp-old' }, async (old) => {
      const d = (await call(old, `${API}/resources/301/accounts`)).json.operation.Details;
      expect(d['PASSWORD POLICY']).toBe('Strong');
      expect('RESOURCE PASSWORD POLICY' in d).toBe(false);
      expect(d['CUSTOM FIELD']).toEqual([]);
      for (const a of d['ACCOUNT LIST']) {
        expect('ACCOUNT_DESCRIPTION' in a).toBe(false);
        expect('IS_COMMAND_CONTROL_CONFIGURED' in a).toBe(false);
      }
      const pw = await call(old, `${API}/resources/301/accounts/905/password`);
      expect(pw.json.operation.result.status).toBe('Success');
      expect(pw.json.operation.Details).toEqual({ PASSWORD: '[Request]' });
      expect(old.stats().passwordFetches).toBe(1);
    });
  });

  it('pam360: shaped like the recorded answers of PAM360 (Dec 2021), access-controlled Failed', async () => {
    await withSim({ variant: 'pam360' }, async (pam) => {
      const op = (await call(pam, `${API}/resources/302/accounts`)).json.operation;
      expect(op.result).toEqual({ status: 'Success', message: 'Resource details with account list fetched successfully' });
      expect(op.Details['RESOURCE PASSWORD POLICY']).toBe('Strong');
      expect(op.Details['CUSTOM FIELD'][0].CUSTOMFIELDLABEL).toBe('Environment');
      expect('PASSWORDREQUEST_REASON_MANDATORY' in op.Details).toBe(false);
      expect(op.Details).toMatchObject({ ALLOWOPENURLINBROWSER: 'true', NEWSSHTERMINAL: 'false' });
      for (const a of op.Details['ACCOUNT LIST']) {
        for (const absent of ['ACCOUNT_DESCRIPTION', 'PASSWORDREQUEST_REASON_MANDATORY', 'IS_USER_WITH_COMMAND_CONTROL_ROLE', 'IS_COMMAND_CONTROL_CONFIGURED']) {
          expect(absent in a).toBe(false);
        }
      }
      const details = (await call(pam, `${API}/resources/302/accounts/913`)).json.operation;
      expect('PASSWORDREQUEST_REASON_MANDATORY' in details.Details).toBe(false);
      const pw = (await call(pam, `${API}/resources/301/accounts/905/password`)).json.operation;
      expect(pw.result).toEqual({ status: 'Failed', message: MSG.approvalRequired });
      const auth = (await call(pam, `${API}/resources`, { token: 'nope' })).json.operation;
      expect('statusCode' in auth.result).toBe(false);
    });
  });
});

describe('PMP simulator: own certificate and logs', () => {
  it('generates a self-signed certificate that clients can trust by file or pin', async () => {
    const own = await startPmpSimulator({});
    const trusting = new Agent({ connect: { ca: [own.certPem] } });
    try {
      expect(own.url).toBe(`https://127.0.0.1:${own.port}`);
      expect(own.pin).toBe(spkiPinFromPem(own.certPem));
      expect(own.tokens).toEqual(SAMPLE_DATA.apiUsers.map((u) => u.token));
      expect((await call(own, `${API}/resources`, { dispatcher: trusting })).status).toBe(200);
      // The suite's CA does not vouch for it.
      await expect(call(own, `${API}/resources`)).rejects.toThrow();
    } finally {
      await trusting.close();
      await own.close();
    }
  });

  it('never logs a token or a password, even at debug level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    await withSim({ logger }, async (s) => {
      await call(s, `${API}/resources/301/accounts/902/password?AUTHTOKEN=${SAMPLE_TOKEN}`, { token: null });
      await call(s, `${API}/resources/301/accounts/902/password`);
      await call(s, `${API}/resources`, { token: 'some-other-token-value' });
    });
    const text = lines.join('');
    expect(text).toContain('pmp simulator request');
    expect(text).toContain('pmp simulator listening');
    for (const secret of [SAMPLE_TOKEN, 'some-other-token-value', 'Sim-Adm1n-Pass!']) expect(text).not.toContain(secret);
  });
});

describe('credgw sim pmp (in process)', () => {
  function capture(): { stream: PassThrough; text: () => string } {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
  }
  const silent = pino({ level: 'silent' });

  it('prints URL, certificate file, pin and the sample tokens; removes its temporary certificate on close', async () => {
    const out = capture();
    const running = await runSimPmp({ port: 0, variant: 'pam360' }, out.stream, silent);
    try {
      const text = out.text();
      expect(text).toContain(`listening on ${running.sim.url}`);
      expect(text).toContain('(pam360)');
      expect(text).toContain(running.certFile);
      expect(text).toContain(running.sim.pin);
      expect(text).toContain(SAMPLE_TOKEN);
      expect(text).toContain(`${SAMPLE_APP_TOKEN}  (credgw-app; APP_NAME credgw;`);
      expect(text).toContain('simulator sample data');
      expect(readFileSync(running.certFile, 'utf8')).toBe(running.sim.certPem);
    } finally {
      await running.close();
    }
    expect(existsSync(running.certFile)).toBe(false);
  });

  it('writes the certificate to --cert-out, serves --data and keeps the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credgw-simcli-'));
    try {
      const dataFile = join(dir, 'data.json');
      writeFileSync(dataFile, JSON.stringify({ apiUsers: [{ token: 'file-token', allowedHosts: ['*'] }], resources: [] }));
      const certOut = join(dir, 'pmp.crt');
      const out = capture();
      const running = await runSimPmp({ port: 0, data: dataFile, certOut }, out.stream, silent);
      const trusting = new Agent({ connect: { ca: [readFileSync(certOut, 'utf8')] } });
      try {
        expect(running.certFile).toBe(certOut);
        expect(out.text()).toContain('file-token');
        const a = await call(running.sim, `${API}/resources`, { token: 'file-token', dispatcher: trusting });
        expect(a.json.operation.totalRows).toBe(0);
      } finally {
        await trusting.close();
        await running.close();
      }
      expect(existsSync(certOut)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the command until told to stop, then exits 0', async () => {
    const out = capture();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const codes: number[] = [];
    const cmd = simPmpCommand({ out: out.stream, waitForStop: () => stopped, setExitCode: (c) => codes.push(c), logger: silent });
    const done = cmd.parseAsync(['--port', '0', '--latency-ms', '0', '--variant', 'pmp-old'], { from: 'user' });
    await until(() => out.text().includes('Stop with Ctrl-C'), 'banner printed');
    const url = /listening on (\S+)/.exec(out.text())![1]!;
    expect(out.text()).toContain('(pmp-old)');
    stop();
    await done;
    expect(codes).toEqual([0]);
    await expect(request(url, { dispatcher: agent })).rejects.toThrow();
  });

  it('--generate-resources, --generate-accounts, --seed and --behaviour shape what it serves', async () => {
    const out = capture();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const codes: number[] = [];
    const cmd = simPmpCommand({ out: out.stream, waitForStop: () => stopped, setExitCode: (c) => codes.push(c), logger: silent });
    const args = ['--port', '0', '--generate-resources', '500', '--generate-accounts', '1200', '--accounts-per-resource', '3', '--seed', '9', '--behaviour', '{"pagedTotalRows":"page"}'];
    const done = cmd.parseAsync(args, { from: 'user' });
    await until(() => out.text().includes('Stop with Ctrl-C'), 'banner printed');
    try {
      const text = out.text();
      expect(text).toContain('built-in sample + 500 generated resources + one resource of 1200 accounts (seed 9) (504 resources, 2707 accounts)');
      const url = /listening on (\S+)/.exec(text)![1]!;
      const certFile = /certificate : (\S+)/.exec(text)![1]!;
      const trusting = new Agent({ connect: { ca: [readFileSync(certFile, 'utf8')] } });
      try {
        const list = async (path: string): Promise<any> => {
          const res = await request(`${url}${API}${path}`, { headers: { AUTHTOKEN: SAMPLE_TOKEN }, dispatcher: trusting });
          return JSON.parse(await res.body.text()).operation;
        };
        expect((await list('/resources')).totalRows).toBe(504);
        const page = await list(`/resources/${GENERATED_BULK_RESOURCE_ID}/accounts?${inputData({ STARTINDEX: '1000', LIMIT: '500' })}`);
        expect(page.totalRows).toBe(200);
        expect((await list('/resources/100001/accounts')).Details['ACCOUNT LIST']).toHaveLength(3);
      } finally {
        await trusting.close();
      }
    } finally {
      stop();
      await done;
    }
    expect(codes).toEqual([0]);
  });

  it('refuses bad flags as usage errors (exit 2) and a bad data file as a failure (exit 1)', async () => {
    const usage = async (args: string[]): Promise<{ exitCode: number; message: string }> => {
      const cmd = simPmpCommand({ logger: silent }).exitOverride().configureOutput({ writeErr: () => undefined });
      try {
        await cmd.parseAsync(args, { from: 'user' });
      } catch (err) {
        return err as { exitCode: number; message: string };
      }
      throw new Error('accepted');
    };
    expect(await usage(['--port', '70000'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('--port must be an integer') });
    expect(await usage(['--latency-ms', 'slow'])).toMatchObject({ exitCode: 2 });
    expect(await usage(['--variant', 'pmp-9'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('--variant') });
    expect(await usage(['--generate-resources', 'many'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('--generate-resources must be an integer') });
    expect(await usage(['--generate-accounts', '2000000'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('--generate-accounts') });
    expect(await usage(['--seed', '4'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('need --generate-resources') });
    expect(await usage(['--behaviour', '{"startIndexBase":7}'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('behaviour.startIndexBase') });
    expect(await usage(['--behaviour', 'yes'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('--behaviour must be a JSON object') });

    const err = capture();
    const codes: number[] = [];
    const cmd = simPmpCommand({ err: err.stream, setExitCode: (c) => codes.push(c), logger: silent });
    await cmd.parseAsync(['--port', '0', '--data', '/nonexistent/sim.json'], { from: 'user' });
    expect(codes).toEqual([1]);
    expect(err.text()).toMatch(/^error: cannot read simulator data file \/nonexistent\/sim.json: .*\(SIM_DATA_UNREADABLE\)\n$/);
  });
});
