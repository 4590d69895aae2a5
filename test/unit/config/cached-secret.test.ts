import { CachedSecret } from '../../../src/config/cached-secret.js';
import type { SecretRef } from '../../../src/config/types.js';

const REF: SecretRef = 'file:///etc/credgw/pmp.token';

/** A read that the test settles by hand, counting calls. */
function manualRead(): { read: (ref: SecretRef) => Promise<string>; calls: number; settle: (v: string | Error) => void } {
  const state = {
    calls: 0,
    pending: [] as Array<{ resolve: (v: string) => void; reject: (e: Error) => void }>,
    read: (_ref: SecretRef): Promise<string> => {
      state.calls++;
      return new Promise<string>((resolve, reject) => state.pending.push({ resolve, reject }));
    },
    settle: (v: string | Error): void => {
      const p = state.pending.shift();
      if (!p) throw new Error('no read pending');
      if (v instanceof Error) p.reject(v);
      else p.resolve(v);
    },
  };
  return state;
}

describe('CachedSecret', () => {
  it('shares the first read, then hands out the string itself (no promise per use)', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const a = secret.get();
    const b = secret.get();
    expect(a).toBeInstanceOf(Promise);
    expect(b).toBe(a);
    expect(r.calls).toBe(1);
    r.settle('k3y-value');
    await expect(a).resolves.toBe('k3y-value');
    expect(secret.get()).toBe('k3y-value');
    expect(r.calls).toBe(1);
  });

  it('does not keep a failed read: the next use reads again', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const first = secret.get();
    r.settle(new Error('ENOENT'));
    await expect(first).rejects.toThrow('ENOENT');
    const second = secret.get();
    expect(r.calls).toBe(2);
    r.settle('later');
    await expect(second).resolves.toBe('later');
    expect(secret.get()).toBe('later');
  });

  it('reads again after forget(), and a read finished after forget() is not kept', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const old = secret.get();
    secret.forget();
    const fresh = secret.get();
    expect(r.calls).toBe(2);
    r.settle('old');
    await old;
    // The superseded read must not become the cached value.
    expect(secret.get()).toBe(fresh);
    r.settle('new');
    await expect(fresh).resolves.toBe('new');
    expect(secret.get()).toBe('new');
    secret.forget();
    expect(secret.get()).toBeInstanceOf(Promise);
    expect(r.calls).toBe(3);
  });
});
