import type { AbortLike } from '../shared/index.js';

/**
 * Lookups of a DNS-name index that wait: each for its address, until a
 * condition of its own holds. The index wakes an address when it files a
 * resource under it, and every waiter when its state changes or a round
 * ends; a woken waiter whose condition does not hold yet keeps waiting.
 */

interface Waiter {
  /** Settles the wait if its condition holds; true when it did. */
  wake(): boolean;
}

export class AddressWaiters {
  private readonly byAddress = new Map<string, Set<Waiter>>();

  /** Addresses someone waits for. */
  addresses(): IterableIterator<string> {
    return this.byAddress.keys();
  }

  /** Resolves once `done()` holds (checked now and at each wake); rejects with the signal's reason on abort. */
  wait(address: string, done: () => boolean, signal: AbortLike | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let set = this.byAddress.get(address);
      if (!set) this.byAddress.set(address, (set = new Set()));
      const waiters = set;
      const leave = (): void => {
        waiters.delete(waiter);
        if (waiters.size === 0 && this.byAddress.get(address) === waiters) this.byAddress.delete(address);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        wake: () => {
          if (!done()) return false;
          leave();
          resolve();
          return true;
        },
      };
      const onAbort = (): void => {
        leave();
        reject(signal?.reason);
      };
      waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiter.wake();
    });
  }

  wake(address: string): void {
    const set = this.byAddress.get(address);
    if (set) for (const w of [...set]) w.wake();
  }

  wakeAll(): void {
    for (const set of [...this.byAddress.values()]) for (const w of [...set]) w.wake();
  }
}
