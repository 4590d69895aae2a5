import { join } from 'node:path';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { createVaultClient } from '../../src/vault/index.js';
import { MetadataCaches } from '../../src/vault/metadata-caches.js';
import type { ParsedAccount, ParsedAccountList } from '../../src/vault/pmp-responses.js';
import { TtlCache } from '../../src/vault/ttl-cache.js';
import { testPki } from '../helpers/pki.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * A rotation drops what the gateway caches about the resource (protocol
 * section 11), and the event takes the IDs the cache already knows,
 * without a vault call. Against the PMP simulator over TLS; request counts
 * prove what was (not) asked.
 */

const pki = testPki();
const RESOURCES = '/restapi/json/v1/resources';
const ACCOUNTS = '/restapi/json/v1/resources/301/accounts';

let sim: PmpSimulator;
beforeAll(async () => {
  sim = await startPmpSimulator({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
});
afterAll(() => sim.close());
afterEach(() => sim.resetStats());

function client() {
  return createVaultClient(testVaultProfile(sim.url, { caFile: join(pki.dir, 'ca.crt'), includeAccountNotes: true }), {
    readToken: async () => SAMPLE_TOKEN,
    clock: systemClock,
  });
}

describe('the vault client for rotation events', () => {
  it('knows the IDs of names it has cached, exactly, and asks the vault nothing for them', async () => {
    const c = client();
    try {
      expect(c.metadata.cachedIds('Windows_Jump_Box', 'administrator')).toEqual({});
      await c.resolveResource('Windows_Jump_Box');
      expect(c.metadata.cachedIds('Windows_Jump_Box', 'administrator')).toEqual({ resourceId: '301' });
      await c.listAccounts('301');
      const before = sim.stats().requests;
      expect(c.metadata.cachedIds('Windows_Jump_Box', 'administrator')).toEqual({ resourceId: '301', accountId: '902' });
      // Another case is another name for an event: no IDs borrowed from a near miss.
      expect(c.metadata.cachedIds('windows_jump_box', 'administrator')).toEqual({});
      expect(c.metadata.cachedIds('Windows_Jump_Box', 'Administrator')).toEqual({ resourceId: '301' });
      expect(sim.stats().requests).toBe(before);
    } finally {
      await c.close();
    }
  });

  it('a rotation drops the resource\'s accounts and notes (any case), keeps the resource list and other resources', async () => {
    const c = client();
    try {
      await c.resolveResource('Windows_Jump_Box');
      await c.listAccounts('301');
      await c.listAccounts('302');
      const accounts = (): number => sim.stats().byPath[ACCOUNTS] ?? 0;
      expect(accounts()).toBe(1);
      c.metadata.forgetResource('WINDOWS_JUMP_BOX');
      await c.listAccounts('301');
      await c.listAccounts('302');
      await c.resolveResource('Windows_Jump_Box');
      expect(accounts()).toBe(2);
      expect(sim.stats().byPath['/restapi/json/v1/resources/302/accounts']).toBe(1);
      expect(sim.stats().byPath[RESOURCES]).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('a rotation while the account list loads: the callers get it, the cache does not keep it', async () => {
    const c = client();
    try {
      await c.resolveResource('Windows_Jump_Box');
      const loading = c.listAccounts('301');
      c.metadata.forgetResource('Windows_Jump_Box');
      expect((await loading).accounts.length).toBeGreaterThan(0);
      await c.listAccounts('301');
      expect(sim.stats().byPath[ACCOUNTS]).toBe(2);
    } finally {
      await c.close();
    }
  });
});

describe('TtlCache: find and deleteWhere', () => {
  it('find sees fresh values only; deleteWhere drops entries and a load under way', async () => {
    const clock = new ManualClock(0);
    const cache = new TtlCache<string>(clock, 1000);
    await cache.get('a', async () => 'A');
    await cache.get('b', async () => 'B');
    expect(cache.find((v) => v === 'B')).toBe('B');
    let finish!: (v: string) => void;
    const loading = cache.refresh('c', () => new Promise<string>((r) => (finish = r)));
    cache.deleteWhere((key) => key !== 'a');
    finish('C');
    expect(await loading).toBe('C');
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('c')).toBeUndefined();
    expect(cache.peek('a')).toBe('A');
    clock.advance(1000);
    expect(cache.find(() => true)).toBeUndefined();
  });
});

describe('MetadataCaches across organisations', () => {
  const account = (id: string): ParsedAccount => ({ id, passwdId: id, name: 'administrator', notes: undefined, ticketIdRequired: false, reasonRequired: false, accessDenied: false, notesListed: false });
  const list = (resourceId: string, resourceName: string): ParsedAccountList => ({ resourceId, resourceName, resourceType: undefined, dnsName: undefined, accounts: [account(`9${resourceId}`)] });

  it('one name in two organisations gives no IDs; a rotation drops every organisation\'s lists, pages and notes of it', async () => {
    const caches = new MetadataCaches(new ManualClock(0), 60_000);
    await caches.resources.get('orgA\u0000', async () => [{ id: '301', name: 'Web', type: undefined, description: undefined, dnsName: undefined }]);
    await caches.accountLists.get('orgA\u0000301', async () => list('301', 'Web'));
    expect(caches.cachedIds('Web', 'administrator')).toEqual({ resourceId: '301', accountId: '9301' });
    await caches.accountLists.get('orgB\u0000401', async () => list('401', 'Web'));
    expect(caches.cachedIds('Web', 'administrator')).toEqual({});
    await caches.pages.get('orgA\u0000301@0+10', async () => ({ resourceId: '301', resourceName: 'Web', accounts: [account('9301')], total: 1 }));
    await caches.notes.get('orgB\u0000401/9401', async () => ({ notes: 'n' }));
    await caches.notes.get('302/902', async () => ({ notes: 'kept' }));
    // A page names its resource and accounts as a whole list does (a command by resource ID caches only pages).
    const paged = new MetadataCaches(new ManualClock(0), 60_000);
    await paged.pages.get('302@0+10', async () => ({ resourceId: '302', resourceName: 'Db', accounts: [account('902')], total: 1 }));
    expect(paged.cachedIds('Db', 'administrator')).toEqual({ resourceId: '302', accountId: '902' });
    caches.forgetResource('web');
    expect(caches.accountLists.peek('orgA\u0000301')).toBeUndefined();
    expect(caches.accountLists.peek('orgB\u0000401')).toBeUndefined();
    expect(caches.pages.peek('orgA\u0000301@0+10')).toBeUndefined();
    expect(caches.notes.peek('orgB\u0000401/9401')).toBeUndefined();
    expect(caches.notes.peek('302/902')).toEqual({ notes: 'kept' });
    expect(caches.resources.peek('orgA\u0000')).toHaveLength(1);
  });
});

