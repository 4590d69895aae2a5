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
  it('knows nothing before the first read; concurrent reads share one', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    expect(secret.peek()).toBeUndefined();
    expect(r.calls).toBe(0);
    const a = secret.read();
    const b = secret.read();
    expect(b).toBe(a);
    expect(r.calls).toBe(1);
    expect(secret.peek()).toBeUndefined();
    r.settle('k3y-value');
    await expect(a).resolves.toBe('k3y-value');
  });

  it('after a successful read, peek() gives the value and read() reads no more', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const first = secret.read();
    r.settle('k3y-value');
    await first;
    expect(secret.peek()).toBe('k3y-value');
    await expect(secret.read()).resolves.toBe('k3y-value');
    expect(secret.peek()).toBe('k3y-value');
    expect(r.calls).toBe(1);
  });

  it('does not keep a failed read: the next use reads again', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const first = secret.read();
    r.settle(new Error('ENOENT'));
    await expect(first).rejects.toThrow('ENOENT');
    expect(secret.peek()).toBeUndefined();
    const second = secret.read();
    expect(r.calls).toBe(2);
    r.settle('later');
    await expect(second).resolves.toBe('later');
    expect(secret.peek()).toBe('later');
  });

  it('reads again after forget(), and a read finished after forget() is not kept', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const old = secret.read();
    secret.forget();
    const fresh = secret.read();
    expect(fresh).not.toBe(old);
    expect(r.calls).toBe(2);
    r.settle('old');
    await old;
    // The superseded read must not become the cached value.
    expect(secret.peek()).toBeUndefined();
    expect(secret.read()).toBe(fresh);
    r.settle('new');
    await expect(fresh).resolves.toBe('new');
    expect(secret.peek()).toBe('new');
    secret.forget();
    expect(secret.peek()).toBeUndefined();
    const third = secret.read();
    expect(r.calls).toBe(3);
    r.settle('newer');
    await expect(third).resolves.toBe('newer');
  });

  it('a failed read superseded by forget() does not drop the newer read', async () => {
    const r = manualRead();
    const secret = new CachedSecret(REF, r.read);
    const old = secret.read();
    secret.forget();
    const fresh = secret.read();
    r.settle(new Error('EACCES'));
    await expect(old).rejects.toThrow('EACCES');
    expect(secret.read()).toBe(fresh);
    expect(r.calls).toBe(2);
    r.settle('ok');
    await expect(fresh).resolves.toBe('ok');
  });
});
