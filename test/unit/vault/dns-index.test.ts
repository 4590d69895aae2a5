import { pino } from 'pino';
import { ManualClock } from '../../../src/shared/clock.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { CallBudget } from '../../../src/vault/dns-index-budget.js';
import { DnsIndex } from '../../../src/vault/dns-index.js';
import type { DnsIndexOptions } from '../../../src/vault/dns-index-options.js';
import type { CallOptions, ListResourcesOptions, PmpResource, ResourceDirectory } from '../../../src/vault/types.js';

/**
 * The DNS-name index driven through a fake vault port and the manual clock:
 * no sockets, no sleeps (setImmediate only lets promise chains settle).
 */

interface FakeResource {
  id: string;
  name: string;
  dns?: string;
}

interface FakeCall {
  at: number;
  call: 'list' | 'dns';
  id?: string;
}

/** A vault with resources that a test edits; every call is recorded with its time. */
class FakeVault implements ResourceDirectory {
  resources: FakeResource[] = [];
  calls: FakeCall[] = [];
  /** The list answers with DNS NAME too (some builds). */
  listCarriesDns = false;
  /** Failures for the next calls of this kind (of this resource, when `id` is given), consumed one per call. */
  failures: Array<{ call: 'list' | 'dns'; id?: string; err: Error }> = [];
  /** Calls wait until release() while true. */
  hold = false;
  private held: Array<() => void> = [];

  constructor(private readonly clock: ManualClock) {}

  listResources(opts?: ListResourcesOptions): Promise<PmpResource[]> {
    expect(opts?.fresh).toBe(true);
    this.calls.push({ at: this.clock.now(), call: 'list' });
    return this.answer('list', undefined, opts, () =>
      this.resources.map((r) => ({ id: r.id, name: r.name, type: 'Linux', description: undefined, dnsName: this.listCarriesDns ? r.dns : undefined })),
    );
  }

  resourceDnsName(resourceId: string, opts?: CallOptions): Promise<string | undefined> {
    this.calls.push({ at: this.clock.now(), call: 'dns', id: resourceId });
    return this.answer('dns', resourceId, opts, () => {
      const r = this.resources.find((x) => x.id === resourceId);
      if (!r) throw new GatewayError('RESOURCE_NOT_FOUND', 'no such resource');
      return r.dns;
    });
  }

  release(): void {
    this.hold = false;
    for (const go of this.held.splice(0)) go();
  }

  count(call: 'list' | 'dns'): number {
    return this.calls.filter((c) => c.call === call).length;
  }

  private answer<T>(call: 'list' | 'dns', id: string | undefined, opts: CallOptions | undefined, value: () => T): Promise<T> {
    const failure = this.failures.findIndex((f) => f.call === call && (f.id === undefined || f.id === id));
    const err = failure >= 0 ? this.failures.splice(failure, 1)[0]!.err : undefined;
    return new Promise<T>((resolve, reject) => {
      const go = (): void => {
        if (opts?.signal?.aborted) reject(opts.signal.reason);
        else if (err) reject(err);
        else {
          try {
            resolve(value());
          } catch (e) {
            reject(e);
          }
        }
      };
      if (this.hold) this.held.push(go);
      else go();
    });
  }
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Moves the clock on in steps, letting the index's promise chains run between them. */
async function pass(clock: ManualClock, ms: number, step = 100): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}

function resources(n: number, dns: (i: number) => string | undefined = (i) => `host${i}.corp.example`): FakeResource[] {
  return Array.from({ length: n }, (_, i) => ({ id: String(1000 + i), name: `Host_${i}`, dns: dns(i) }));
}

/** The most calls in any 60 s window. */
function busiestMinute(calls: readonly FakeCall[]): number {
  let most = 0;
  let from = 0;
  for (let i = 0; i < calls.length; i++) {
    while (calls[i]!.at - calls[from]!.at > 60_000) from++;
    most = Math.max(most, i - from + 1);
  }
  return most;
}

describe('CallBudget', () => {
  it.each([10, 60, 120, 1000])('never allows more than %i calls in any 60 s window, and allows that many per minute over time', (max) => {
    const clock = new ManualClock();
    const budget = new CallBudget(clock, max);
    const taken: FakeCall[] = [];
    while (clock.now() - 1_700_000_000_000 < 10 * 60_000) {
      const wait = budget.tryTake();
      if (wait === 0) taken.push({ at: clock.now(), call: 'dns' });
      else clock.advance(wait);
    }
    expect(busiestMinute(taken)).toBeLessThanOrEqual(max);
    // Ten minutes at the refill rate plus the first burst: about max per minute.
    expect(taken.length).toBeGreaterThanOrEqual(10 * max * 0.89);
    expect(budget.burst).toBe(Math.max(1, Math.floor(max / 10)));
  });
});

describe('DnsIndex', () => {
  let clock: ManualClock;
  let vault: FakeVault;
  let logs: Array<Record<string, unknown>>;
  let index: DnsIndex;

  function makeIndex(over: Partial<DnsIndexOptions> = {}): DnsIndex {
    const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    index = new DnsIndex({ vault, clock, logger, maxCallsPerMinute: 120, refreshIntervalMs: 15 * 60_000, ...over });
    return index;
  }

  async function built(over: Partial<DnsIndexOptions> = {}): Promise<DnsIndex> {
    makeIndex(over);
    index.start();
    await pass(clock, 60_000 * 10);
    expect(index.state).toBe('ready');
    return index;
  }

  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    return err instanceof GatewayError ? err.code : `not a GatewayError: ${String(err)}`;
  };

  beforeEach(() => {
    clock = new ManualClock();
    vault = new FakeVault(clock);
    logs = [];
  });

  afterEach(() => {
    index.stop();
    // Every timer the index armed is gone with it.
    expect(clock.pending).toBe(0);
  });

  it('files each resource under its normalised DNS NAME and answers every spelling of it', async () => {
    vault.resources = [
      { id: '301', name: 'Windows_Jump_Box', dns: '10.1.2.3' },
      { id: '302', name: 'Linux_Web_01', dns: 'Web01.Corp.Example.' },
      { id: '303', name: 'v6_host', dns: '2001:0DB8:0:0:0:0:0:0001' },
      { id: '304', name: 'no_dns', dns: '' },
    ];
    await built();
    expect(vault.count('list')).toBe(1);
    expect(vault.count('dns')).toBe(4);
    for (const spelling of ['10.1.2.3', '10.1.2.3.', '::ffff:10.1.2.3', '[::FFFF:0A01:0203]']) {
      await expect(index.lookup(spelling)).resolves.toEqual({ id: '301', name: 'Windows_Jump_Box' });
    }
    for (const spelling of ['web01.corp.example', 'WEB01.CORP.EXAMPLE.', ' web01.Corp.example ']) {
      await expect(index.lookup(spelling)).resolves.toEqual({ id: '302', name: 'Linux_Web_01' });
    }
    for (const spelling of ['2001:db8::1', '[2001:db8::1]', '2001:DB8:0000::0001']) {
      await expect(index.lookup(spelling)).resolves.toEqual({ id: '303', name: 'v6_host' });
    }
    expect(index.addresses()).toEqual([
      { address: '10.1.2.3', ids: ['301'] },
      { address: '2001:db8::1', ids: ['303'] },
      { address: 'web01.corp.example', ids: ['302'] },
    ]);
    expect(index.resources().find((r) => r.id === '304')).toEqual({ id: '304', name: 'no_dns', dnsName: null });
    expect(logs.find((l) => l['msg'] === 'DNS-name index built')).toMatchObject({ resources: 4, addresses: 3, duplicates: 0, calls: 5 });
  });

  it('answers RESOURCE_AMBIGUOUS naming no resource, logs the duplicates once at warn, and answers again once they differ', async () => {
    vault.resources = [
      { id: '10', name: 'web-a', dns: 'web.corp.example' },
      { id: '9', name: 'web-b', dns: 'WEB.corp.example.' },
      { id: '11', name: 'other', dns: '10.0.0.1' },
    ];
    await built();
    const err = await index.lookup('web.corp.example').then(
      () => new GatewayError('INTERNAL', 'resolved'),
      (e: unknown) => e as GatewayError,
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.toWire()).toEqual({ code: 'RESOURCE_AMBIGUOUS', message: expect.any(String), retryable: false });
    expect(err.message).not.toMatch(/web-a|web-b|\b9\b|\b10\b/);
    expect(await codeOf(index.lookup('Web.Corp.Example'))).toBe('RESOURCE_AMBIGUOUS');
    const warnings = logs.filter((l) => l['level'] === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'DNS name shared by several vault resources, answered RESOURCE_AMBIGUOUS',
        address: 'web.corp.example',
        resources: [{ id: '9', name: 'web-b' }, { id: '10', name: 'web-a' }],
      }),
    ]);
    expect(index.duplicates()).toEqual([{ address: 'web.corp.example', ids: ['9', '10'] }]);
    // The admin fixes PMP; the next refresh sees it.
    vault.resources[1]!.dns = 'web-b.corp.example';
    await pass(clock, 15 * 60_000 + 60_000);
    await expect(index.lookup('web.corp.example')).resolves.toEqual({ id: '10', name: 'web-a' });
    expect(index.duplicates()).toEqual([]);
  });

  it('keeps the budget while building and refreshing 500 resources (counted calls, any 60 s window)', async () => {
    vault.resources = resources(500);
    makeIndex({ maxCallsPerMinute: 120, refreshIntervalMs: 60_000 });
    index.start();
    await pass(clock, 5 * 60_000, 250);
    expect(index.state).toBe('ready');
    const buildCalls = vault.calls.length;
    expect(buildCalls).toBe(501);
    // 501 calls at 120 a minute: the burst of 12, then 108 a minute.
    expect(vault.calls.at(-1)!.at - vault.calls[0]!.at).toBeGreaterThan(4 * 60_000);
    await pass(clock, 12 * 60_000, 250);
    expect(vault.calls.length).toBeGreaterThan(buildCalls + 500);
    expect(busiestMinute(vault.calls)).toBeLessThanOrEqual(120);
    expect(index.stats()).toMatchObject({ state: 'ready', resources: 500, addresses: 500 });
  });

  it('refreshes on its interval: re-lists, reads new resources first, re-reads the rest, forgets gone ones', async () => {
    vault.resources = resources(3);
    const started = clock.now();
    await built({ refreshIntervalMs: 20 * 60_000 });
    vault.calls = [];
    vault.resources[0]!.dns = 'moved.corp.example';
    vault.resources.splice(2, 1);
    vault.resources.push({ id: '2000', name: 'New_Host', dns: 'new.corp.example' });
    // The build took well under a second; the refresh is due 20 min after it.
    await pass(clock, started + 20 * 60_000 - 1000 - clock.now(), 1000);
    expect(vault.calls).toEqual([]);
    await pass(clock, 2000);
    expect(vault.calls.map((c) => c.id ?? c.call)).toEqual(['list', '2000', '1000', '1001']);
    await expect(index.lookup('moved.corp.example')).resolves.toEqual({ id: '1000', name: 'Host_0' });
    await expect(index.lookup('new.corp.example')).resolves.toEqual({ id: '2000', name: 'New_Host' });
    expect(index.resources().map((r) => r.id)).toEqual(['1000', '1001', '2000']);
  });

  it('after a miss, re-lists and reads only the new resources: a resource added in the vault is found', async () => {
    vault.resources = resources(20);
    await built({ missRelistIntervalMs: 30_000 });
    await pass(clock, 30_000);
    vault.calls = [];
    vault.resources.push({ id: '5000', name: 'Added', dns: 'added.corp.example' });
    await expect(index.lookup('added.corp.example')).resolves.toEqual({ id: '5000', name: 'Added' });
    expect(vault.calls.map((c) => c.id ?? c.call)).toEqual(['list', '5000']);
    // Another miss right after: the list is fresh, no call.
    expect(await codeOf(index.lookup('unknown.corp.example'))).toBe('RESOURCE_NOT_FOUND');
    expect(vault.calls).toHaveLength(2);
    // Once the interval has passed, a miss re-lists again (one call, nothing new to read).
    await pass(clock, 30_000);
    expect(await codeOf(index.lookup('unknown.corp.example'))).toBe('RESOURCE_NOT_FOUND');
    expect(vault.calls.map((c) => c.id ?? c.call)).toEqual(['list', '5000', 'list']);
  });

  it('on a miss, re-reads a resource whose NAME is the host name (its DNS NAME may have changed)', async () => {
    vault.resources = [{ id: '7', name: 'db07.corp.example', dns: '10.9.9.9' }, ...resources(5)];
    await built();
    await pass(clock, 60_000);
    vault.resources[0]!.dns = 'db07.corp.example';
    vault.calls = [];
    await expect(index.lookup('DB07.corp.example')).resolves.toEqual({ id: '7', name: 'db07.corp.example' });
    expect(vault.calls.map((c) => c.id ?? c.call)).toEqual(['list', '7']);
  });

  it('misses at the same moment share one re-list', async () => {
    vault.resources = resources(5);
    await built();
    await pass(clock, 60_000);
    vault.calls = [];
    vault.hold = true;
    const misses = [index.lookup('a.example'), index.lookup('b.example'), index.lookup('c.example')];
    await flush();
    vault.release();
    expect(await Promise.all(misses.map(codeOf))).toEqual(['RESOURCE_NOT_FOUND', 'RESOURCE_NOT_FOUND', 'RESOURCE_NOT_FOUND']);
    expect(vault.count('list')).toBe(1);
  });

  describe('while the first pass runs', () => {
    beforeEach(() => {
      // 300 resources at 10 calls a minute: about half an hour to build.
      vault.resources = resources(300);
      vault.resources[250] = { id: '1250', name: 'db07', dns: 'db07.corp.example' };
      makeIndex({ maxCallsPerMinute: 10 });
      index.start();
    });

    it('reads the resources named like the host first and answers as soon as one matches', async () => {
      const answer = index.lookup('db07.corp.example');
      let settled = false;
      void answer.then(() => (settled = true));
      await pass(clock, 30_000);
      expect(settled).toBe(true);
      await expect(answer).resolves.toEqual({ id: '1250', name: 'db07' });
      expect(index.state).toBe('building');
      expect(vault.calls.slice(0, 2).map((c) => c.id ?? c.call)).toEqual(['list', '1250']);
    });

    it('answers a miss only once the index is complete', async () => {
      const answer = index.lookup('nowhere.corp.example');
      let outcome: string | undefined;
      void codeOf(answer).then((code) => (outcome = code));
      await pass(clock, 20 * 60_000, 1000);
      expect(outcome).toBeUndefined();
      expect(index.state).toBe('building');
      await pass(clock, 20 * 60_000, 1000);
      expect(index.state).toBe('ready');
      expect(outcome).toBe('RESOURCE_NOT_FOUND');
    });

    it('a wait ends with the caller signal, with its reason', async () => {
      const ac = new AbortController();
      const answer = index.lookup('nowhere.corp.example', { signal: ac.signal });
      await pass(clock, 1000);
      const reason = new GatewayError('DEADLINE_EXCEEDED', 'timeoutMs passed');
      ac.abort(reason);
      await expect(answer).rejects.toBe(reason);
    });

    it('a lookup while the index stops fails retryable, and no call follows', async () => {
      const answer = index.lookup('nowhere.corp.example');
      await pass(clock, 1000);
      index.stop();
      const calls = vault.calls.length;
      expect(await codeOf(answer)).toBe('VAULT_UNREACHABLE');
      await pass(clock, 5 * 60_000, 1000);
      expect(vault.calls).toHaveLength(calls);
      await expect(index.whenReady()).rejects.toBeInstanceOf(GatewayError);
    });
  });

  it('a lookup gets the first list failure rather than a wait; the list is retried after the pause', async () => {
    vault.resources = resources(3);
    vault.failures.push({ call: 'list', err: new GatewayError('ACCESS_DENIED', 'API key received is not associated to any user') });
    makeIndex({ retryDelayMs: 30_000 });
    index.start();
    await flush();
    expect(await codeOf(index.lookup('host1.corp.example'))).toBe('ACCESS_DENIED');
    await pass(clock, 29_000, 1000);
    expect(vault.count('list')).toBe(1);
    await pass(clock, 5_000, 1000);
    expect(vault.count('list')).toBe(2);
    await expect(index.lookup('host1.corp.example')).resolves.toEqual({ id: '1001', name: 'Host_1' });
    expect(logs.filter((l) => l['msg'] === 'DNS-name index vault call failed')).toHaveLength(1);
  });

  it('pauses every call while the vault is unreachable, then carries on', async () => {
    vault.resources = resources(10);
    makeIndex({ retryDelayMs: 30_000 });
    index.start();
    await flush();
    for (let i = 0; i < 3; i++) vault.failures.push({ call: 'dns', err: new GatewayError('VAULT_UNREACHABLE', 'connect ECONNREFUSED') });
    await pass(clock, 10_000);
    const during = vault.calls.length;
    // The failures came back; nothing more is called until the pause is over.
    await pass(clock, 15_000);
    expect(vault.calls.length).toBe(during);
    await pass(clock, 60_000);
    expect(index.state).toBe('ready');
    expect(index.stats().addresses).toBe(10);
  });

  it('forgets a resource deleted between the list and its read; gives up on a resource whose answer stays broken', async () => {
    vault.resources = resources(4);
    vault.hold = true;
    makeIndex({ retryDelayMs: 1000 });
    index.start();
    await flush();
    vault.release();
    vault.resources.splice(0, 1);
    for (let i = 0; i < 3; i++) {
      vault.failures.push({ call: 'dns', id: '1002', err: new GatewayError('VAULT_ERROR', 'the vault answered in an unexpected format') });
    }
    await pass(clock, 60_000);
    expect(index.state).toBe('ready');
    const ids = index.resources().map((r) => r.id);
    expect(ids).not.toContain('1000');
    expect(index.resources().filter((r) => r.dnsName === null).map((r) => r.id)).toEqual(['1002']);
    expect(vault.calls.filter((c) => c.id === '1002')).toHaveLength(3);
    expect(index.stats().addresses).toBe(2);
  });

  it('makes no per-resource call when the list carries DNS NAME', async () => {
    vault.resources = resources(50);
    vault.listCarriesDns = true;
    await built();
    expect(vault.calls.map((c) => c.call)).toEqual(['list']);
    await expect(index.lookup('host49.corp.example')).resolves.toEqual({ id: '1049', name: 'Host_49' });
  });

  it('answers RESOURCE_NOT_FOUND for an empty address without a call', async () => {
    vault.resources = resources(2);
    await built();
    vault.calls = [];
    expect(await codeOf(index.lookup('  '))).toBe('RESOURCE_NOT_FOUND');
    expect(vault.calls).toEqual([]);
  });
});
