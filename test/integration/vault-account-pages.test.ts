import { join } from 'node:path';
import type { VaultProfile } from '../../src/config/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { codeOf } from '../helpers/error-code.js';
import { createVaultClient, type VaultClient } from '../../src/vault/index.js';
import { testPki } from '../helpers/pki.js';
import { API, manyAccounts, startRecordingPmp, type FakePaging, type RecordingPmp } from '../helpers/recording-pmp.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * listAccounts pages (protocol section 5) against a recording PMP over real
 * TLS: a 40,000-account resource answered one page at a time with
 * STARTINDEX/LIMIT when the vault pages (counting from 0 or from 1, learned
 * from two small calls), and the whole list cut by the client when it
 * ignores them, refuses them, or sends no totalRows.
 */

const pki = testPki();
const KEY = 'a1b2c3d4-0000-4000-8000-api0user0key';
const BIG = manyAccounts(40_000);
const SMALL = [
  { id: '20', name: 'alpha' },
  { id: '21', name: 'beta', description: 'listed notes' },
  { id: '22', name: 'gamma' },
  { id: '23', name: 'delta' },
  { id: '24', name: 'epsilon' },
];
const ACCOUNTS_OF = (rid: string) => `${API}/resources/${rid}/accounts`;

let pmp: RecordingPmp;
beforeAll(async () => {
  pmp = await startRecordingPmp(
    { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    {
      apiKeys: [KEY],
      orgs: {
        Own: [
          { id: '700', name: 'Domain_Controller', accounts: BIG },
          { id: '701', name: 'Small_Box', accounts: SMALL },
          { id: '702', name: 'One_Account', accounts: [{ id: '30', name: 'only', description: '' }] },
        ],
      },
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

function client(paging: FakePaging, over: Partial<VaultProfile> = {}): VaultClient {
  pmp.paging = paging;
  const profile = testVaultProfile(pmp.url, { caFile: join(pki.dir, 'ca.crt'), maxConnections: 4, ...over });
  const c = createVaultClient(profile, { readToken: async () => KEY, clock: systemClock });
  clients.push(c);
  return c;
}


/** STARTINDEX/LIMIT of each request of the account list, in order (null: the whole list). */
function pageCalls(rid: string): Array<[number, number] | null> {
  return pmp.requests
    .filter((r) => r.path === ACCOUNTS_OF(rid))
    .map((r) => {
      const d = (r.input?.['operation'] as { Details?: Record<string, number> } | undefined)?.Details;
      return d ? [d['STARTINDEX']!, d['LIMIT']!] : null;
    });
}

describe.each([
  ['from 0', 'startIndex0', 0],
  ['from 1', 'startIndex1', 1],
] as const)('a vault that pages, STARTINDEX counting %s', (_name, paging, base) => {
  it('answers pages of a 40,000-account resource without ever reading it whole', async () => {
    const c = client(paging);
    const first = await c.listAccounts('700', { page: { offset: 0, limit: 500 } });
    expect(first.totalAccounts).toBe(40_000);
    expect(first.accounts.map((a) => a.id)).toEqual(BIG.slice(0, 500).map((a) => a.id));
    // Two small calls learn how STARTINDEX counts, then the page itself.
    expect(pageCalls('700')).toEqual([
      [0, 2],
      [1, 1],
      [base, 500],
    ]);

    const last = await c.listAccounts('700', { page: { offset: 39_900, limit: 500 } });
    expect(last.totalAccounts).toBe(40_000);
    expect(last.accounts.map((a) => a.name)).toEqual(BIG.slice(39_900).map((a) => a.name));
    const middle = await c.listAccounts('700', { page: { offset: 1234, limit: 3 } });
    expect(middle.accounts.map((a) => a.id)).toEqual(BIG.slice(1234, 1237).map((a) => a.id));
    expect(pageCalls('700').slice(3)).toEqual([
      [39_900 + base, 500],
      [1234 + base, 3],
    ]);
    expect(pageCalls('700')).not.toContain(null);

    // A page asked again within metadataTtlMs is served from the cache.
    await c.listAccounts('700', { page: { offset: 0, limit: 500 } });
    expect(pmp.count(ACCOUNTS_OF('700'))).toBe(5);
  });

  it('learns once per client; a page past the end is empty with the total; notes only for the page', async () => {
    const c = client(paging);
    await c.listAccounts('701', { page: { offset: 0, limit: 2 } });
    const past = await c.listAccounts('701', { page: { offset: 10, limit: 2 } });
    expect(past).toMatchObject({ accounts: [], totalAccounts: 5 });
    const noted = await c.listAccounts('701', { page: { offset: 1, limit: 2 }, includeNotes: true });
    expect(noted.accounts.map((a) => [a.name, a.notes])).toEqual([
      ['beta', 'listed notes'],
      ['gamma', 'notes of gamma'],
    ]);
    expect(pageCalls('701')).toEqual([
      [0, 2],
      [1, 1],
      [base, 2],
      [10 + base, 2],
      [1 + base, 2],
    ]);
    // gamma's list entry has no ACCOUNT_DESCRIPTION: one details call, for the page's account only.
    expect(pmp.requests.filter((r) => r.path.startsWith(`${ACCOUNTS_OF('701')}/`)).map((r) => r.path)).toEqual([`${ACCOUNTS_OF('701')}/22`]);
  });
});

describe('a vault that does not page: the whole list, cut by the client (today\'s behaviour)', () => {
  it('ignores STARTINDEX/LIMIT: the first answer is the whole list, cached, and every page is cut from it', async () => {
    const c = client('ignore');
    const first = await c.listAccounts('700', { page: { offset: 0, limit: 500 } });
    expect(first.totalAccounts).toBe(40_000);
    expect(first.accounts).toHaveLength(500);
    const next = await c.listAccounts('700', { page: { offset: 500, limit: 500 } });
    expect(next.accounts[0]!.name).toBe('acct-00500');
    expect(pageCalls('700')).toEqual([[0, 2]]);
    // Learned: other resources are read whole at once, with no INPUT_DATA.
    await c.listAccounts('701', { page: { offset: 0, limit: 2 } });
    expect(pageCalls('701')).toEqual([null]);
  });

  it('pages without totalRows: no page is trusted, the whole list is read once', async () => {
    const c = client('noTotal');
    const page = await c.listAccounts('701', { page: { offset: 3, limit: 10 } });
    expect(page).toMatchObject({ totalAccounts: 5 });
    expect(page.accounts.map((a) => a.name)).toEqual(['delta', 'epsilon']);
    expect(pageCalls('701')).toEqual([[0, 2], null]);
    await c.listAccounts('701', { page: { offset: 0, limit: 1 } });
    expect(pageCalls('701')).toHaveLength(2);
  });

  it('refuses INPUT_DATA: the whole list answers, and is what the client reads from then on', async () => {
    const c = client('refuse');
    const page = await c.listAccounts('701', { page: { offset: 0, limit: 2 } });
    expect(page.accounts.map((a) => a.name)).toEqual(['alpha', 'beta']);
    expect(page.totalAccounts).toBe(5);
    await c.listAccounts('700', { page: { offset: 0, limit: 2 } });
    expect(pageCalls('701')).toEqual([[0, 2], null]);
    expect(pageCalls('700')).toEqual([null]);
  });

  it('accountPaging "off" never sends STARTINDEX/LIMIT', async () => {
    const c = client('startIndex0', { accountPaging: 'off' });
    const page = await c.listAccounts('701', { page: { offset: 4, limit: 2 } });
    expect(page).toMatchObject({ totalAccounts: 5, accounts: [{ name: 'epsilon' }] });
    expect(pageCalls('701')).toEqual([null]);
  });

  it('a whole list already cached answers a page without a call', async () => {
    const c = client('startIndex0');
    await c.listAccounts('701');
    const page = await c.listAccounts('701', { page: { offset: 1, limit: 1 } });
    expect(page).toMatchObject({ totalAccounts: 5, accounts: [{ name: 'beta' }] });
    expect(pageCalls('701')).toEqual([null]);
  });
});

describe('paging and errors', () => {
  it('a resource with fewer than 2 accounts teaches nothing, and is still answered right', async () => {
    const c = client('startIndex1');
    const one = await c.listAccounts('702', { page: { offset: 0, limit: 500 } });
    expect(one).toMatchObject({ totalAccounts: 1, accounts: [{ name: 'only' }] });
    // Still to be learned on the next resource.
    const small = await c.listAccounts('701', { page: { offset: 0, limit: 2 } });
    expect(small.accounts.map((a) => a.name)).toEqual(['alpha', 'beta']);
    expect(pageCalls('701')).toEqual([
      [0, 2],
      [1, 1],
      [1, 2],
    ]);
  });

  it('an unknown resource is RESOURCE_NOT_FOUND, a bad page BAD_REQUEST, and neither changes what was learned', async () => {
    const c = client('startIndex0');
    expect(await codeOf(c.listAccounts('799', { page: { offset: 0, limit: 10 } }))).toBe('RESOURCE_NOT_FOUND');
    expect(pageCalls('799')).toEqual([[0, 2], null]);
    for (const page of [{ offset: -1, limit: 10 }, { offset: 0, limit: 0 }, { offset: 0.5, limit: 10 }]) {
      expect(await codeOf(c.listAccounts('701', { page }))).toBe('BAD_REQUEST');
    }
    await c.listAccounts('701', { page: { offset: 2, limit: 2 } });
    expect(pageCalls('701')).toEqual([
      [0, 2],
      [1, 1],
      [2, 2],
    ]);
  });

  it('a vault that stops paging after it was learned is caught by the next page: more accounts than LIMIT is the whole list', async () => {
    const c = client('startIndex0');
    await c.listAccounts('701', { page: { offset: 0, limit: 2 } });
    pmp.paging = 'ignore';
    const page = await c.listAccounts('701', { page: { offset: 2, limit: 2 } });
    expect(page).toMatchObject({ totalAccounts: 5, accounts: [{ name: 'gamma' }, { name: 'delta' }] });
    await c.listAccounts('700', { page: { offset: 0, limit: 2 } });
    expect(pageCalls('701')).toEqual([
      [0, 2],
      [1, 1],
      [0, 2],
      [2, 2],
    ]);
    expect(pageCalls('700')).toEqual([null]);
  });

  it('a caller whose deadline passes does not fail another caller waiting on the same page', async () => {
    const c = client('startIndex0');
    const ac = new AbortController();
    const reason = new Error('deadline');
    const first = c.listAccounts('701', { page: { offset: 0, limit: 2 }, signal: ac.signal });
    const second = c.listAccounts('701', { page: { offset: 0, limit: 2 } });
    ac.abort(reason);
    await expect(first).rejects.toBe(reason);
    await expect(second).resolves.toMatchObject({ totalAccounts: 5, accounts: [{ name: 'alpha' }, { name: 'beta' }] });
    expect(pageCalls('701')).toEqual([
      [0, 2],
      [1, 1],
      [0, 2],
    ]);
  });

  it('concurrent first pages share one learning', async () => {
    const c = client('startIndex0');
    const pages = await Promise.all([0, 1, 2, 3].map((offset) => c.listAccounts('701', { page: { offset, limit: 1 } })));
    expect(pages.map((p) => p.accounts[0]!.name)).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    expect(pageCalls('701').filter((call) => call !== null && call[1] !== 1 && call[0] === 0)).toEqual([[0, 2]]);
    expect(pageCalls('701')).toHaveLength(2 + 4);
  });
});
