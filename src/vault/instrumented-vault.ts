import { GatewayError } from '../shared/index.js';
import type { Clock } from '../shared/index.js';
import type { AccessRequestInput, CallOptions, ListAccountsOptions, VaultClient } from './types.js';

/** What the daemon learns from every real vault call. */
export interface VaultCallObserver {
  (call: { vault: string; operation: string; outcome: 'ok' | string; durationMs: number; error?: unknown }): void;
}

type Method =
  | 'listResources'
  | 'resolveResource'
  | 'listAccounts'
  | 'accountNotes'
  | 'getPassword'
  | 'requestAccess'
  | 'accessRequestState'
  | 'checkIn'
  | 'probe';

export interface InstrumentedVault extends VaultClient {
  /** Resolves when no call is under way (at once when idle). */
  idle(): Promise<void>;
}

/**
 * Wraps a vault client so every call is observed (metrics, vault health from
 * real traffic) without the command layer knowing, and counts calls under
 * way so a pool replaced by a reload is closed only once they are done.
 * Aborts by the caller's deadline are reported as 'aborted', not as a vault
 * failure.
 */
export function instrumentVault(client: VaultClient, clock: Clock, observe: VaultCallObserver): InstrumentedVault {
  let pending = 0;
  let waiters: Array<() => void> = [];
  const settle = (): void => {
    pending--;
    if (pending === 0) {
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    }
  };
  // Tuned for allocation (then(), no async frame): docs/benchmarks.md#why-the-hot-path-looks-as-it-does
  const wrap =
    <A extends unknown[], R>(operation: Method, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const started = clock.monotonic();
      pending++;
      let call: Promise<R>;
      try {
        call = fn(...args);
      } catch (err) {
        call = Promise.reject(err);
      }
      return call.then(
        (result) => {
          try {
            observe({ vault: client.name, operation, outcome: 'ok', durationMs: clock.monotonic() - started });
          } finally {
            settle();
          }
          return result;
        },
        (err: unknown) => {
          try {
            const opts = args.at(-1) as CallOptions | undefined;
            const outcome = opts?.signal?.aborted ? 'aborted' : err instanceof GatewayError ? err.code : 'INTERNAL';
            observe({ vault: client.name, operation, outcome, durationMs: clock.monotonic() - started, error: err });
          } finally {
            settle();
          }
          throw err;
        },
      );
    };
  return {
    name: client.name,
    listResources: wrap('listResources', (opts?: CallOptions) => client.listResources(opts)),
    resolveResource: wrap('resolveResource', (ref: string, opts?: CallOptions) => client.resolveResource(ref, opts)),
    listAccounts: wrap('listAccounts', (id: string, opts?: ListAccountsOptions) => client.listAccounts(id, opts)),
    accountNotes: wrap('accountNotes', (rid: string, aid: string, opts?: CallOptions) => client.accountNotes(rid, aid, opts)),
    getPassword: wrap('getPassword', (rid: string, aid: string, req: Parameters<VaultClient['getPassword']>[2], opts?: CallOptions) =>
      client.getPassword(rid, aid, req, opts),
    ),
    requestAccess: wrap('requestAccess', (rid: string, aid: string, req: AccessRequestInput, opts?: CallOptions) =>
      client.requestAccess(rid, aid, req, opts),
    ),
    accessRequestState: wrap('accessRequestState', (aid: string, requestId: string | undefined, opts?: CallOptions) =>
      client.accessRequestState(aid, requestId, opts),
    ),
    checkIn: wrap('checkIn', (rid: string, aid: string, opts?: CallOptions) => client.checkIn(rid, aid, opts)),
    probe: wrap('probe', (opts?: CallOptions) => client.probe(opts)),
    close: () => client.close(),
    idle: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}
