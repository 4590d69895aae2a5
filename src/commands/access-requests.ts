import { GatewayError } from '../shared/index.js';
import { checkNotAborted, type CommandContext } from './command-context.js';
import { ACCESS_RETRY_AFTER_MS, type PendingRequest } from './pending-requests.js';
import type { AccessRequest, AccessRequestState, VaultPort } from './ports.js';

/**
 * Access requests (protocol section 10): what a getPassword with
 * `requestAccess` does when the vault will not release the password, and
 * the gateway's memory of the requests it raised.
 *
 * The vault is the truth shared by restarts and by both gateways of a pair:
 * its answer to the password call decides first (it is the one call every
 * getPassword makes), and where that answer cannot tell whether a request
 * waits (approval needed, or "[Request]" whatever the state on older
 * builds) the vault's request list is read before anything is raised. The
 * memory only saves that read while a request is known to wait, and keeps
 * two commands of one gateway from raising two requests at once. Requests
 * are PAM360's, per API user, so per vault profile: the memory is keyed by
 * vault and account.
 */

/** One getPassword with `requestAccess` whose password call was refused. */
export interface AccessAttempt {
  ctx: CommandContext;
  client: VaultPort;
  /** The vault profile's name. */
  vault: string;
  resourceId: string;
  accountId: string;
  request: AccessRequest;
  /** The command's PAM360 organisation (mappedOrg); undefined: the profile's own. */
  orgName: string | undefined;
}

/**
 * What a getPassword with `requestAccess` answers when the password call
 * failed with `err`; always rejects:
 * - a list read or a raise for the account under way (another command):
 *   APPROVAL_PENDING, no call.
 * - APPROVAL_PENDING from the vault: remembered, APPROVAL_PENDING (no new request).
 * - APPROVAL_DENIED: for a request remembered, APPROVAL_DENIED (and it is
 *   forgotten); otherwise the decision is an old one, and a new request is raised.
 * - APPROVAL_REQUIRED: the vault's request list decides (a remembered
 *   request by its ID, else the account's newest): checkRemembered,
 *   lookBeforeRaising.
 * - anything else passes through.
 */
export function followAccessRequest(a: AccessAttempt, err: unknown): Promise<never> {
  if (!(err instanceof GatewayError)) return Promise.reject(err);
  const pending = a.ctx.pendingRequests;
  const remembered = pending.get(a.vault, a.accountId);
  switch (err.code) {
    case 'APPROVAL_PENDING':
      pending.remember(a.vault, a.accountId, undefined);
      return Promise.reject(pendingError(err.detail));
    case 'APPROVAL_DENIED':
      if (remembered?.busy) return Promise.reject(pendingError(undefined));
      if (remembered === undefined) return whileClaimed(a, raise);
      pending.forget(a.vault, a.accountId, remembered);
      return Promise.reject(err);
    case 'APPROVAL_REQUIRED':
      if (remembered?.busy) return Promise.reject(pendingError(undefined));
      if (remembered !== undefined) return whileBusy(remembered, (entry) => checkRemembered(a, entry));
      return whileClaimed(a, lookBeforeRaising);
    default:
      return Promise.reject(err);
  }
}

/** APPROVAL_PENDING with the retry hint. */
function pendingError(detail: string | undefined): GatewayError {
  return new GatewayError('APPROVAL_PENDING', 'an access request for this account waits for approval in the vault', {
    retryAfterMs: ACCESS_RETRY_AFTER_MS,
    ...(detail === undefined ? {} : { detail }),
  });
}

/**
 * Runs `step` with the entry marked busy. The entry is claimed (remembered
 * and marked) synchronously, before any call, so that commands arriving
 * meanwhile make no call of their own.
 */
async function whileBusy(entry: PendingRequest, step: (entry: PendingRequest) => Promise<never>): Promise<never> {
  entry.busy = true;
  try {
    return await step(entry);
  } finally {
    entry.busy = false;
  }
}

/** Remembers the account's request (a fresh entry, or the one kept) and runs `step` with it busy. */
function whileClaimed(a: AccessAttempt, step: (a: AccessAttempt, entry: PendingRequest) => Promise<never>): Promise<never> {
  return whileBusy(a.ctx.pendingRequests.remember(a.vault, a.accountId, undefined), (entry) => step(a, entry));
}

/** Whether `err` says the request list cannot be read by this API user (as opposed to a vault that is down or slow). */
function listUnreadable(ctx: CommandContext, err: unknown): err is GatewayError {
  return !ctx.signal.aborted && err instanceof GatewayError && (err.code === 'VAULT_ERROR' || err.code === 'ACCESS_DENIED');
}

/**
 * Approval needed and nothing remembered (a first request, a restart, the
 * other gateway of the pair): the vault's list says whether a request
 * already waits. Waiting, approved (a window not begun), checked out or a
 * word not known → APPROVAL_PENDING, remembered, nothing raised; none,
 * checked in, rejected or expired → a request is raised. A list this API
 * user may not read cannot tell: one is raised, as before the list was read
 * (a `[Request]`-only vault may then get a second one: docs/protocol.md).
 * Unreachable and time-outs keep their codes, and nothing is remembered.
 */
async function lookBeforeRaising(a: AccessAttempt, entry: PendingRequest): Promise<never> {
  const { ctx } = a;
  let state: AccessRequestState;
  try {
    checkNotAborted(ctx.signal);
    state = await a.client.accessRequestState(a.accountId, undefined, { signal: ctx.signal, orgName: a.orgName });
  } catch (err) {
    if (listUnreadable(ctx, err)) return raise(a, entry);
    // A list read raises nothing: the next command reads again.
    ctx.pendingRequests.forget(a.vault, a.accountId, entry);
    throw err;
  }
  switch (state) {
    case 'none':
    case 'checkedIn':
    case 'rejected':
    case 'expired':
      // No request stands: a decision listed is an old one that no gateway saw pending.
      return raise(a, entry);
    default:
      throw pendingError(`request list: ${state}`);
  }
}

/**
 * Raises a request and answers APPROVAL_PENDING. The entry was claimed
 * before any call (whileBusy); a vault that refused forgets it again, but
 * an abort or a time-out keeps it (the request may have been raised: the
 * next command reads the vault's list).
 */
async function raise(a: AccessAttempt, entry: PendingRequest): Promise<never> {
  const { ctx } = a;
  try {
    checkNotAborted(ctx.signal);
    const raised = await a.client.requestAccess(a.resourceId, a.accountId, a.request, { signal: ctx.signal, orgName: a.orgName });
    entry.requestId ??= raised.requestId;
    ctx.facts.action = 'accessRequested';
  } catch (err) {
    const code = err instanceof GatewayError ? err.code : undefined;
    if (code === 'APPROVAL_PENDING') throw pendingError(err instanceof GatewayError ? err.detail : undefined);
    if (!ctx.signal.aborted && code !== 'VAULT_TIMEOUT') ctx.pendingRequests.forget(a.vault, a.accountId, entry);
    throw err;
  }
  throw pendingError(undefined);
}

/** A remembered request whose password call the vault answered APPROVAL_REQUIRED: its state from the vault's list. */
async function checkRemembered(a: AccessAttempt, entry: PendingRequest): Promise<never> {
  const { ctx } = a;
  let state: AccessRequestState;
  try {
    checkNotAborted(ctx.signal);
    state = await a.client.accessRequestState(a.accountId, entry.requestId, { signal: ctx.signal, orgName: a.orgName });
  } catch (err) {
    // A list this API user may not read (or cannot be parsed) leaves the memory to decide: still pending.
    if (listUnreadable(ctx, err)) throw pendingError(`request list unavailable: ${err.code}`);
    throw err;
  }
  switch (state) {
    case 'rejected':
    case 'expired':
      ctx.pendingRequests.forget(a.vault, a.accountId, entry);
      throw new GatewayError('APPROVAL_DENIED', 'the vault rejected the access request, or it expired', { detail: `request list: ${state}` });
    case 'none':
    case 'checkedIn':
      // Gone from the list, or used and given back: access now needs a new request, under a fresh entry.
      ctx.pendingRequests.forget(a.vault, a.accountId, entry);
      return whileClaimed(a, raise);
    default:
      throw pendingError(`request list: ${state}`);
  }
}
