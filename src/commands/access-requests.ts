import { GatewayError } from '../shared/index.js';
import { checkNotAborted, type CommandContext } from './command-context.js';
import { ACCESS_RETRY_AFTER_MS, type PendingRequests } from './pending-requests.js';
import type { AccessRequest, AccessRequestState, VaultPort } from './ports.js';

/**
 * Access requests (protocol section 10): what a getPassword with
 * `requestAccess` does when the vault will not release the password, and
 * the gateway's memory of the requests it raised.
 *
 * The vault's answer to the password call decides first (it is the one call
 * every getPassword makes); the memory only keeps a second request from being
 * raised while one waits, and breaks the tie where the vault's answer cannot
 * tell (older builds answer "[Request]" whatever the request's state: then
 * the vault's request list is read). Requests are PAM360's, per API user,
 * so per vault profile: the memory is keyed by vault and account.
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
 * - APPROVAL_PENDING from the vault: remembered, APPROVAL_PENDING (no new request).
 * - APPROVAL_DENIED: for a request remembered, APPROVAL_DENIED (and it is
 *   forgotten); otherwise the decision is an old one, and a new request is raised.
 * - APPROVAL_REQUIRED: a request remembered is looked up in the vault's
 *   list (checkRemembered); none remembered, one is raised.
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
      if (remembered === undefined) return raise(a);
      pending.forget(a.vault, a.accountId, remembered);
      return Promise.reject(err);
    case 'APPROVAL_REQUIRED':
      return remembered === undefined ? raise(a) : checkRemembered(a, remembered);
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
 * Raises a request and answers APPROVAL_PENDING. The memory is claimed
 * before the call, so that commands arriving meanwhile raise no second one;
 * a vault that refused forgets it again, but an abort or a time-out keeps it
 * (the request may have been raised: the next command reads the vault's list).
 */
async function raise(a: AccessAttempt): Promise<never> {
  const { ctx } = a;
  const entry = ctx.pendingRequests.remember(a.vault, a.accountId, undefined);
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
async function checkRemembered(a: AccessAttempt, entry: { requestId: string | undefined }): Promise<never> {
  const { ctx } = a;
  let state: AccessRequestState;
  try {
    checkNotAborted(ctx.signal);
    state = await a.client.accessRequestState(a.accountId, entry.requestId, { signal: ctx.signal, orgName: a.orgName });
  } catch (err) {
    // A list this API user may not read (or cannot be parsed) leaves the memory to decide: still pending.
    if (!ctx.signal.aborted && err instanceof GatewayError && (err.code === 'VAULT_ERROR' || err.code === 'ACCESS_DENIED')) {
      throw pendingError(`request list unavailable: ${err.code}`);
    }
    throw err;
  }
  switch (state) {
    case 'rejected':
    case 'expired':
      ctx.pendingRequests.forget(a.vault, a.accountId);
      throw new GatewayError('APPROVAL_DENIED', 'the vault rejected the access request, or it expired', { detail: `request list: ${state}` });
    case 'none':
    case 'checkedIn':
      // Gone from the list, or used and given back: access now needs a new request.
      ctx.pendingRequests.forget(a.vault, a.accountId);
      return raise(a);
    default:
      throw pendingError(`request list: ${state}`);
  }
}
