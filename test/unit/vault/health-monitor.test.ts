import { ManualClock } from '../../../src/shared/clock.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { VaultHealthMonitor, type VaultHealthState } from '../../../src/vault/health-monitor.js';
import type { VaultClient } from '../../../src/vault/types.js';

/** A VaultClient whose probe answers from a script; everything else is unused here. */
class ScriptedVault implements VaultClient {
  probes = 0;
  next: () => Promise<void> = () => Promise.resolve();
  lastSignal: AbortSignal | undefined;
  constructor(readonly name: string) {}
  probe(opts?: { signal?: AbortSignal }): Promise<void> {
    this.probes++;
    this.lastSignal = opts?.signal;
    return this.next();
  }
  listResources(): never {
    throw new Error('unused');
  }
  resolveResource(): never {
    throw new Error('unused');
  }
  listAccounts(): never {
    throw new Error('unused');
  }
  accountNotes(): never {
    throw new Error('unused');
  }
  getPassword(): never {
    throw new Error('unused');
  }
  requestAccess(): never {
    throw new Error('unused');
  }
  accessRequestState(): never {
    throw new Error('unused');
  }
  checkIn(): never {
    throw new Error('unused');
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('VaultHealthMonitor', () => {
  let clock: ManualClock;
  let a: ScriptedVault;
  let b: ScriptedVault;
  let monitor: VaultHealthMonitor;
  let changes: Array<[VaultHealthState, VaultHealthState]>;

  beforeEach(() => {
    clock = new ManualClock();
    a = new ScriptedVault('a');
    b = new ScriptedVault('b');
    monitor = new VaultHealthMonitor({ vaults: [{ client: a, intervalMs: 1000 }, { client: b, intervalMs: 5000 }], clock });
    changes = [];
    monitor.on('change', (now, before) => changes.push([now, before]));
  });

  afterEach(() => monitor.stop());

  it('is unknown (not healthy, no error) before the first probe', () => {
    expect(monitor.snapshot()).toEqual([
      { name: 'a', healthy: false },
      { name: 'b', healthy: false },
    ]);
  });

  it('probes at start and then on each vault’s interval, emitting only on change', async () => {
    monitor.start();
    clock.advance(0);
    await flush();
    expect([a.probes, b.probes]).toEqual([1, 1]);
    expect(changes.map(([s]) => [s.name, s.healthy])).toEqual([
      ['a', true],
      ['b', true],
    ]);
    clock.advance(1000);
    await flush();
    expect([a.probes, b.probes]).toEqual([2, 1]);
    expect(changes).toHaveLength(2); // still healthy: no event

    a.next = () => Promise.reject(new GatewayError('VAULT_UNREACHABLE', 'the vault cannot be reached', { detail: 'ECONNREFUSED: connect' }));
    clock.advance(1000);
    await flush();
    expect(changes).toHaveLength(3);
    const [now, before] = changes[2] as [VaultHealthState, VaultHealthState];
    expect(now).toMatchObject({ name: 'a', healthy: false, error: 'VAULT_UNREACHABLE', lastError: 'ECONNREFUSED: connect', lastCheckedAt: clock.now() });
    expect(before.healthy).toBe(true);

    clock.advance(1000); // same failure: no event
    await flush();
    expect(changes).toHaveLength(3);

    a.next = () => Promise.reject(new GatewayError('ACCESS_DENIED', 'refused'));
    clock.advance(1000); // a different failure is a change
    await flush();
    expect(changes).toHaveLength(4);
    expect(monitor.wire()).toEqual([
      { name: 'a', healthy: false, error: 'ACCESS_DENIED' },
      { name: 'b', healthy: true },
    ]);

    a.next = () => Promise.resolve();
    clock.advance(1000);
    await flush();
    expect(changes).toHaveLength(5);
    expect(monitor.snapshot()[0]).toEqual({ name: 'a', healthy: true, lastCheckedAt: clock.now() });
    expect(b.probes).toBe(2); // 5000 ms passed
  });

  it('a first failed probe is a change too; non-Gateway failures become VAULT_ERROR', async () => {
    a.next = () => Promise.reject(new Error('bug'));
    monitor.start();
    clock.advance(0);
    await flush();
    expect(changes[0]?.[0]).toMatchObject({ name: 'a', healthy: false, error: 'VAULT_ERROR' });
  });

  it('never overlaps probes of one vault: the next is scheduled after the previous ends', async () => {
    let release: () => void = () => undefined;
    a.next = () => new Promise((resolve) => (release = resolve));
    monitor.start();
    clock.advance(0);
    await flush();
    clock.advance(10_000);
    await flush();
    expect(a.probes).toBe(1);
    release();
    await flush();
    clock.advance(999);
    await flush();
    expect(a.probes).toBe(1);
    clock.advance(1);
    await flush();
    expect(a.probes).toBe(2);
  });

  it('stop clears every timer and aborts probes under way; start restarts cleanly', async () => {
    a.next = () => new Promise(() => undefined);
    monitor.start();
    clock.advance(0);
    await flush();
    const signal = a.lastSignal as AbortSignal;
    monitor.stop();
    expect(signal.aborted).toBe(true);
    expect(clock.pending).toBe(0);
    monitor.start();
    monitor.start();
    expect(clock.pending).toBe(2);
  });

  it('records outcomes of real calls: vault-wide failures and successes only', () => {
    monitor.record('a', { ok: true });
    expect(changes).toHaveLength(1);
    monitor.record('a', { ok: false, error: new GatewayError('ACCOUNT_NOT_FOUND', 'x') });
    monitor.record('a', { ok: false, error: new Error('x') });
    expect(changes).toHaveLength(1);
    monitor.record('a', { ok: false, error: new GatewayError('VAULT_TIMEOUT', 'slow') });
    expect(changes).toHaveLength(2);
    expect(monitor.snapshot()[0]).toMatchObject({ healthy: false, error: 'VAULT_TIMEOUT' });
    monitor.record('nope', { ok: true });
    expect(changes).toHaveLength(2);
  });

  describe('setVaults (a reload)', () => {
    const started = async (): Promise<void> => {
      monitor.start();
      clock.advance(0);
      await flush();
      changes = [];
    };

    it('keeps a vault with the same client as it is: no change, no extra probe, same schedule', async () => {
      await started();
      monitor.setVaults([{ client: a, intervalMs: 1000 }, { client: b, intervalMs: 5000 }]);
      await flush();
      expect(changes).toEqual([]);
      expect(monitor.wire()).toEqual([
        { name: 'a', healthy: true },
        { name: 'b', healthy: true },
      ]);
      expect([a.probes, b.probes]).toEqual([1, 1]);
      clock.advance(1000);
      await flush();
      expect([a.probes, b.probes]).toEqual([2, 1]);
    });

    it('carries the health of a vault whose client was replaced and probes the new client at once', async () => {
      await started();
      const a2 = new ScriptedVault('a');
      monitor.setVaults([{ client: a2, intervalMs: 1000 }, { client: b, intervalMs: 5000 }]);
      // Before the new client answers, the vault is still what it was.
      expect(monitor.wire()[0]).toEqual({ name: 'a', healthy: true });
      clock.advance(0);
      await flush();
      expect(a2.probes).toBe(1);
      expect(changes).toEqual([]);
      // The old client is no longer probed; the new one is, on its interval.
      clock.advance(1000);
      await flush();
      expect([a.probes, a2.probes]).toEqual([1, 2]);
      // A different answer from the new client is a change.
      a2.next = () => Promise.reject(new GatewayError('VAULT_UNREACHABLE', 'the vault cannot be reached'));
      clock.advance(1000);
      await flush();
      expect(changes.map(([now, before]) => [now.name, now.healthy, before.healthy])).toEqual([['a', false, true]]);
    });

    it('aborts the old client’s probe under way and never reschedules it', async () => {
      await started();
      let answer!: () => void;
      a.next = () => new Promise<void>((resolve) => (answer = resolve));
      clock.advance(1000);
      await flush();
      expect(a.probes).toBe(2);
      const a2 = new ScriptedVault('a');
      monitor.setVaults([{ client: a2, intervalMs: 1000 }]);
      expect(a.lastSignal?.aborted).toBe(true);
      answer();
      await flush();
      // One probe schedule for vault a: the new client's, once per interval.
      for (let i = 0; i < 3; i++) {
        clock.advance(1000);
        await flush();
      }
      expect(a.probes).toBe(2);
      expect(a2.probes).toBe(3);
      expect(b.probes).toBe(1);
      expect(monitor.snapshot().map((s) => s.name)).toEqual(['a']);
    });

    it('starts a new vault unknown and probes it; the others are left alone', async () => {
      await started();
      const c = new ScriptedVault('c');
      monitor.setVaults([{ client: a, intervalMs: 1000 }, { client: b, intervalMs: 5000 }, { client: c, intervalMs: 1000 }]);
      expect(monitor.wire()[2]).toEqual({ name: 'c', healthy: false });
      clock.advance(0);
      await flush();
      expect([a.probes, b.probes, c.probes]).toEqual([1, 1, 1]);
      expect(changes.map(([now]) => [now.name, now.healthy])).toEqual([['c', true]]);
    });
  });
});
