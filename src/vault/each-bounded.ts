import { withSignal, type AbortLike } from '../shared/index.js';

/** Runs `fn` over `items` with at most `limit` at once; the first failure (or abort) stops new work. */
export async function eachBounded<T>(
  items: readonly T[],
  limit: number,
  signal: AbortLike | undefined,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      if (signal?.aborted) throw signal.reason;
      const item = items[next++] as T;
      try {
        await withSignal(fn(item), signal);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
}
