import { ManualClock } from '../../../src/shared/clock.js';
import { isPmpId } from '../../../src/shared/pmp-id.js';
import { eachBounded, matchResource } from '../../../src/vault/pmp-client.js';
import {
  accountDetailsPath,
  accountsPath,
  passwordPath,
  passwordQuery,
  PROBE_PATH,
  RESOURCES_PATH,
} from '../../../src/vault/pmp-paths.js';
import { TtlCache } from '../../../src/vault/ttl-cache.js';
import type { PmpResource } from '../../../src/vault/types.js';
import { codeOfCall } from '../../helpers/error-code.js';

describe('PMP paths', () => {
  it('are exactly the reference paths', () => {
    expect(RESOURCES_PATH).toBe('/restapi/json/v1/resources');
    expect(PROBE_PATH).toBe('/restapi/json/v1/resources/resourcetypes');
    expect(accountsPath('301')).toBe('/restapi/json/v1/resources/301/accounts');
    expect(accountDetailsPath('301', '902')).toBe('/restapi/json/v1/resources/301/accounts/902');
    expect(passwordPath('301', '902')).toBe('/restapi/json/v1/resources/301/accounts/902/password');
  });

  const attacks = [
    '../../user/regenerateAuthtoken',
    '1/../../user/regenerateAuthtoken',
    '1?AUTHTOKEN=x',
    '1#x',
    '%2e%2e',
    '1%2F2',
    ' 1',
    '1 ',
    '-1',
    '1.0',
    '0x1F',
    '１２', // full-width digits
    '',
    '1234567890123456789', // 19 digits
    '1\n2',
  ];

  it.each(attacks)('refuses resource ID %j with RESOURCE_NOT_FOUND before building a path', (id) => {
    expect(isPmpId(id)).toBe(false);
    expect(codeOfCall(() => accountsPath(id))).toBe('RESOURCE_NOT_FOUND');
    expect(codeOfCall(() => passwordPath(id, '1'))).toBe('RESOURCE_NOT_FOUND');
  });

  it.each(attacks)('refuses account ID %j with ACCOUNT_NOT_FOUND', (id) => {
    expect(codeOfCall(() => accountDetailsPath('1', id))).toBe('ACCOUNT_NOT_FOUND');
    expect(codeOfCall(() => passwordPath('1', id))).toBe('ACCOUNT_NOT_FOUND');
  });

  it('refuses non-strings', () => {
    expect(codeOfCall(() => accountsPath(12 as unknown as string))).toBe('RESOURCE_NOT_FOUND');
    expect(codeOfCall(() => accountsPath(undefined as unknown as string))).toBe('RESOURCE_NOT_FOUND');
    expect(codeOfCall(() => accountDetailsPath('1', 902 as unknown as string))).toBe('ACCOUNT_NOT_FOUND');
  });

  it('INPUT_DATA is url-encoded JSON with only the given REASON and TICKETID', () => {
    expect(passwordQuery({})).toBeUndefined();
    expect(passwordQuery({ reason: '', ticketId: '' })).toBeUndefined();
    const q = passwordQuery({ reason: 'Remote console launch & more', ticketId: 'INC-1042' }) as string;
    expect(q.startsWith('INPUT_DATA=')).toBe(true);
    expect(q.slice('INPUT_DATA='.length)).not.toMatch(/[ &"{}=?#]/);
    const decoded = JSON.parse(decodeURIComponent(q.slice('INPUT_DATA='.length)));
    expect(decoded).toEqual({ operation: { Details: { REASON: 'Remote console launch & more', TICKETID: 'INC-1042' } } });
    const onlyTicket = JSON.parse(decodeURIComponent((passwordQuery({ ticketId: 'T1' }) as string).slice(11)));
    expect(onlyTicket).toEqual({ operation: { Details: { TICKETID: 'T1' } } });
  });
});

describe('matchResource', () => {
  const r = (id: string, name: string): PmpResource => ({ id, name, type: undefined, description: undefined, dnsName: undefined });
  const list = [r('1', 'Web01'), r('2', 'web01'), r('3', 'DB'), r('4', 'Mail'), r('5', 'MAIL')];

  it('exact name first, then a unique case-insensitive match', () => {
    expect(matchResource(list, 'web01')).toEqual(r('2', 'web01'));
    expect(matchResource(list, 'Web01')).toEqual(r('1', 'Web01'));
    expect(matchResource(list, 'db')).toEqual(r('3', 'DB'));
  });

  it('none and ambiguous', () => {
    expect(matchResource(list, 'WEB01')).toBe('ambiguous');
    expect(matchResource(list, 'mail')).toBe('ambiguous');
    expect(matchResource(list, 'nothing')).toBe('none');
    expect(matchResource(list, '../../user/regenerateAuthtoken')).toBe('none');
  });
});

describe('TtlCache', () => {
  it('caches for the TTL on the clock and shares one load between concurrent callers', async () => {
    const clock = new ManualClock();
    const cache = new TtlCache<number>(clock, 1000);
    let loads = 0;
    let release: (v: number) => void = () => undefined;
    const load = (): Promise<number> => {
      loads++;
      return new Promise((resolve) => (release = resolve));
    };
    const a = cache.get('k', load);
    const b = cache.get('k', load);
    release(7);
    expect(await a).toEqual({ value: 7, cached: false });
    expect(await b).toEqual({ value: 7, cached: false });
    expect(loads).toBe(1);
    expect(await cache.get('k', () => Promise.resolve(8))).toEqual({ value: 7, cached: true });
    clock.advance(1000);
    expect(await cache.get('k', () => Promise.resolve(8))).toEqual({ value: 8, cached: false });
  });

  it('TTL 0 never caches; failures are not cached', async () => {
    const clock = new ManualClock();
    const none = new TtlCache<number>(clock, 0);
    await none.get('k', () => Promise.resolve(1));
    expect(none.peek('k')).toBeUndefined();
    const c = new TtlCache<number>(clock, 1000);
    await expect(c.get('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await c.get('k', () => Promise.resolve(2))).toEqual({ value: 2, cached: false });
  });

  it('a waiting caller leaves on its own abort; the load goes on for the others', async () => {
    const cache = new TtlCache<number>(new ManualClock(), 1000);
    let release: (v: number) => void = () => undefined;
    const load = (): Promise<number> => new Promise((resolve) => (release = resolve));
    const ac = new AbortController();
    const a = cache.get('k', load, ac.signal);
    const b = cache.get('k', load);
    const reason = new Error('deadline');
    ac.abort(reason);
    await expect(a).rejects.toBe(reason);
    release(3);
    expect((await b).value).toBe(3);
  });

  it('drops the oldest entries past maxEntries', async () => {
    const cache = new TtlCache<number>(new ManualClock(), 1000, 2);
    for (const k of ['a', 'b', 'c']) await cache.get(k, () => Promise.resolve(1));
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('c')).toBe(1);
  });
});

describe('eachBounded', () => {
  it('never runs more than the limit at once and visits every item', async () => {
    let running = 0;
    let peak = 0;
    const seen: number[] = [];
    await eachBounded([1, 2, 3, 4, 5, 6, 7], 3, undefined, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await Promise.resolve();
      await Promise.resolve();
      seen.push(n);
      running--;
    });
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops starting work after the first failure', async () => {
    const started: number[] = [];
    await expect(
      eachBounded([1, 2, 3, 4, 5], 1, undefined, async (n) => {
        started.push(n);
        if (n === 2) throw new Error('fail');
      }),
    ).rejects.toThrow('fail');
    expect(started).toEqual([1, 2]);
  });

  it('handles an empty list', async () => {
    await expect(eachBounded([], 4, undefined, async () => undefined)).resolves.toBeUndefined();
  });
});
