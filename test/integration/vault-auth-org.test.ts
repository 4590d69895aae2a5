import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { VaultProfile } from '../../src/config/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { GatewayError } from '../../src/shared/errors.js';
import { codeOf } from '../helpers/error-code.js';
import { createVaultClient, type VaultClient } from '../../src/vault/index.js';
import { testPki } from '../helpers/pki.js';
import { API, startRecordingPmp, type RecordingPmp } from '../helpers/recording-pmp.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * The vault client's token kinds and organisations on the wire (protocol
 * section 9), against a recording PMP over real TLS: which header carries
 * the token, APP_NAME, the orgName header fixed, per call or absent, its
 * Latin-1 bytes, metadata caches kept per organisation, and no token in
 * any log line.
 */

const pki = testPki();
const API_KEY = 'a1b2c3d4-0000-4000-8000-api0user0key';
const APP_TOKEN = 'f0e1d2c3-1111-4111-8111-integration01';
const LATIN1_ORG = 'Société Générale';

const ownResources = [{ id: '301', name: 'Own_Box', accounts: [{ id: '902', name: 'administrator', description: '' }] }];
const acmeResources = [
  { id: '401', name: 'Acme_Box', accounts: [{ id: '950', name: 'root', description: 'Acme root' }] },
  { id: '402', name: 'Acme_Web', accounts: [{ id: '951', name: 'www', description: '' }] },
];
const latinResources = [{ id: '501', name: 'SG_Box', accounts: [{ id: '960', name: 'admin', description: '' }] }];

let pmp: RecordingPmp;
beforeAll(async () => {
  pmp = await startRecordingPmp(
    { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    {
      apiKeys: [API_KEY],
      integrations: [
        { token: APP_TOKEN, appName: 'credgw' },
        { token: APP_TOKEN, appName: 'ITOM Gateway' },
      ],
      orgs: { Own: ownResources, Acme: acmeResources, [LATIN1_ORG]: latinResources },
      echoToken: true,
    },
  );
});
afterAll(async () => {
  await pmp.close();
});

const clients: VaultClient[] = [];
afterEach(async () => {
  pmp.requests.length = 0;
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(over: Partial<VaultProfile>, token: string, logger?: pino.Logger): VaultClient {
  const profile = testVaultProfile(pmp.url, { caFile: join(pki.dir, 'ca.crt'), ...over });
  const c = createVaultClient(profile, { readToken: async () => token, clock: systemClock, ...(logger ? { logger } : {}) });
  clients.push(c);
  return c;
}


function headersOf(i: number): Record<string, unknown> {
  return pmp.requests[i]!.headers as Record<string, unknown>;
}

describe('token kinds', () => {
  it('apiUser sends the key as AUTHTOKEN only, never in the query string', async () => {
    const c = client({}, API_KEY);
    await c.probe();
    await c.listAccounts('301');
    expect(pmp.requests).toHaveLength(2);
    for (let i = 0; i < 2; i++) {
      const h = headersOf(i);
      expect(h['authtoken']).toBe(API_KEY);
      expect(h['app_authtoken']).toBeUndefined();
      expect(h['app_name']).toBeUndefined();
      expect(h['orgname']).toBeUndefined();
    }
    expect(pmp.requests.every((r) => r.input === undefined)).toBe(true);
  });

  it('integration sends APP_AUTHTOKEN with APP_NAME (default "credgw", or the profile appName), never AUTHTOKEN', async () => {
    const c = client({ tokenKind: 'integration' }, APP_TOKEN);
    await expect(c.listAccounts('301')).resolves.toMatchObject({ resourceId: '301', resourceName: 'Own_Box' });
    expect(headersOf(0)).toMatchObject({ app_authtoken: APP_TOKEN, app_name: 'credgw' });
    expect(headersOf(0)['authtoken']).toBeUndefined();

    const named = client({ tokenKind: 'integration', appName: 'ITOM Gateway' }, APP_TOKEN);
    await expect(named.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'pw-of-administrator' });
    expect(pmp.requests.slice(1).map((r) => [r.headers['app_authtoken'], r.headers['app_name'], r.headers['authtoken']])).toEqual([
      [APP_TOKEN, 'ITOM Gateway', undefined],
      [APP_TOKEN, 'ITOM Gateway', undefined],
    ]);
  });

  it('the wrong kind is refused by the vault as ACCESS_DENIED, and the client never re-sends the token in the other form', async () => {
    const asApiUser = client({}, APP_TOKEN);
    const err = (await asApiUser.probe().catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('ACCESS_DENIED');
    // The vault quoted the token back: redacted whatever header carried it.
    expect(err.detail).toContain('[redacted]');
    expect(err.detail).not.toContain(APP_TOKEN);
    const wrongApp = client({ tokenKind: 'integration', appName: 'Other' }, APP_TOKEN);
    expect(await codeOf(wrongApp.probe())).toBe('ACCESS_DENIED');
    expect(pmp.requests).toHaveLength(2);
    expect(pmp.requests[0]!.headers['app_authtoken']).toBeUndefined();
    expect(pmp.requests[1]!.headers['authtoken']).toBeUndefined();
  });

  it('no log line carries a token of either kind, even when the vault echoes it', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          cb();
        },
      }),
    );
    const api = client({ orgName: 'Acme' }, API_KEY, logger);
    const app = client({ tokenKind: 'integration', orgNameAttribute: 'Org' }, APP_TOKEN, logger);
    await api.probe();
    await api.listAccounts('401', { includeNotes: true });
    await api.getPassword('401', '950', { ticketId: 'INC-1', reason: 'why' });
    await app.listAccounts('402', { orgName: 'Acme', page: { offset: 0, limit: 10 } });
    await app.getPassword('402', '951', {}, { orgName: 'Acme' });
    await client({ tokenKind: 'integration', appName: 'Nope' }, APP_TOKEN, logger).probe().catch(() => undefined);
    await client({}, APP_TOKEN, logger).listResources().catch(() => undefined);
    await client({}, 'pmp-bad-token-zz9', logger).listResources().catch(() => undefined);

    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const secret of [API_KEY, APP_TOKEN, 'pmp-bad-token-zz9', 'pw-of-root', 'pw-of-www', 'APP_AUTHTOKEN', 'AUTHTOKEN', 'INPUT_DATA', 'INC-1']) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('"msg":"vault request"');
  });
});

describe('organisations', () => {
  it('a fixed orgName goes on every call', async () => {
    const c = client({ orgName: 'Acme' }, API_KEY);
    await c.probe();
    await expect(c.resolveResource('Acme_Web')).resolves.toEqual({ id: '402', name: 'Acme_Web' });
    await c.listAccounts('401');
    expect(pmp.requests.map((r) => r.headers['orgname'])).toEqual(['Acme', 'Acme', 'Acme']);
  });

  it('no orgName header at all without orgName or a per-call organisation: the API user\'s own organisation', async () => {
    const c = client({}, API_KEY);
    await expect(c.resolveResource('Own_Box')).resolves.toEqual({ id: '301', name: 'Own_Box' });
    expect(Object.keys(pmp.requests[0]!.headers).map((k) => k.toLowerCase())).not.toContain('orgname');
  });

  it('the organisation of a call overrides the profile\'s; null sends none', async () => {
    const c = client({ orgName: 'Acme' }, API_KEY);
    await c.listAccounts('301', { orgName: null });
    await c.listAccounts('301', { orgName: 'Acme' }).catch(() => undefined);
    await c.getPassword('501', '960', {}, { orgName: LATIN1_ORG });
    expect(pmp.requests.map((r) => r.headers['orgname'])).toEqual([undefined, 'Acme', LATIN1_ORG, LATIN1_ORG]);
  });

  it('a Latin-1 organisation travels as ISO-8859-1 bytes, so a Java server reads the very name', async () => {
    const c = client({ orgName: LATIN1_ORG }, API_KEY);
    await expect(c.listAccounts('501')).resolves.toMatchObject({ resourceName: 'SG_Box' });
    // Node reads header bytes as latin1: UTF-8 bytes would have arrived as "SociÃ©tÃ©".
    expect(headersOf(0)['orgname']).toBe(LATIN1_ORG);
  });

  it.each([['Завод'], ['株式会社'], ['Acme\r\nX-Injected: 1'], [' Acme'], ['']])(
    'an organisation a header cannot carry (%j) is RESOURCE_NOT_MAPPED before any request',
    async (org) => {
      const c = client({}, API_KEY);
      expect(await codeOf(c.listAccounts('401', { orgName: org }))).toBe('RESOURCE_NOT_MAPPED');
      expect(await codeOf(c.getPassword('401', '950', {}, { orgName: org }))).toBe('RESOURCE_NOT_MAPPED');
      expect(await codeOf(c.resolveResource('Acme_Box', { orgName: org }))).toBe('RESOURCE_NOT_MAPPED');
      expect(pmp.requests).toHaveLength(0);
    },
  );

  it('metadata is cached per organisation: one tenant\'s lists never answer another\'s', async () => {
    const c = client({ orgNameAttribute: 'Org' }, API_KEY);
    await expect(c.listAccounts('401', { orgName: 'Acme' })).resolves.toMatchObject({ resourceName: 'Acme_Box' });
    await expect(c.listAccounts('401', { orgName: 'Acme' })).resolves.toMatchObject({ resourceName: 'Acme_Box' });
    expect(pmp.requests).toHaveLength(1);
    // The same resource ID asked for in the user's own organisation is asked of the vault, which has no such resource there.
    expect(await codeOf(c.listAccounts('401'))).toBe('RESOURCE_NOT_FOUND');
    expect(await codeOf(c.getPassword('401', '950', {}))).toBe('RESOURCE_NOT_FOUND');
    await expect(c.resolveResource('Acme_Box', { orgName: 'Acme' })).resolves.toMatchObject({ id: '401' });
    expect(await codeOf(c.resolveResource('Acme_Box'))).toBe('RESOURCE_NOT_FOUND');
    expect(pmp.requests.map((r) => [r.path.slice(API.length), r.headers['orgname']])).toEqual([
      ['/resources/401/accounts', 'Acme'],
      ['/resources/401/accounts', undefined],
      ['/resources/401/accounts', undefined],
      ['/resources', 'Acme'],
      ['/resources', undefined],
    ]);
  });
});
