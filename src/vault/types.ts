import type { AbortLike } from '../shared/index.js';
/**
 * What the rest of credgw sees of a vault: a PMP/PAM360 client per profile.
 * Every method rejects only with GatewayError (codes of protocol section 7);
 * an abort through `signal` rejects with the signal's reason unchanged, so
 * the caller's deadline propagates.
 */

export interface PmpResource {
  id: string;
  name: string;
  type: string | undefined;
  description: string | undefined;
  dnsName: string | undefined;
}

export interface PmpAccount {
  /** ACCOUNT ID: what URLs use. */
  id: string;
  /** PASSWDID (usually equal to id, not always). */
  passwdId: string;
  name: string;
  /** Notes when known (ACCOUNT_DESCRIPTION or the details call), else undefined. */
  notes: string | undefined;
  /** IS_TICKETID_REQD and IS_TICKETID_REQD_MANDATORY both "true". */
  ticketIdRequired: boolean;
  /** ISREASONREQUIRED (or PASSWORDREQUEST_REASON_MANDATORY) "true". */
  reasonRequired: boolean;
  /** PASSWORD STATUS "####": this API user may not read the password. */
  accessDenied: boolean;
}

export interface PmpAccountList {
  resourceId: string;
  resourceName: string;
  /** Every account, or with `ListAccountsOptions.page` the accounts of that page. */
  accounts: PmpAccount[];
  /** With `ListAccountsOptions.page`: how many accounts the resource has. */
  totalAccounts?: number;
}

/** A page of a resource's accounts in the vault's order: [offset, offset + limit). */
export interface AccountPageRequest {
  /** Integer >= 0. */
  offset: number;
  /** Integer >= 1. */
  limit: number;
}

export interface PasswordRequest {
  ticketId?: string | undefined;
  reason?: string | undefined;
}

/** An access request as the vault is asked to raise it (PAM360 access control, protocol section 10). */
export interface AccessRequestInput {
  ticketId?: string | undefined;
  reason?: string | undefined;
  /** When the access is wanted (ms since the epoch); absent: now. */
  window?: { startMs: number; endMs: number } | undefined;
}

/** What the vault said when a request was raised (its answer's keys are unconfirmed: both may be absent). */
export interface RaisedAccessRequest {
  /** The vault's request ID, when its answer carries one. */
  requestId: string | undefined;
  /** The request's state as the answer gives it, when it does. */
  state: AccessRequestState | undefined;
}

/**
 * An access request's state as the vault reports it: waiting for an
 * approver, approved (the password is released), checked out (an exclusive
 * password held), checked in (given back), rejected, expired (not approved
 * in time, or its window over); `none` when the vault lists no such
 * request; `unknown` when it words the state in a way credgw does not recognise.
 */
export type AccessRequestState = 'pending' | 'approved' | 'checkedOut' | 'checkedIn' | 'rejected' | 'expired' | 'none' | 'unknown';

export interface FetchedPassword {
  resourceId: string;
  accountId: string;
  accountName: string;
  password: string;
}

export interface CallOptions {
  /** The caller's deadline; aborting rejects with the signal's reason. */
  signal?: AbortLike | undefined;
  /**
   * The PAM360 organisation of this call, sent as the orgName header (a
   * resource's `orgNameAttribute` value); null for no header. Default: the
   * profile's orgName. A value a header cannot carry
   * (shared/header-value.ts) rejects with RESOURCE_NOT_MAPPED. Metadata is
   * cached per organisation: one organisation's lists never answer another's.
   */
  orgName?: string | null | undefined;
}

export interface ListAccountsOptions extends CallOptions {
  /** Notes of each account (default: the profile's includeAccountNotes). */
  includeNotes?: boolean;
  /**
   * The accounts the caller will use, picked from the whole list (a page):
   * only those get the details calls for notes the list lacks, so a page of
   * a 40,000-account resource costs at most a page of calls. Default: all.
   */
  pick?: (accounts: readonly PmpAccount[]) => readonly PmpAccount[];
  /**
   * Only this page of the vault's list (excludes `pick`): asked of the vault
   * with STARTINDEX/LIMIT when it pages (profile `accountPaging` "auto",
   * account-pager.ts), else cut from the whole list; the answer carries
   * `totalAccounts`. Notes are fetched for the page's accounts only.
   */
  page?: AccountPageRequest | undefined;
}

export interface ListResourcesOptions extends CallOptions {
  /** Ask the vault again instead of answering from the metadata cache (the answer refills it). */
  fresh?: boolean;
}

/**
 * What the DNS-name index needs of a vault (dns-index.ts): the resource
 * list and one resource's DNS NAME, which PMP returns only with the
 * resource's account list (shared/reference/pmp-api.md section 2).
 */
export interface ResourceDirectory {
  listResources(opts?: ListResourcesOptions): Promise<PmpResource[]>;
  /** The resource's DNS NAME (undefined when PMP has none); RESOURCE_NOT_FOUND when the resource is gone. */
  resourceDnsName(resourceId: string, opts?: CallOptions): Promise<string | undefined>;
}

export interface VaultClient {
  readonly name: string;
  /** All resources visible to the API user. */
  listResources(opts?: CallOptions): Promise<PmpResource[]>;
  /** A resource by ID (digits) or by name (anything else); RESOURCE_NOT_FOUND when PMP has none. */
  resolveResource(ref: string, opts?: CallOptions): Promise<{ id: string; name: string | undefined }>;
  /** Accounts of a resource; with `includeNotes`, notes filled in (bounded concurrent details calls). */
  listAccounts(resourceId: string, opts?: ListAccountsOptions): Promise<PmpAccountList>;
  /** Notes of one account (the account-details call). */
  accountNotes(resourceId: string, accountId: string, opts?: CallOptions): Promise<string | undefined>;
  /**
   * The password of an account. Checks the account's flags first: ACCOUNT_NOT_FOUND,
   * ACCESS_DENIED (####), TICKET_ID_REQUIRED / REASON_REQUIRED when the caller gave
   * none; then one password call (never re-sent once it may have reached PMP).
   */
  getPassword(resourceId: string, accountId: string, req: PasswordRequest, opts?: CallOptions): Promise<FetchedPassword>;
  /**
   * Raises an access request for an account (PAM360 `requestpassword`), after
   * the same flag checks as getPassword (ACCOUNT_NOT_FOUND, ACCESS_DENIED,
   * TICKET_ID_REQUIRED, REASON_REQUIRED). A vault that says a request is
   * already open rejects with APPROVAL_PENDING; one held by another user, CHECKED_OUT.
   */
  requestAccess(resourceId: string, accountId: string, req: AccessRequestInput, opts?: CallOptions): Promise<RaisedAccessRequest>;
  /**
   * The state of this API user's access request for an account, read from the
   * vault's request list: the request `requestId` when given, else the
   * account's newest; `none` when none is listed.
   */
  accessRequestState(accountId: string, requestId: string | undefined, opts?: CallOptions): Promise<AccessRequestState>;
  /**
   * Checks a password in (ends this API user's check-out of an exclusive
   * account). Resolves when nothing is checked out (check-in is idempotent);
   * CHECKED_OUT when another user holds it.
   */
  checkIn(resourceId: string, accountId: string, opts?: CallOptions): Promise<void>;
  /** A cheap authenticated call; resolves when the vault answers Success. */
  probe(opts?: CallOptions): Promise<void>;
  /** Closes the pool. */
  close(): Promise<void>;
}

/**
 * What a client caches about resources, for rotation events (protocol
 * section 11): the IDs of a resource and account by name when the cache
 * knows them (no vault call), and dropping what is cached about a resource
 * whose password changed.
 */
export interface VaultMetadataCache {
  /** PMP IDs of the resource and account of exactly these names, from fresh cache entries only; undefined where unknown. */
  cachedIds(resourceName: string, accountName: string): { resourceId?: string | undefined; accountId?: string | undefined };
  /** Drops the cached account list and notes of the resource of this name (any case), and loads of them under way. */
  forgetResource(resourceName: string): void;
}
