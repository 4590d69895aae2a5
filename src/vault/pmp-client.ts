import { pino, type Logger } from 'pino';
import type { VaultProfile } from '../config/types.js';
import { systemClock, type Clock } from '../shared/clock.js';
import { GatewayError } from '../shared/errors.js';
import {
  accountDetailsPath,
  accountsPath,
  assertAccountId,
  assertResourceId,
  passwordPath,
  passwordQuery,
  PROBE_PATH,
  RESOURCES_PATH,
} from './pmp-paths.js';
import {
  expectSuccess,
  parseAccountList,
  parseAccountNotes,
  parsePassword,
  parseResources,
  type ParsedAccount,
  type ParsedAccountList,
} from './pmp-responses.js';
import { PmpTransport } from './pmp-transport.js';
import { isPmpId } from '../shared/pmp-id.js';
import { TtlCache } from './ttl-cache.js';
import { withSignal, type AbortLike } from '../shared/abort.js';
import type {
  CallOptions,
  FetchedPassword,
  ListAccountsOptions,
  ListResourcesOptions,
  PasswordRequest,
  PmpAccount,
  PmpAccountList,
  PmpResource,
  ResourceDirectory,
  VaultClient,
  VaultMetadataCache,
} from './types.js';

/**
 * The PMP/PAM360 REST client of one vault profile: the calls of the
 * VaultClient port on top of one PmpTransport (pmp-transport.ts: the pool,
 * trust, time-out, API key header, retries and logging of each request).
 *
 * - Account metadata (never passwords) is cached for `metadataTtlMs`, so a
 *   password fetch in steady state is one HTTP request.
 * - Only failures before a request was written (connect errors) are retried;
 *   a password call that may have reached PMP is never sent twice (each one
 *   is an audit entry there).
 */

export interface VaultClientDeps {
  /** Reads the API key; called for each request whose key `peekToken` does not give. */
  readToken: () => Promise<string>;
  /**
   * The API key when it is at hand without waiting (the daemon's cached
   * secret), else undefined; must not throw. Default: none, every request
   * waits for `readToken`.
   */
  peekToken?: (() => string | undefined) | undefined;
  /** Default: a silent logger. */
  logger?: Logger;
  /** Default: systemClock. */
  clock?: Clock;
}

const REDACT_PATHS = ['token', 'password', 'headers.AUTHTOKEN', 'headers.authtoken', 'query', '*.token', '*.password'];

/** The client of one profile; it is also the ResourceDirectory its DNS-name index reads. */
export function createVaultClient(profile: VaultProfile, deps: VaultClientDeps): VaultClient & ResourceDirectory & VaultMetadataCache {
  return new PmpVaultClient(profile, deps);
}

class PmpVaultClient implements VaultClient, ResourceDirectory, VaultMetadataCache {
  readonly name: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly http: PmpTransport;
  private readonly resources: TtlCache<PmpResource[]>;
  private readonly accountLists: TtlCache<ParsedAccountList>;
  private readonly notes: TtlCache<{ notes: string | undefined }>;

  constructor(
    private readonly profile: VaultProfile,
    deps: VaultClientDeps,
  ) {
    this.name = profile.name;
    this.clock = deps.clock ?? systemClock;
    // Nothing secret is ever put in a log object; redaction is the second line of defence.
    const parent = deps.logger ?? pino({ level: 'silent' });
    // pino writes a binding again for each child that sets it: `vault` only when the caller's logger has none.
    this.log = parent.child('vault' in parent.bindings() ? {} : { vault: profile.name }, {
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    });
    this.http = new PmpTransport(profile, { readToken: deps.readToken, peekToken: deps.peekToken, log: this.log, clock: this.clock });
    this.resources = new TtlCache(this.clock, profile.metadataTtlMs);
    this.accountLists = new TtlCache(this.clock, profile.metadataTtlMs);
    this.notes = new TtlCache(this.clock, profile.metadataTtlMs);
  }

  // ---- the port -------------------------------------------------------------

  async listResources(opts?: ListResourcesOptions): Promise<PmpResource[]> {
    const load = (): Promise<PmpResource[]> => this.fetchResources();
    const value = opts?.fresh ? await this.resources.refresh('', load, opts.signal) : (await this.resources.get('', load, opts?.signal)).value;
    return value.map((r) => ({ ...r }));
  }

  /**
   * From a fresh cached account list when there is one; else one
   * account-list call whose answer is not cached: the index reads every
   * resource once, and 10,000 account lists are no cache's business.
   */
  async resourceDnsName(resourceId: string, opts?: CallOptions): Promise<string | undefined> {
    assertResourceId(resourceId);
    const cached = this.accountLists.peek(resourceId);
    if (cached) return cached.dnsName;
    const env = await this.http.request({ call: 'listAccounts', path: accountsPath(resourceId), signal: opts?.signal });
    expectSuccess(env, { call: 'listAccounts' });
    return parseAccountList(env, resourceId).dnsName;
  }

  async resolveResource(ref: string, opts?: CallOptions): Promise<{ id: string; name: string | undefined }> {
    if (typeof ref !== 'string' || ref.trim() === '') {
      throw new GatewayError('RESOURCE_NOT_FOUND', 'the resource reference is empty');
    }
    // Digits always mean an ID, never a name (docs/protocol.md): one too long for PMP is refused, not looked up.
    if (/^\d+$/.test(ref)) {
      assertResourceId(ref);
      return { id: ref, name: undefined };
    }
    const signal = opts?.signal;
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

  async listAccounts(resourceId: string, opts?: ListAccountsOptions): Promise<PmpAccountList> {
    assertResourceId(resourceId);
    const signal = opts?.signal;
    const { value: list } = await this.accountLists.get(resourceId, () => this.fetchAccountList(resourceId), signal);
    const includeNotes = opts?.includeNotes ?? this.profile.includeAccountNotes;
    // Notes can hold what an admin does not want in the cloud: only when asked for.
    const accounts: PmpAccount[] = list.accounts.map((a) => publicAccount(a, includeNotes));
    const picked = opts?.pick ? opts.pick(accounts) : accounts;
    if (includeNotes) {
      const wanted = picked === accounts ? null : new Set(picked);
      const missing = accounts.filter((a, i) => !list.accounts[i]!.notesListed && (wanted === null || wanted.has(a)));
      await eachBounded(missing, this.profile.notesConcurrency, signal, async (account) => {
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
        const env = await this.http.request({ call: 'accountDetails', path });
        expectSuccess(env, { call: 'accountDetails' });
        return { notes: parseAccountNotes(env) };
      },
      opts?.signal,
    );
    return value.notes;
  }

  // Tuned for allocation (then(), no async frame): docs/benchmarks.md#why-the-hot-path-looks-as-it-does
  getPassword(resourceId: string, accountId: string, req: PasswordRequest, opts?: CallOptions): Promise<FetchedPassword> {
    try {
      assertResourceId(resourceId);
      assertAccountId(accountId);
      const signal = opts?.signal;
      const account = this.cachedAccount(resourceId, accountId);
      if (account) return this.fetchPassword(account, resourceId, accountId, req, signal);
      return this.findAccount(resourceId, accountId, signal).then((found) => this.fetchPassword(found, resourceId, accountId, req, signal));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The account's flags checked (throws), then the one password call. */
  private fetchPassword(
    account: ParsedAccount,
    resourceId: string,
    accountId: string,
    req: PasswordRequest,
    signal: AbortLike | undefined,
  ): Promise<FetchedPassword> {
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
    const path = passwordPath(resourceId, accountId);
    return this.http.request({ call: 'getPassword', path, query: passwordQuery({ ticketId, reason }), signal }).then((env) => {
      if (env.status !== 'Success') {
        expectSuccess(env, { call: 'getPassword', account, supplied: { ticketId: ticketId !== undefined, reason: reason !== undefined } });
      }
      return { resourceId, accountId, accountName: account.name, password: parsePassword(env) };
    });
  }

  async probe(opts?: CallOptions): Promise<void> {
    const env = await this.http.request({ call: 'probe', path: PROBE_PATH, signal: opts?.signal });
    expectSuccess(env, { call: 'probe' });
  }

  cachedIds(resourceName: string, accountName: string): { resourceId?: string; accountId?: string } {
    // Exact names only: an event must not carry the IDs of another resource that differs in case.
    const resourceId =
      this.resources.peek('')?.find((r) => r.name === resourceName && isPmpId(r.id))?.id ??
      this.accountLists.find((list) => list.resourceName === resourceName)?.resourceId;
    if (resourceId === undefined) return {};
    const accountId = this.accountLists.peek(resourceId)?.accounts.find((a) => a.name === accountName)?.id;
    return accountId === undefined ? { resourceId } : { resourceId, accountId };
  }

  forgetResource(resourceName: string): void {
    // The resource list itself stays: a rotation changes no resource's name, ID or DNS name, and it is the costliest call.
    const lower = resourceName.toLowerCase();
    const ids = new Set((this.resources.peek('') ?? []).filter((r) => r.name.toLowerCase() === lower).map((r) => r.id));
    this.accountLists.deleteWhere((id, list) => {
      const hit = ids.has(id) || list?.resourceName.toLowerCase() === lower;
      if (hit) ids.add(id);
      return hit;
    });
    this.notes.deleteWhere((key) => ids.has(key.slice(0, key.indexOf('/'))));
  }

  async close(): Promise<void> {
    this.resources.clear();
    this.accountLists.clear();
    this.notes.clear();
    // Commands are drained before the vault closes; what is left is aborted.
    await this.http.close();
  }

  // ---- metadata -------------------------------------------------------------

  private async fetchResources(): Promise<PmpResource[]> {
    const env = await this.http.request({ call: 'listResources', path: RESOURCES_PATH });
    expectSuccess(env, { call: 'listResources' });
    return parseResources(env);
  }

  private async fetchAccountList(resourceId: string): Promise<ParsedAccountList> {
    const env = await this.http.request({ call: 'listAccounts', path: accountsPath(resourceId) });
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
