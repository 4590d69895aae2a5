import { join } from 'node:path';
import type { PolicyConfig, VaultProfile } from '../../src/config/types.js';
import { Dispatcher } from '../../src/commands/dispatcher.js';
import { recipientSealer } from '../../src/daemon/recipient-sealer.js';
import type { CommandMessage, ResultMessage } from '../../src/protocol/index.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { createVaultClient, type VaultClient } from '../../src/vault/index.js';
import { testPki } from '../helpers/pki.js';
import { API, manyAccounts, startRecordingPmp, type RecordingPmp } from '../helpers/recording-pmp.js';
import { testVaultProfile } from '../helpers/vault-profile.js';
import { captureLogger, DEFAULT_POLICY, FakeRegistry, FakeReply, FakeRole } from '../unit/commands/fakes.js';

/**
 * The commands with the real vault client against a recording PMP over
 * real TLS: the organisation read from the resource's orgNameAttribute
 * (missing, empty or unsendable: RESOURCE_NOT_MAPPED before any vault
 * call), a fixed orgName, and listAccounts pages of a 40,000-account
 * resource asked of the vault alone unless denied accounts make the
 * cloud's offsets differ from the vault's.
 */

const pki = testPki();
const KEY = 'a1b2c3d4-0000-4000-8000-api0user0key';
const ORG_ATTR = 'PAM360 Organisation';
const BIG = manyAccounts(40_000);

let pmp: RecordingPmp;
beforeAll(async () => {
  pmp = await startRecordingPmp(
    { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    {
      apiKeys: [KEY],
      orgs: {
        Own: [{ id: '301', name: 'Own_Box', accounts: [{ id: '902', name: 'administrator', description: '' }] }],
        Acme: [
          { id: '401', name: 'Acme_Box', accounts: [{ id: '950', name: 'root', description: '' }, { id: '951', name: 'krbtgt', description: '' }] },
          { id: '700', name: 'Acme_DC', accounts: BIG },
        ],
        'Société Générale': [{ id: '501', name: 'SG_Box', accounts: [{ id: '960', name: 'admin', description: '' }] }],
      },
      paging: 'startIndex0',
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

function gateway(over: Partial<VaultProfile>, policy: Partial<PolicyConfig> = {}): { dispatcher: Dispatcher; reply: FakeReply } {
  const profile = testVaultProfile(pmp.url, { name: 'pmp-prod', caFile: join(pki.dir, 'ca.crt'), ...over });
  const client = createVaultClient(profile, { readToken: async () => KEY, clock: systemClock });
  clients.push(client);
  const dispatcher = new Dispatcher({
    vaults: new FakeRegistry(profile, client),
    role: new FakeRole(),
    policy: { ...DEFAULT_POLICY, ...policy },
    limits: { maxInFlight: 256, maxQueued: 4096 },
    audit: { record: () => undefined },
    sealer: recipientSealer,
    logger: captureLogger().logger,
    clock: new ManualClock(),
    gatewayId: 'gw-a',
  });
  return { dispatcher, reply: new FakeReply() };
}

let seq = 0;
function command(name: 'listAccounts' | 'getPassword', attrs: Record<string, string>, extra: Record<string, unknown> = {}): CommandMessage {
  const params: Record<string, unknown> = { vault: 'pmp-prod', resource: { id: 'opsramp-1', customAttributes: attrs }, ...extra };
  if (name === 'listAccounts') Object.assign(params, { offset: 0, limit: 500 }, extra);
  return { type: 'command', id: `c-${++seq}`, epoch: 8, timeoutMs: 10_000, name, params } as unknown as CommandMessage;
}

/** The result of one command (waits on the event loop for the real vault's answers). */
async function run(g: { dispatcher: Dispatcher; reply: FakeReply }, cmd: CommandMessage): Promise<ResultMessage> {
  const before = g.reply.sent.length;
  g.dispatcher.handle(cmd, g.reply);
  for (let i = 0; i < 10_000 && g.reply.sent.length === before; i++) await new Promise((r) => setTimeout(r, 1));
  const result = g.reply.sent[before];
  if (!result) throw new Error('no result');
  return result;
}

function errorCode(m: ResultMessage): string | undefined {
  return m.ok ? undefined : m.error.code;
}

describe('orgNameAttribute', () => {
  it('sends the resource\'s organisation on every vault call of the command, the attribute key found without letter case', async () => {
    const g = gateway({ orgNameAttribute: ORG_ATTR });
    const list = await run(g, command('listAccounts', { 'PMP Resource ID': 'Acme_Box', 'pam360 organisation': ' Acme ' }));
    expect(list).toMatchObject({ ok: true, data: { resourceId: '401', resourceName: 'Acme_Box', totalAccounts: 2 } });
    const pw = await run(g, command('getPassword', { 'PMP Resource ID': '401', [ORG_ATTR]: 'Acme' }, { accountId: '950', ticketId: 'T-1' }));
    expect(pw).toMatchObject({ ok: true, data: { accountName: 'root', password: 'pw-of-root' } });
    const sg = await run(g, command('getPassword', { 'PMP Resource ID': 'SG_Box', [ORG_ATTR]: 'Société Générale' }, { accountId: '960' }));
    expect(sg).toMatchObject({ ok: true, data: { password: 'pw-of-admin' } });
    const sgRequests = pmp.requests.filter((r) => r.headers['orgname'] === 'Société Générale');
    expect(pmp.requests.filter((r) => !sgRequests.includes(r)).map((r) => r.headers['orgname'])).toEqual(
      pmp.requests.filter((r) => !sgRequests.includes(r)).map(() => 'Acme'),
    );
    expect(pmp.requests.length - sgRequests.length).toBeGreaterThanOrEqual(3);
    expect(pmp.requests.filter((r) => r.headers['orgname'] === 'Société Générale').map((r) => r.path.slice(API.length))).toEqual([
      '/resources',
      '/resources/501/accounts',
      '/resources/501/accounts/960/password',
    ]);
  });

  it.each([
    ['missing', { 'PMP Resource ID': '401' }],
    ['empty', { 'PMP Resource ID': '401', [ORG_ATTR]: '   ' }],
    ['outside Latin-1', { 'PMP Resource ID': '401', [ORG_ATTR]: 'Завод' }],
    ['a header injection', { 'PMP Resource ID': '401', [ORG_ATTR]: 'Acme\r\norgName: Other' }],
    ['ambiguous by letter case', { 'PMP Resource ID': '401', 'PAM360 organisation': 'Acme', 'pam360 Organisation': 'Other' }],
  ])('an organisation attribute %s is RESOURCE_NOT_MAPPED before any vault call', async (_name, attrs) => {
    const g = gateway({ orgNameAttribute: ORG_ATTR });
    expect(errorCode(await run(g, command('listAccounts', attrs)))).toBe('RESOURCE_NOT_MAPPED');
    expect(errorCode(await run(g, command('getPassword', attrs, { accountId: '950' })))).toBe('RESOURCE_NOT_MAPPED');
    expect(pmp.requests).toHaveLength(0);
  });

  it('the resource attribute is checked first: a resource with neither is not mapped for its resource', async () => {
    const g = gateway({ orgNameAttribute: ORG_ATTR });
    const m = await run(g, command('listAccounts', {}));
    expect(m).toMatchObject({ ok: false, error: { code: 'RESOURCE_NOT_MAPPED', message: 'the resource has no "PMP Resource ID" custom attribute' } });
  });

  it('without orgNameAttribute the attribute is ignored: the fixed orgName, or no header at all', async () => {
    const fixed = gateway({ orgName: 'Acme' });
    expect(await run(fixed, command('listAccounts', { 'PMP Resource ID': '401', [ORG_ATTR]: 'Other' }))).toMatchObject({ ok: true });
    expect(pmp.requests.length).toBeGreaterThan(0);
    expect(new Set(pmp.requests.map((r) => r.headers['orgname']))).toEqual(new Set(['Acme']));
    pmp.requests.length = 0;
    const none = gateway({});
    expect(await run(none, command('listAccounts', { 'PMP Resource ID': '301', [ORG_ATTR]: 'Acme' }))).toMatchObject({ ok: true });
    expect(pmp.requests.length).toBeGreaterThan(0);
    expect(pmp.requests.every((r) => !('orgname' in r.headers))).toBe(true);
  });
});

describe('listAccounts pages', () => {
  it('pages a 40,000-account resource with STARTINDEX/LIMIT: totalAccounts, nextOffset, never the whole list', async () => {
    const g = gateway({ orgName: 'Acme' });
    const first = await run(g, command('listAccounts', { 'PMP Resource ID': '700' }, { offset: 0, limit: 1000 }));
    if (!first.ok) throw new Error(JSON.stringify(first));
    expect(first.data).toMatchObject({ resourceId: '700', resourceName: 'Acme_DC', totalAccounts: 40_000, nextOffset: 1000 });
    expect((first.data['accounts'] as unknown[]).length).toBe(1000);
    const last = await run(g, command('listAccounts', { 'PMP Resource ID': '700' }, { offset: 39_500, limit: 1000 }));
    if (!last.ok) throw new Error(JSON.stringify(last));
    expect(last.data['nextOffset']).toBeUndefined();
    expect((last.data['accounts'] as Array<{ accountName: string }>).map((a) => a.accountName)).toEqual(BIG.slice(39_500).map((a) => a.name));
    expect(pmp.requests.every((r) => r.input !== undefined)).toBe(true);
  });

  it('with denyAccounts the page is cut from the whole list, counted after the denied accounts', async () => {
    const g = gateway({ orgName: 'Acme' }, { denyAccounts: ['krbtgt'] });
    const m = await run(g, command('listAccounts', { 'PMP Resource ID': '401' }, { offset: 0, limit: 1 }));
    expect(m).toMatchObject({ ok: true, data: { totalAccounts: 1, accounts: [{ accountName: 'root' }] } });
    expect(m.ok && m.data['nextOffset']).toBeUndefined();
    expect(pmp.requests.map((r) => r.input)).toEqual([undefined]);
  });
});
