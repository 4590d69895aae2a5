import { pino, type Logger } from 'pino';
import type { VaultProfile } from '../config/index.js';
import { type Clock, GatewayError, systemClock } from '../shared/index.js';
import { AccountPager, cutPage, type AccountPage, type PageTarget } from './account-pager.js';
import { callOrg } from './call-org.js';
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
  type PmpEnvelope,
} from './pmp-responses.js';
import { PmpTransport } from './pmp-transport.js';
import { MetadataCaches } from './metadata-caches.js';
import { PmpAccessCalls } from './pmp-access-calls.js';
import { checkAccountFlags } from './account-flags.js';
import type { AbortLike } from '../shared/index.js';
import { eachBounded } from './each-bounded.js';
import { matchResource } from './match-resource.js';
import type {
  AccessRequestInput,
  AccessRequestState,
  AccountPageRequest,
  CallOptions,
  FetchedPassword,
  ListAccountsOptions,
  ListResourcesOptions,
  PasswordRequest,
  PmpAccount,
  PmpAccountList,
  PmpResource,
  RaisedAccessRequest,
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
 *   password fetch in steady state is one HTTP request. Entries are per
 *   organisation (CallOptions.orgName): an MSP's tenants never share them.
 * - A listAccounts page is asked of the vault alone when it pages
 *   (account-pager.ts), else cut from the cached whole list.
 * - Only failures before a request was written (connect errors) are retried;
 *   a password call that may have reached PMP is never sent twice (each one
 *   is an audit entry there).
 */

/** Re-exported for test/unit/vault (they moved to files of their own). */
export { eachBounded, matchResource };

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

const REDACT_PATHS = [
  'token',
  'password',
  'headers.AUTHTOKEN',
  'headers.authtoken',
  'headers.APP_AUTHTOKEN',
  'headers.app_authtoken',
  'query',
  '*.token',
  '*.password',
];

/** The client of one profile; it is also the ResourceDirectory its DNS-name index reads, and its metadata caches are what rotation events read and drop. */
export function createVaultClient(profile: VaultProfile, deps: VaultClientDeps): VaultClient & ResourceDirectory & { readonly metadata: VaultMetadataCache } {
  return new PmpVaultClient(profile, deps);
}

class PmpVaultClient implements VaultClient, ResourceDirectory {
  readonly name: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly http: PmpTransport;
  /** Its metadata caches; rotation events read IDs from them and drop a rotated resource's entries. */
  readonly metadata: MetadataCaches;
  private readonly pager: AccountPager;
  private readonly access: PmpAccessCalls;

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
    this.metadata = new MetadataCaches(this.clock, profile.metadataTtlMs);
    this.pager = new AccountPager({
      fetch: (target, query) => this.fetchAccounts(target.resourceId, target.orgName, query),
      log: this.log,
    });
    this.access = new PmpAccessCalls({
      request: (req) => this.http.request(req),
      findAccount: (rid, aid, org, signal) => this.findAccount(rid, aid, org, signal),
      profile,
    });
  }

  // ---- the port -------------------------------------------------------------

  async listResources(opts?: ListResourcesOptions): Promise<PmpResource[]> {
    const org = this.orgOf(opts);
    const load = (): Promise<PmpResource[]> => this.fetchResources(org);
    const value = opts?.fresh
      ? await this.metadata.resources.refresh(scoped(org, ''), load, opts.signal)
      : (await this.metadata.resources.get(scoped(org, ''), load, opts?.signal)).value;
    return value.map((r) => ({ ...r }));
  }

  /**
   * From a fresh cached account list when there is one; else one
   * account-list call whose answer is not cached: the index reads every
   * resource once, and 10,000 account lists are no cache's business.
   */
  async resourceDnsName(resourceId: string, opts?: CallOptions): Promise<string | undefined> {
    assertResourceId(resourceId);
    const org = this.orgOf(opts);
    const cached = this.metadata.accountLists.peek(scoped(org, resourceId));
    if (cached) return cached.dnsName;
    const env = await this.http.request({ call: 'listAccounts', path: accountsPath(resourceId), orgName: org, signal: opts?.signal });
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
    const org = this.orgOf(opts);
    const load = (): Promise<PmpResource[]> => this.fetchResources(org);
    let { value: list, cached } = await this.metadata.resources.get(scoped(org, ''), load, signal);
    let found = matchResource(list, ref);
    if (found === 'none' && cached) {
      list = await this.metadata.resources.refresh(scoped(org, ''), load, signal);
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
    const org = this.orgOf(opts);
    const includeNotes = opts?.includeNotes ?? this.profile.includeAccountNotes;
    if (opts?.page) {
      if (opts.pick) throw new TypeError('listAccounts takes page or pick, not both');
      const page = await this.accountPage(resourceId, org, opts.page, signal);
      const accounts = page.accounts.map((a) => publicAccount(a, includeNotes));
      if (includeNotes) await this.fillNotes(page.resourceId, page.accounts, accounts, null, org, signal);
      return { resourceId: page.resourceId, resourceName: page.resourceName, accounts, totalAccounts: page.total };
    }
    const { value: list } = await this.metadata.accountLists.get(scoped(org, resourceId), () => this.fetchAccountList(resourceId, org), signal);
    // Notes can hold what an admin does not want in the cloud: only when asked for.
    const accounts: PmpAccount[] = list.accounts.map((a) => publicAccount(a, includeNotes));
    const picked = opts?.pick ? opts.pick(accounts) : accounts;
    if (includeNotes) await this.fillNotes(list.resourceId, list.accounts, accounts, picked === accounts ? null : new Set(picked), org, signal);
    return { resourceId: list.resourceId, resourceName: list.resourceName, accounts };
  }

  /** Notes of the `wanted` accounts (null: all) that the list did not carry, by bounded details calls. */
  private async fillNotes(
    resourceId: string,
    parsed: readonly ParsedAccount[],
    accounts: PmpAccount[],
    wanted: ReadonlySet<PmpAccount> | null,
    org: string | null,
    signal: AbortLike | undefined,
  ): Promise<void> {
    const missing = accounts.filter((a, i) => !parsed[i]!.notesListed && (wanted === null || wanted.has(a)));
    await eachBounded(missing, this.profile.notesConcurrency, signal, async (account) => {
      try {
        account.notes = await this.accountNotes(resourceId, account.id, { signal, orgName: org });
      } catch (err) {
        // Removed between the list and the details call: no notes, not a failed list.
        if (!(err instanceof GatewayError && err.code === 'ACCOUNT_NOT_FOUND')) throw err;
      }
    });
  }

  /** One page: cut from a fresh whole list, else asked of the vault when it pages, else cut from the whole list loaded. */
  private async accountPage(resourceId: string, org: string | null, req: AccountPageRequest, signal: AbortLike | undefined): Promise<AccountPage> {
    const { offset, limit } = req;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(limit) || limit < 1) {
      throw new GatewayError('BAD_REQUEST', 'a page needs an integer offset >= 0 and limit >= 1');
    }
    const key = scoped(org, resourceId);
    const whole = this.metadata.accountLists.peek(key);
    if (whole) return cutPage(whole, offset, limit);
    if (this.profile.accountPaging === 'off' || this.pager.state === 'none') {
      const { value } = await this.metadata.accountLists.get(key, () => this.fetchAccountList(resourceId, org), signal);
      return cutPage(value, offset, limit);
    }
    const target: PageTarget = { resourceId, orgName: org };
    const { value } = await this.metadata.pages.get(
      `${key}@${offset}+${limit}`,
      async () => {
        const answer = await this.pager.page(target, offset, limit);
        if (answer.whole) this.metadata.accountLists.set(key, answer.whole);
        return answer.page;
      },
      signal,
    );
    return value;
  }

  async accountNotes(resourceId: string, accountId: string, opts?: CallOptions): Promise<string | undefined> {
    const path = accountDetailsPath(resourceId, accountId);
    const orgName = this.orgOf(opts);
    const { value } = await this.metadata.notes.get(
      scoped(orgName, `${resourceId}/${accountId}`),
      async () => {
        const env = await this.http.request({ call: 'accountDetails', path, orgName });
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
      const org = this.orgOf(opts);
      const account = this.cachedAccount(scoped(org, resourceId), accountId);
      if (account) return this.fetchPassword(account, resourceId, accountId, req, org, signal);
      return this.findAccount(resourceId, accountId, org, signal).then((found) => this.fetchPassword(found, resourceId, accountId, req, org, signal));
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
    orgName: string | null,
    signal: AbortLike | undefined,
  ): Promise<FetchedPassword> {
    const { ticketId, reason } = checkAccountFlags(account, req, this.profile.requireTicketId);
    const path = passwordPath(resourceId, accountId);
    return this.http.request({ call: 'getPassword', path, query: passwordQuery({ ticketId, reason }), orgName, signal }).then((env) => {
      if (env.status !== 'Success') {
        expectSuccess(env, { call: 'getPassword', account, supplied: { ticketId: ticketId !== undefined, reason: reason !== undefined } });
      }
      return { resourceId, accountId, accountName: account.name, password: parsePassword(env) };
    });
  }

  // PAM360 access control (protocol section 10), in pmp-access-calls.ts.
  requestAccess(resourceId: string, accountId: string, req: AccessRequestInput, opts?: CallOptions): Promise<RaisedAccessRequest> {
    return this.access.requestAccess(resourceId, accountId, req, opts);
  }
  accessRequestState(accountId: string, requestId: string | undefined, opts?: CallOptions): Promise<AccessRequestState> {
    return this.access.accessRequestState(accountId, requestId, opts);
  }
  checkIn(resourceId: string, accountId: string, opts?: CallOptions): Promise<void> {
    return this.access.checkIn(resourceId, accountId, opts);
  }

  async probe(opts?: CallOptions): Promise<void> {
    const env = await this.http.request({ call: 'probe', path: PROBE_PATH, orgName: this.orgOf(opts), signal: opts?.signal });
    expectSuccess(env, { call: 'probe' });
  }

  async close(): Promise<void> {
    this.metadata.clear();
    // Commands are drained before the vault closes; what is left is aborted.
    await this.http.close();
  }

  // ---- metadata -------------------------------------------------------------

  /** The organisation of a call (call-org.ts). */
  private orgOf(opts: CallOptions | undefined): string | null {
    return callOrg(opts, this.profile.orgName);
  }

  private async fetchResources(orgName: string | null): Promise<PmpResource[]> {
    const env = await this.http.request({ call: 'listResources', path: RESOURCES_PATH, orgName });
    expectSuccess(env, { call: 'listResources' });
    return parseResources(env);
  }

  /** One account-list call: the whole list (`query` undefined) or a page; shared by every caller waiting on it (TtlCache), so no caller's signal. */
  private fetchAccounts(resourceId: string, orgName: string | null, query: string | undefined): Promise<PmpEnvelope> {
    return this.http.request({ call: 'listAccounts', path: accountsPath(resourceId), query, orgName });
  }

  private async fetchAccountList(resourceId: string, orgName: string | null): Promise<ParsedAccountList> {
    const env = await this.fetchAccounts(resourceId, orgName, undefined);
    expectSuccess(env, { call: 'listAccounts' });
    return parseAccountList(env, resourceId);
  }

  /** The account from a fresh cached list (`key`: scoped()), without waiting; undefined when that needs a load. */
  private cachedAccount(key: string, accountId: string): ParsedAccount | undefined {
    return this.metadata.accountLists.peek(key)?.accounts.find((a) => a.id === accountId);
  }

  /** The account from the cached list; one refresh when it is not there (created since). */
  private async findAccount(resourceId: string, accountId: string, org: string | null, signal: AbortLike | undefined): Promise<ParsedAccount> {
    const load = (): Promise<ParsedAccountList> => this.fetchAccountList(resourceId, org);
    const key = scoped(org, resourceId);
    const { value, cached } = await this.metadata.accountLists.get(key, load, signal);
    let account = value.accounts.find((a) => a.id === accountId);
    if (!account && cached) {
      const fresh = await this.metadata.accountLists.refresh(key, load, signal);
      account = fresh.accounts.find((a) => a.id === accountId);
    }
    if (!account) throw new GatewayError('ACCOUNT_NOT_FOUND', 'the resource has no such account');
    return account;
  }
}

// ---- helpers ----------------------------------------------------------------

/** A cache key of one organisation: the key itself without one (the common case: no string built). */
function scoped(org: string | null, key: string): string {
  return org === null ? key : `${org}\u0000${key}`;
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
