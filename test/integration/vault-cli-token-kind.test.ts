import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCredgw } from '../helpers/cli.js';
import { testPki } from '../helpers/pki.js';
import { API, startRecordingPmp, type RecordingPmp } from '../helpers/recording-pmp.js';

/**
 * `credgw vault add --token-kind/--app-name/--org-name/--org-name-attribute`
 * and `credgw vault test` naming the token kind the vault accepted (or
 * hinting at the other one), in-process against a recording PMP over real
 * TLS. The token is never printed, and `vault test` sends it once, in the
 * form the profile says.
 */

const pki = testPki();
const API_KEY = 'a1b2c3d4-0000-4000-8000-api0user0key';
const APP_TOKEN = 'f0e1d2c3-1111-4111-8111-integration01';

let pmp: RecordingPmp;
let dir: string;
const env = { API_KEY, APP_TOKEN };
const run = (...args: string[]) => runCredgw(['--config-dir', dir, ...args], env);
const profileInFile = (i = 0) => (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { vaults: Array<Record<string, unknown>> }).vaults[i];

beforeAll(async () => {
  pmp = await startRecordingPmp(
    { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    {
      apiKeys: [API_KEY],
      integrations: [{ token: APP_TOKEN, appName: 'credgw' }, { token: APP_TOKEN, appName: 'ITOM' }],
      orgs: { Own: [{ id: '301', name: 'Own_Box', accounts: [{ id: '902', name: 'administrator', description: '' }] }], Acme: [] },
    },
  );
});
afterAll(async () => {
  await pmp.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-vault-kind-'));
  pmp.requests.length = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function add(name: string, token: string, ...extra: string[]) {
  return run('vault', 'add', name, '--url', pmp.url, '--token', token, '--ca-file', join(pki.dir, 'ca.crt'), ...extra);
}

function noTokens(...texts: string[]): void {
  for (const t of texts) {
    expect(t).not.toContain(API_KEY);
    expect(t).not.toContain(APP_TOKEN);
  }
}

describe('credgw vault add', () => {
  it('--token-kind integration [--app-name] writes tokenKind and appName; without the option nothing is written (defaults apply)', async () => {
    expect((await add('app', 'env://APP_TOKEN', '--token-kind', 'integration', '--app-name', 'ITOM')).code).toBe(0);
    expect(profileInFile(0)).toMatchObject({ name: 'app', tokenKind: 'integration', appName: 'ITOM' });
    expect((await add('plain', 'env://API_KEY')).code).toBe(0);
    expect(Object.keys(profileInFile(1)!)).toEqual(['name', 'url', 'token', 'caFile']);
    expect((await add('org', 'env://API_KEY', '--token-kind', 'apiUser', '--org-name-attribute', 'PAM360 Org')).code).toBe(0);
    expect(profileInFile(2)).toMatchObject({ tokenKind: 'apiUser', orgNameAttribute: 'PAM360 Org' });
    const list = await run('vault', 'list');
    expect(list.out).toMatch(/^app\s.*env:\/\/APP_TOKEN \(integration, APP_NAME ITOM\)/m);
    expect(list.out).toMatch(/^org\s.*from attribute "PAM360 Org"/m);
  });

  it.each([
    [['--token-kind', 'apikey'], /--token-kind must be apiUser .* or integration/],
    [['--app-name', 'ITOM'], /^error: USAGE: --app-name: is used only with tokenKind "integration"/],
    [['--token-kind', 'integration', '--app-name', 'crédgw'], /^error: USAGE: --app-name: must be 1-64 visible ASCII characters/],
    [['--org-name', 'Acme', '--org-name-attribute', 'Org'], /^error: USAGE: --org-name-attribute: excludes orgName/],
    [['--org-name', 'Завод'], /^error: USAGE: --org-name: cannot be sent as the orgName header/],
  ])('%j is a usage error (exit 2) that writes nothing', async (extra, message) => {
    const res = await add('bad', 'env://API_KEY', ...extra);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(message);
    expect((await run('vault', 'list', '--json')).out.trim()).toBe('[]');
  });
});

describe('credgw vault test', () => {
  it('says an integration token was accepted as one, after one auth call with APP_AUTHTOKEN and APP_NAME', async () => {
    await add('app', 'env://APP_TOKEN', '--token-kind', 'integration');
    const res = await run('vault', 'test', 'app');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^ok\s+auth\s+API key accepted as an integration token \(APP_AUTHTOKEN header, APP_NAME "credgw"\)$/m);
    expect(pmp.requests.map((r) => [r.path, r.headers['app_authtoken'], r.headers['app_name'], r.headers['authtoken']])).toEqual([
      [`${API}/resources/resourcetypes`, APP_TOKEN, 'credgw', undefined],
    ]);
    noTokens(res.out, res.err);
  });

  it('says an API user key was accepted as one, for its organisation', async () => {
    await add('api', 'env://API_KEY', '--org-name', 'Acme');
    const res = await run('vault', 'test', 'api');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^ok\s+auth\s+API key accepted as an API user's key \(AUTHTOKEN header\) for organisation Acme$/m);
    expect(pmp.requests.map((r) => r.headers['orgname'])).toEqual(['Acme']);
  });

  it('a refused token gets a hint at the other kind, and is not tried in the other form', async () => {
    await add('wrong', 'env://APP_TOKEN');
    const res = await run('vault', 'test', 'wrong');
    expect(res.code).toBe(1);
    expect(res.out).toMatch(
      /^FAIL\s+auth\s+ACCESS_DENIED: .*; sent as an API user's key \(AUTHTOKEN header\): if this token is a PAM360 integration token, set tokenKind "integration": credgw config set vaults\.wrong\.tokenKind integration$/m,
    );
    expect(pmp.requests).toHaveLength(1);
    expect(pmp.requests[0]!.headers['app_authtoken']).toBeUndefined();
    noTokens(res.out, res.err);

    // Following the hint works.
    expect((await run('config', 'set', 'vaults.wrong.tokenKind', 'integration')).code).toBe(0);
    expect((await run('vault', 'test', 'wrong')).code).toBe(0);
  });

  it('an integration token with the wrong APP_NAME hints at apiUser', async () => {
    await add('app', 'env://APP_TOKEN', '--token-kind', 'integration', '--app-name', 'Nope');
    const res = await run('vault', 'test', 'app');
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/^FAIL\s+auth\s+ACCESS_DENIED: .*sent as an integration token \(APP_AUTHTOKEN header, APP_NAME "Nope"\): if this token is an API user's key/m);
    noTokens(res.out, res.err);
  });
});

describe('credgw vault accounts --org-name', () => {
  it('asks in that organisation; a name a header cannot carry is a usage error', async () => {
    await add('api', 'env://API_KEY', '--org-name-attribute', 'Org');
    expect((await run('vault', 'accounts', 'api', '301')).code).toBe(0);
    const acme = await run('vault', 'accounts', 'api', '301', '--org-name', 'Acme');
    expect(acme.code).toBe(1);
    expect(acme.err).toMatch(/^error: RESOURCE_NOT_FOUND: /);
    expect(pmp.requests.map((r) => r.headers['orgname'])).toEqual([undefined, 'Acme']);
    const bad = await run('vault', 'accounts', 'api', '301', '--org-name', 'Acme\u0007');
    expect(bad.code).toBe(2);
    expect(pmp.requests).toHaveLength(2);
  });
});
