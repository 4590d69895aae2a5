import type { ResultDelivery, ResultMessage } from '../protocol/index.js';
import type { AbortLike, AuditEvent } from '../shared/index.js';

export type { AuditEvent };

/**
 * The narrow ports the command layer needs, in its own terms. The daemon
 * hands in the real ones (the vault set and its clients, the sealer of
 * tls/, the HA role, the link's sessions, the audit trail); unit tests hand
 * in fakes. Nothing here is a concrete class.
 */

/**
 * The vault profiles and their clients, taken per command so a config
 * reload can swap them. A command holds what it took until it has finished:
 * a reload closes a replaced client only once no command holds it.
 */
export interface VaultRegistry {
  acquire(name: string): VaultLease | undefined;
}

/** One vault profile and its client, held by a command until `release()` (exactly once). */
export interface VaultLease {
  readonly profile: CommandProfile;
  readonly client: VaultPort;
  /** The profile's index of resources by address, when its resourceMatch lists hostName or ipAddress. */
  readonly addressIndex?: AddressIndex | null | undefined;
  release(): void;
}

/** A way to find the PMP resource of a command (protocol section 9). */
export type ResourceMatchWay = 'attribute' | 'hostName' | 'ipAddress';

/** The settings of a vault profile (config `vaults[]`) that the commands read. */
export interface CommandProfile {
  /** The profile's name, as commands give it in `params.vault`. */
  readonly name: string;
  /** The custom attribute of a cloud resource that holds the PMP resource ID or name. */
  readonly resourceIdAttribute: string;
  /** listAccounts gives each account's notes. */
  readonly includeAccountNotes: boolean;
  /** getPassword without a ticket ID is refused before the vault is called. */
  readonly requireTicketId: boolean;
  /** The ways to find a command's resource, in order: the first the command carries a value for decides. */
  readonly resourceMatch: readonly ResourceMatchWay[];
  /**
   * The custom attribute of a cloud resource that names its PAM360
   * organisation, sent as the call's orgName (protocol section 9); null when
   * the profile's own organisation setting applies.
   */
  readonly orgNameAttribute: string | null;
}

/**
 * The vault's resources by DNS NAME (protocol section 9): the one resource
 * whose DNS NAME is a host name or IP address. Rejects with
 * RESOURCE_NOT_FOUND, RESOURCE_AMBIGUOUS, a vault code, or the signal's
 * reason.
 */
export interface AddressIndex {
  lookup(address: string, opts: VaultCallOptions): Promise<{ id: string; name: string }>;
}

/**
 * The vault calls the commands make. Every call rejects only with a
 * GatewayError (protocol section 7); an abort through `signal` rejects with
 * the signal's reason unchanged, so the command's deadline propagates.
 */
export interface VaultPort {
  /** A resource by ID (digits) or by name (anything else); RESOURCE_NOT_FOUND when the vault has none. */
  resolveResource(ref: string, opts: VaultCallOptions): Promise<{ id: string; name: string | undefined }>;
  /** The accounts of a resource; with `includeNotes`, the notes of the accounts `pick` keeps. */
  listAccounts(resourceId: string, opts: AccountListOptions): Promise<VaultAccountList>;
  /**
   * The password of an account (after the vault's own checks of its flags:
   * ticket ID, reason, access). An account behind access control rejects
   * with APPROVAL_REQUIRED (no request), APPROVAL_PENDING (one waits),
   * APPROVAL_DENIED (rejected or expired) or CHECKED_OUT (held by another user).
   */
  getPassword(resourceId: string, accountId: string, request: PasswordRequest, opts: VaultCallOptions): Promise<VaultPassword>;
  /**
   * Raises an access request for the account (protocol section 10), after
   * the same flag checks as getPassword. A vault that says one is already
   * open rejects with APPROVAL_PENDING.
   */
  requestAccess(resourceId: string, accountId: string, request: AccessRequest, opts: VaultCallOptions): Promise<RaisedRequest>;
  /** The state of the API user's request `requestId` for the account (else its newest), as the vault lists it. */
  accessRequestState(accountId: string, requestId: string | undefined, opts: VaultCallOptions): Promise<AccessRequestState>;
  /** Checks the account's password in; resolves when nothing is checked out; CHECKED_OUT when another user holds it. */
  checkIn(resourceId: string, accountId: string, opts: VaultCallOptions): Promise<void>;
}

/** An access request as the vault raises it. */
export interface AccessRequest {
  ticketId: string | undefined;
  reason: string | undefined;
  /** The window asked for (ms since the epoch); undefined: now. */
  window: { startMs: number; endMs: number } | undefined;
}

export interface RaisedRequest {
  /** The vault's ID of the request, when its answer gives one. */
  readonly requestId: string | undefined;
}

/**
 * A request's state in the vault: `none` when the vault lists no request
 * for the account, `unknown` when it words the state in a way credgw does
 * not recognise.
 */
export type AccessRequestState = 'pending' | 'approved' | 'checkedOut' | 'checkedIn' | 'rejected' | 'expired' | 'none' | 'unknown';

export interface VaultCallOptions {
  /** The command's deadline and fencing: aborting rejects the call with the signal's reason. */
  signal: AbortLike;
  /** The PAM360 organisation of the call (the resource's orgNameAttribute value); undefined: the profile's own. */
  orgName?: string | undefined;
}

export interface AccountListOptions extends VaultCallOptions {
  /** Fill in each picked account's notes. Default: the profile's includeAccountNotes. */
  includeNotes?: boolean;
  /** The accounts the command will use, picked from the whole list (a page); only those get their notes. Default: all. */
  pick?: <A extends VaultAccount>(accounts: readonly A[]) => readonly A[];
  /**
   * Only this page of the vault's list (not with `pick`): the vault may be
   * asked for it alone, and the answer then carries `totalAccounts`.
   */
  page?: { offset: number; limit: number } | undefined;
}

export interface VaultAccount {
  /** The ID the vault's URLs use. */
  readonly id: string;
  readonly name: string;
  /** The account's notes when asked for and known. */
  readonly notes: string | undefined;
  readonly ticketIdRequired: boolean;
  readonly reasonRequired: boolean;
}

export interface VaultAccountList {
  /** The resource's name as the vault lists it. */
  readonly resourceName: string;
  readonly accounts: readonly VaultAccount[];
  /** With `page`: how many accounts the resource has (absent: `accounts` is the whole list). */
  readonly totalAccounts?: number | undefined;
}

export interface PasswordRequest {
  ticketId: string | undefined;
  reason: string | undefined;
}

export interface VaultPassword {
  /** The account's name as the vault returned it with the password. */
  readonly accountName: string;
  readonly password: string;
}

/**
 * Sealed delivery (protocol section 5, `recipientKey`): the daemon hands in
 * tls/'s RSA-OAEP sealer.
 */
export interface Sealer {
  /**
   * The recipient of `pem` once the key is checked; a key that cannot be
   * used throws a GatewayError BAD_REQUEST with a stable message.
   */
  recipient(pem: string): SealedRecipient;
}

export interface SealedRecipient {
  /**
   * `secret` sealed to this recipient (base64). A secret the key cannot
   * carry throws a GatewayError BAD_REQUEST whose message holds neither the
   * secret nor its length.
   */
  seal(secret: string): string;
}

/** The gateway's role as the commands see it (protocol section 4). */
export interface ServingRole {
  /** 'unknown' until the first welcome, and from the moment the link to the controller is lost. A resigning gateway is 'standby'. */
  role: 'active' | 'standby' | 'unknown';
  /** The epoch of the current grant; null when none is known. */
  epoch: number | null;
}

/** The role and epoch commands are fenced against; the daemon implements it with the HA role machine. */
export interface RolePort {
  current(): ServingRole;
  /** Whether a command of `epoch` may execute now: the gateway is active at exactly that epoch (protocol section 4). */
  mayServe(epoch: number): boolean;
}

/** One controller connection: results go back only on the connection a command came in on. */
export interface ReplyPort {
  /**
   * Sends a result: 'sent'; 'replaced' by RESULT_TOO_LARGE when it would not
   * fit in a frame; 'gone' when the connection is (the result is dropped,
   * the controller owns retries).
   */
  sendResult(message: ResultMessage): ResultDelivery;
}

export interface AuditSink {
  record(event: AuditEvent): void;
}
