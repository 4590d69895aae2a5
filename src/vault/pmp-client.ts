import { pino, type Logger } from 'pino';
import { Pool } from './undici-pool.js';
import type { VaultProfile } from '../config/types.js';
import { sleep, systemClock, type Clock } from '../shared/clock.js';
import { GatewayError } from '../shared/errors.js';
import { isTlsVerificationError } from '../tls/trust.js';
import {
  accountDetailsPath,
  accountsPath,
  assertAccountId,
  assertResourceId,
  isPmpId,
  passwordPath,
  passwordQuery,
  PROBE_PATH,
  RESOURCES_PATH,
} from './pmp-paths.js';
import {
  decodeEnvelope,
  expectSuccess,
  parseAccountList,
  parseAccountNotes,
  parsePassword,
  parseResources,
  type ParsedAccount,
  type ParsedAccountList,
  type PmpEnvelope,
} from './pmp-responses.js';
import { DeadlineQueue } from './deadline-queue.js';
import { PmpExchange } from './pmp-exchange.js';
import { TtlCache } from './ttl-cache.js';
import { withSignal, type AbortLike } from '../shared/abort.js';
import type {
  CallOptions,
  FetchedPassword,
  PasswordRequest,
  PmpAccount,
  PmpAccountList,
  PmpResource,
  VaultClient,
} from './types.js';
import { isConnectPhaseError, transportErrorToError, type PmpCall } from './vault-errors.js';
import { VaultTrust } from './vault-trust.js';

/**
 * The PMP/PAM360 REST client of one vault profile, on one undici Pool.
 *
 * - Every request carries the API key in the AUTHTOKEN header (never the
 *   query string) and `orgName` when the profile sets one.
 * - Account metadata (never passwords) is cached for `metadataTtlMs`, so a
 *   password fetch in steady state is one HTTP request.
 * - Only failures before a request was written (connect errors) are retried;
 *   a password call that may have reached PMP is never sent twice (each one
 *   is an audit entry there).
 * - `timeoutMs` bounds each attempt as a whole (trust, a free connection,
 *   the answer) on the injected clock, through one DeadlineQueue timer for
 *   every request in flight; undici's connect, headers and body time-outs
 *   are back-ups. Requests go through undici's dispatch API (PmpExchange):
 *   no stream, timer or AbortController of our own per request.
 * - Logs carry method, path without query, status, duration and error
 *   code: never the key, a password, INPUT_DATA or a body.
 */

export interface VaultClientDeps {
  /**
   * Reads the API key; called once per request (the caller may cache it:
   * the same string again costs no new check or header object).
   */
  readToken: () => Promise<string>;
  /** Default: a silent logger. */
  logger?: Logger;
  /** Default: systemClock. */
  clock?: Clock;
}

/** Waits before the first and second retry of a connect failure (then give up). */
export const CONNECT_RETRY_DELAYS_MS: readonly number[] = [100, 300];

/** Idle keep-alive sockets are kept this long (PMP's Tomcat keeps them 60 s by default). */
const KEEP_ALIVE_MS = 30_000;

const REDACT_PATHS = ['token', 'password', 'headers.AUTHTOKEN', 'headers.authtoken', 'query', '*.token', '*.password'];

export function createVaultClient(profile: VaultProfile, deps: VaultClientDeps): VaultClient {
  return new PmpVaultClient(profile, deps);
}

class PmpVaultClient implements VaultClient {
  readonly name: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly origin: string;
  private readonly trust: VaultTrust;
  private pool: Pool | undefined;
  private poolGeneration = -1;
  private closed = false;
  /** The profile's time-out of every request in flight, on one clock timer. */
  private readonly deadlines: DeadlineQueue;
  /** The token string last read and the request headers made from it. */
  private lastToken: string | undefined;
  private lastHeaders: Readonly<Record<string, string>> | undefined;
  private readonly resources: TtlCache<PmpResource[]>;
  private readonly accountLists: TtlCache<ParsedAccountList>;
  private readonly notes: TtlCache<{ notes: string | undefined }>;

  constructor(
    private readonly profile: VaultProfile,
    private readonly deps: VaultClientDeps,
  ) {
    this.name = profile.name;
    this.clock = deps.clock ?? systemClock;
    // Nothing secret is ever put in a log object; redaction is the second line of defence.
    this.log = (deps.logger ?? pino({ level: 'silent' })).child(
      { vault: profile.name },
      { redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    );
    const url = new URL(profile.url);
    if (url.protocol !== 'https:') throw new TypeError(`vault ${profile.name}: url must start with https://`);
    this.origin = url.origin;
    this.trust = new VaultTrust({
      caFile: profile.caFile,
      pinSha256: profile.pinSha256,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : 443,
      timeoutMs: profile.timeoutMs,
    });
    this.deadlines = new DeadlineQueue(this.clock, profile.timeoutMs);
    this.resources = new TtlCache(this.clock, profile.metadataTtlMs);
    this.accountLists = new TtlCache(this.clock, profile.metadataTtlMs);
    this.notes = new TtlCache(this.clock, profile.metadataTtlMs);
  }

  // ---- the port -------------------------------------------------------------

  async listResources(opts?: CallOptions): Promise<PmpResource[]> {
    const { value } = await this.resources.get('', () => this.fetchResources(), opts?.signal);
    return value.map((r) => ({ ...r }));
  }

  resolveResource(ref: string, opts?: CallOptions): Promise<{ id: string; name: string | undefined }> {
    if (typeof ref !== 'string' || ref.trim() === '') {
      return Promise.reject(new GatewayError('RESOURCE_NOT_FOUND', 'the resource reference is empty'));
    }
    if (/^\d+$/.test(ref)) {
      // An ID needs no call (and is the common case: one per command), so no async frame either.
      try {
        assertResourceId(ref);
      } catch (err) {
        return Promise.reject(err);
      }
      return Promise.resolve({ id: ref, name: undefined });
    }
    return this.resolveResourceName(ref, opts?.signal);
  }

  private async resolveResourceName(ref: string, signal: AbortLike | undefined): Promise<{ id: string; name: string | undefined }> {
    let { value: list, cached } = await this.resources.get('', () => this.fetchResources(), signal);
    let found = matchResource(list, ref);
    if (found === 'none' && cached) {
      list = await this.resources.refresh('', () => this.fetchResources(), signal);
      found = matchResource(list, ref);
    }
    if (found === 'none') throw new GatewayError('RESOURCE_NOT_FOUND', 'the vault has no resource of that name');
    if (found === 'ambiguous') {
      throw new GatewayError('RESOURCE_NOT_FOUND', 'the resource name matches several resources', {
        detail: 'several case-insensitive matches; use the exact name or the ID',
      });
    }
    return { id: found.id, name: found.name };
  }

  async listAccounts(resourceId: string, opts?: CallOptions & { includeNotes?: boolean }): Promise<PmpAccountList> {
    assertResourceId(resourceId);
    const signal = opts?.signal;
    const { value: list } = await this.accountLists.get(resourceId, () => this.fetchAccountList(resourceId), signal);
    const includeNotes = opts?.includeNotes ?? this.profile.includeAccountNotes;
    // Notes can hold what an admin does not want in the cloud: only when asked for.
    const accounts: PmpAccount[] = list.accounts.map((a) => publicAccount(a, includeNotes));
    if (includeNotes) {
      const missing = list.accounts.flatMap((a, i) => (a.notesListed ? [] : [i]));
      await eachBounded(missing, this.profile.notesConcurrency, signal, async (i) => {
        const account = accounts[i] as PmpAccount;
        try {
          account.notes = await this.accountNotes(list.resourceId, account.id, { signal });
        } catch (err) {
          // Removed between the list and the details call: no notes, not a failed list.
          if (!(err instanceof GatewayError && err.code === 'ACCOUNT_NOT_FOUND')) throw err;
        }
      });
    }
    return { resourceId: list.resourceId, resourceName: list.resourceName, accounts };
  }

  async accountNotes(resourceId: string, accountId: string, opts?: CallOptions): Promise<string | undefined> {
    const path = accountDetailsPath(resourceId, accountId);
    const { value } = await this.notes.get(
      `${resourceId}/${accountId}`,
      async () => {
        const env = await this.request('accountDetails', path, undefined, undefined);
        expectSuccess(env, { call: 'accountDetails' });
        return { notes: parseAccountNotes(env) };
      },
      opts?.signal,
    );
    return value.notes;
  }

  async getPassword(resourceId: string, accountId: string, req: PasswordRequest, opts?: CallOptions): Promise<FetchedPassword> {
    assertResourceId(resourceId);
    assertAccountId(accountId);
    const signal = opts?.signal;
    // Steady state: the account list is cached, so no await before the password call.
    const account = this.cachedAccount(resourceId, accountId) ?? (await this.findAccount(resourceId, accountId, signal));
    const ticketId = nonBlank(req.ticketId);
    const reason = nonBlank(req.reason);
    if (account.accessDenied) {
      throw new GatewayError('ACCESS_DENIED', 'the API user may not read this password', { detail: 'PASSWORD STATUS ####' });
    }
    if ((account.ticketIdRequired || this.profile.requireTicketId) && !ticketId) {
      throw new GatewayError('TICKET_ID_REQUIRED', 'a ticket ID is required for this account', {
        detail: account.ticketIdRequired ? 'IS_TICKETID_REQD_MANDATORY' : 'vault profile requireTicketId',
      });
    }
    if (account.reasonRequired && !reason) {
      throw new GatewayError('REASON_REQUIRED', 'a reason is required for this account', { detail: 'ISREASONREQUIRED' });
    }
    const env = await this.request('getPassword', passwordPath(resourceId, accountId), passwordQuery({ ticketId, reason }), signal);
    if (env.status !== 'Success') {
      expectSuccess(env, { call: 'getPassword', account, supplied: { ticketId: ticketId !== undefined, reason: reason !== undefined } });
    }
    return { resourceId, accountId, accountName: account.name, password: parsePassword(env) };
  }

  async probe(opts?: CallOptions): Promise<void> {
    const env = await this.request('probe', PROBE_PATH, undefined, opts?.signal);
    expectSuccess(env, { call: 'probe' });
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    // What is in flight ends with the pool; what has not been dispatched yet sees `closed`.
    this.deadlines.stop();
    this.resources.clear();
    this.accountLists.clear();
    this.notes.clear();
    // Commands are drained before the vault closes; what is left is aborted.
    if (pool) await pool.destroy().catch(() => undefined);
  }

  // ---- metadata -------------------------------------------------------------

  private async fetchResources(): Promise<PmpResource[]> {
    const env = await this.request('listResources', RESOURCES_PATH, undefined, undefined);
    expectSuccess(env, { call: 'listResources' });
    return parseResources(env);
  }

  private async fetchAccountList(resourceId: string): Promise<ParsedAccountList> {
    const env = await this.request('listAccounts', accountsPath(resourceId), undefined, undefined);
    expectSuccess(env, { call: 'listAccounts' });
    return parseAccountList(env, resourceId);
  }

  /** The account from a fresh cached list, without waiting; undefined when that needs a load. */
  private cachedAccount(resourceId: string, accountId: string): ParsedAccount | undefined {
    return this.accountLists.peek(resourceId)?.accounts.find((a) => a.id === accountId);
  }

  /** The account from the cached list; one refresh when it is not there (created since). */
  private async findAccount(resourceId: string, accountId: string, signal: AbortLike | undefined): Promise<ParsedAccount> {
    const load = (): Promise<ParsedAccountList> => this.fetchAccountList(resourceId);
    const { value, cached } = await this.accountLists.get(resourceId, load, signal);
    let account = value.accounts.find((a) => a.id === accountId);
    if (!account && cached) {
      const fresh = await this.accountLists.refresh(resourceId, load, signal);
      account = fresh.accounts.find((a) => a.id === accountId);
    }
    if (!account) throw new GatewayError('ACCOUNT_NOT_FOUND', 'the resource has no such account');
    return account;
  }

  // ---- HTTP -----------------------------------------------------------------

  /**
   * One PMP call: one HTTP exchange under the profile's time-out (counted
   * from before the pool and token are ready, so learning a pinned
   * certificate counts too) and the caller's signal. After a failure,
   * `failed` retries only connect-phase failures (the request was never
   * written) and, in pin mode, one TLS failure after learning a renewed
   * certificate (a failed handshake never carries the request either).
   *
   * Chained with one then() rather than written as async functions: a call
   * in flight holds one promise reaction here and no suspended frame (with
   * 1,000 commands waiting on a slow vault that is memory; on a fast vault,
   * every live object is also copied by each young-generation GC).
   */
  private request(
    call: PmpCall,
    path: string,
    query: string | undefined,
    signal: AbortLike | undefined,
    retries = 0,
    relearned = false,
  ): Promise<PmpEnvelope> {
    if (this.closed) return Promise.reject(new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const ex = new PmpExchange(this.deadlines, signal);
    this.dispatch(ex, query ? `${path}?${query}` : path).catch((err: unknown) => ex.fail(err));
    const onFailure = (err: unknown, status?: number): Promise<PmpEnvelope> =>
      this.failed(call, path, query, signal, retries, relearned, this.exchangeFailed(call, path, status, ex, err, signal));
    return ex.promise.then((answer) => {
      let env: PmpEnvelope;
      try {
        env = decodeEnvelope(answer.status, answer.body);
      } catch (err) {
        // PMP answered: nothing to retry, `failed` only passes the error on.
        return onFailure(err, answer.status);
      }
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ call, method: 'GET', path, status: answer.status, outcome: env.status, durationMs: this.elapsed(ex) }, 'vault request');
      }
      return env;
    }, onFailure);
  }

  /** After a failed exchange: the same request again when that is safe (see request), else the error. */
  private async failed(
    call: PmpCall,
    path: string,
    query: string | undefined,
    signal: AbortLike | undefined,
    retries: number,
    relearned: boolean,
    err: unknown,
  ): Promise<PmpEnvelope> {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof GatewayError) throw err;
    if (isTlsVerificationError(err) && this.trust.mode === 'pin' && !relearned) {
      let changed: boolean;
      try {
        changed = await this.trust.relearn(signal);
      } catch (relearnErr) {
        if (signal?.aborted) throw signal.reason;
        throw transportErrorToError(relearnErr);
      }
      if (changed) return this.request(call, path, query, signal, retries, true);
      relearned = true;
    }
    const delay = CONNECT_RETRY_DELAYS_MS[retries];
    if (delay === undefined || !isConnectPhaseError(err)) throw transportErrorToError(err);
    await sleep(this.clock, delay, signal);
    return this.request(call, path, query, signal, retries + 1, relearned);
  }

  /**
   * Logs a failed exchange and returns what the caller should see next: the
   * signal's reason (aborted), VAULT_TIMEOUT, or the error itself for
   * `failed` to sort.
   */
  private exchangeFailed(call: PmpCall, path: string, status: number | undefined, ex: PmpExchange, err: unknown, signal: AbortLike | undefined): unknown {
    if (signal?.aborted) {
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ call, method: 'GET', path, status, durationMs: this.elapsed(ex) }, 'vault request aborted by caller');
      }
      return signal.reason;
    }
    const mapped = ex.timedOut
      ? new GatewayError('VAULT_TIMEOUT', 'the vault did not answer in time', {
          cause: err,
          detail: `no answer within ${this.profile.timeoutMs} ms`,
        })
      : transportErrorToError(err);
    this.log.warn({ call, method: 'GET', path, status, durationMs: this.elapsed(ex), code: mapped.code, detail: mapped.detail }, 'vault request failed');
    return ex.timedOut ? mapped : err;
  }

  /** Hands the request to undici once the pool and the headers are ready, unless the exchange ended first. */
  private async dispatch(ex: PmpExchange, path: string): Promise<void> {
    const pool = this.readyPool() ?? (await this.currentPool());
    let raw: string;
    try {
      raw = await this.deps.readToken();
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError('VAULT_ERROR', 'the vault API key cannot be read', { cause: err, detail: (err as Error)?.message });
    }
    const headers = this.headersFor(raw);
    if (ex.done) return;
    if (this.closed) throw new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed');
    pool.dispatch({ method: 'GET', path, headers }, ex);
  }

  /** Request headers for the token just read; the same token again reuses them. */
  private headersFor(raw: string): Readonly<Record<string, string>> {
    if (raw === this.lastToken && this.lastHeaders) return this.lastHeaders;
    if (typeof raw !== 'string') throw new GatewayError('VAULT_ERROR', 'the vault API key is empty or malformed');
    const token = raw.trim();
    // A header value with control characters would be refused by undici with an error we do not control.
    if (token === '' || /[\x00-\x1f\x7f]/.test(token)) {
      throw new GatewayError('VAULT_ERROR', 'the vault API key is empty or malformed');
    }
    const headers: Record<string, string> = { AUTHTOKEN: token, accept: 'application/json' };
    if (this.profile.orgName) headers['orgName'] = this.profile.orgName;
    this.lastToken = raw;
    this.lastHeaders = Object.freeze(headers);
    return this.lastHeaders;
  }

  /** The pool when it needs no waiting: built, and trust settled for its generation. */
  private readyPool(): Pool | undefined {
    return this.pool !== undefined && this.poolGeneration === this.trust.generation && this.trust.ready !== undefined ? this.pool : undefined;
  }

  /** The pool for the current trust; rebuilt when a pinned leaf is (re)learned. */
  private async currentPool(): Promise<Pool> {
    const connect = await this.trust.connectOptions();
    if (this.closed) throw new GatewayError('VAULT_UNREACHABLE', 'the vault client is closed');
    if (this.pool && this.poolGeneration === this.trust.generation) return this.pool;
    const old = this.pool;
    this.pool = new Pool(this.origin, {
      connections: this.profile.maxConnections,
      pipelining: 1,
      keepAliveTimeout: KEEP_ALIVE_MS,
      // Back-ups of the client's own time-out (DeadlineQueue), which also covers waiting for a connection.
      headersTimeout: this.profile.timeoutMs,
      bodyTimeout: this.profile.timeoutMs,
      connect: {
        // Built once per trust generation (VaultTrust): never `ca` per connection.
        secureContext: connect.secureContext,
        checkServerIdentity: connect.checkServerIdentity,
        timeout: this.profile.timeoutMs,
      },
    });
    this.poolGeneration = this.trust.generation;
    if (old) old.close().catch(() => undefined);
    return this.pool;
  }

  private elapsed(ex: PmpExchange): number {
    return Math.round(this.clock.monotonic() - (ex.deadline - this.profile.timeoutMs));
  }
}

// ---- helpers ----------------------------------------------------------------

/** Exact name first, then a unique case-insensitive match. */
export function matchResource(list: readonly PmpResource[], name: string): PmpResource | 'none' | 'ambiguous' {
  const exact = list.find((r) => r.name === name);
  if (exact && isPmpId(exact.id)) return exact;
  const lower = name.toLowerCase();
  const loose = list.filter((r) => r.name.toLowerCase() === lower && isPmpId(r.id));
  if (loose.length === 1) return loose[0] as PmpResource;
  return loose.length === 0 ? 'none' : 'ambiguous';
}

function publicAccount(a: ParsedAccount, includeNotes: boolean): PmpAccount {
  return {
    id: a.id,
    passwdId: a.passwdId,
    name: a.name,
    notes: includeNotes ? a.notes : undefined,
    ticketIdRequired: a.ticketIdRequired,
    reasonRequired: a.reasonRequired,
    accessDenied: a.accessDenied,
  };
}

function nonBlank(v: string | undefined): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

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
