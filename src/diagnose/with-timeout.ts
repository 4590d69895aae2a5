import type { Clock } from '../shared/index.js';

/**
 * Runs `fn`; rejects with ETIMEDOUT after `ms` on the clock (calling
 * `onTimeout` to release what fn opened). A result that comes after the
 * time-out is destroyed when it can be (a socket).
 */
export function withTimeout<T>(clock: Clock, ms: number, what: string, fn: () => Promise<T>, onTimeout?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = clock.setTimeout(() => {
      if (settled) return;
      settled = true;
      onTimeout?.();
      reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' }));
    }, ms);
    fn().then(
      (v) => {
        clock.clearTimeout(timer);
        if (settled) {
          (v as { destroy?: () => void } | null)?.destroy?.();
          return;
        }
        settled = true;
        resolve(v);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        if (settled) return;
        settled = true;
        reject(err);
      },
    );
  });
}
