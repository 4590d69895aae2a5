import { accessWindowMs, type GetPasswordData, type GetPasswordParams } from '../protocol/index.js';
import { GatewayError } from '../shared/index.js';
import { followAccessRequest } from './access-requests.js';
import { checkNotAborted, lookupVault, type AuditFacts, type CommandContext, type CommandSpec } from './command-context.js';
import type { SealedRecipient, VaultPort } from './ports.js';
import { addressResource, knownResource, lookupResource, mappedOrg, mappedResource, type ResolvedResource } from './resolve-resource.js';

/**
 * getPassword (protocol section 5). Everything that can refuse the command
 * locally runs before the password call, in this order:
 *   1. UNKNOWN_VAULT
 *   2. TICKET_ID_REQUIRED when the profile says requireTicketId (no PMP call at all)
 *   3. BAD_REQUEST for an unusable recipientKey (no PMP call at all)
 *   4. RESOURCE_NOT_MAPPED (the resource attribute, then the organisation
 *      attribute when the profile has orgNameAttribute), then the resource
 *      is resolved in that organisation (RESOURCE_NOT_FOUND; by address
 *      also RESOURCE_AMBIGUOUS)
 *   5. POLICY_DENIED: allow-list, then denied account names — checked on the
 *      account list's metadata so a denied account's password is never
 *      fetched — then the per-account fetch rate
 *   6. the password call; sealed to recipientKey when one was given, in
 *      which case the data has `sealedPassword` and no `password` key.
 *   7. an account behind the vault's access control (section 10): with
 *      `requestAccess`, access-requests.ts raises or follows the request
 *      (APPROVAL_PENDING, APPROVAL_DENIED); without it, a pending or denied
 *      request answers APPROVAL_REQUIRED, as before the extension.
 */
export const getPasswordCommand: CommandSpec<GetPasswordParams> = {
  execute: getPassword,
  audit(params: GetPasswordParams, facts: AuditFacts): void {
    facts.requestedBy = params.requestedBy ?? null;
    facts.ticketId = params.ticketId ?? null;
    if (params.reason !== undefined) facts.reason = params.reason;
    facts.accountId = params.accountId;
    facts.sealed = params.recipientKey !== undefined;
  },
};

// then() chains rather than async functions, so that the steady state waits
// on nothing but the password call (docs/benchmarks.md, "Why the hot path looks as it does").
export function getPassword(params: GetPasswordParams, ctx: CommandContext): Promise<GetPasswordData> {
  try {
    const lease = lookupVault(ctx, params.vault);
    const { profile, client } = lease;
    if (profile.requireTicketId && params.ticketId === undefined) {
      throw new GatewayError('TICKET_ID_REQUIRED', `vault profile "${profile.name}" requires a ticket ID`);
    }
    const recipient = params.recipientKey === undefined ? undefined : ctx.sealer.recipient(params.recipientKey);
    const byAddress = addressResource(params.resource, lease, ctx);
    if (byAddress) {
      const fetch: PasswordFetch = { params, ctx, vault: profile.name, client, recipient, orgName: mappedOrg(params.resource, profile) };
      return byAddress.then((r) => checkAndFetch(fetch, r));
    }
    const ref = mappedResource(params.resource, profile, ctx);
    const orgName = mappedOrg(params.resource, profile);
    const fetch: PasswordFetch = { params, ctx, vault: profile.name, client, recipient, orgName };
    const known = knownResource(ref, ctx.facts);
    if (known) return checkAndFetch(fetch, known);
    return lookupResource(ref, client, ctx, orgName).then((r) => checkAndFetch(fetch, r));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** One getPassword past steps 1-3: what steps 5 and 6 need. */
interface PasswordFetch {
  params: GetPasswordParams;
  ctx: CommandContext;
  /** The vault profile's name. */
  vault: string;
  client: VaultPort;
  recipient: SealedRecipient | undefined;
  /** The command's PAM360 organisation (mappedOrg); undefined: the profile's own. */
  orgName: string | undefined;
}

/** Steps 5 and 6 for a resolved resource (throws a refusal). */
function checkAndFetch(f: PasswordFetch, resource: ResolvedResource): Promise<GetPasswordData> {
  const policy = f.ctx.policy;
  const verdict = policy.resourceAllowed(resource);
  if (verdict === 'no') policy.assertResource(resource);
  if (verdict === 'unknown' || policy.hasDeniedAccounts) {
    return checkListed(f, resource, verdict === 'unknown').then(() => fetchPassword(f, resource));
  }
  return fetchPassword(f, resource);
}

/** The policy checks that need the account list: the resource name (allow-list), the account name (deny list). */
async function checkListed(f: PasswordFetch, resource: ResolvedResource, nameNeeded: boolean): Promise<void> {
  const { ctx, params } = f;
  // Metadata only (the client caches it briefly); needed for the resource
  // name or the account name before deciding to fetch.
  checkNotAborted(ctx.signal);
  const list = await f.client.listAccounts(resource.id, { signal: ctx.signal, orgName: f.orgName });
  if (nameNeeded) ctx.policy.assertResource({ ...resource, name: list.resourceName || resource.name });
  if (ctx.policy.hasDeniedAccounts) {
    const account = list.accounts.find((a) => a.id === params.accountId);
    if (!account) {
      throw new GatewayError('ACCOUNT_NOT_FOUND', `resource ${resource.id} has no account ${params.accountId}`);
    }
    ctx.facts.accountName = account.name;
    ctx.policy.assertAccount(account.name);
  }
}

/** The rate limit, then the password call; the result sealed when a recipientKey was given. */
function fetchPassword(f: PasswordFetch, resource: ResolvedResource): Promise<GetPasswordData> {
  const { ctx, params, recipient } = f;
  checkNotAborted(ctx.signal);
  ctx.policy.takeFetch(f.vault, resource.id, params.accountId);
  const request = { ticketId: params.ticketId, reason: params.reason };
  const refused = params.requestAccess === true ? (err: unknown) => requestAccess(f, resource, err) : withoutRequest;
  return f.client.getPassword(resource.id, params.accountId, request, { signal: ctx.signal, orgName: f.orgName }).then((fetched) => {
    if (params.requestAccess === true) ctx.pendingRequests.forget(f.vault, params.accountId);
    ctx.facts.accountName = fetched.accountName;
    // Metadata may be stale (renamed since it was cached): the name PMP returned counts too.
    ctx.policy.assertAccount(fetched.accountName);
    // The plaintext lives only in `fetched` (scoped to this call) and, unsealed, in the result itself.
    // Two literals, not a spread of the common fields (docs/benchmarks.md, "Why the hot path looks as it does").
    const resourceId = resource.id;
    return recipient
      ? { resourceId, accountId: params.accountId, accountName: fetched.accountName, sealedPassword: recipient.seal(fetched.password) }
      : { resourceId, accountId: params.accountId, accountName: fetched.accountName, password: fetched.password };
  }, refused);
}

/** Step 7 with `requestAccess`: the access request raised or followed (always rejects). */
function requestAccess(f: PasswordFetch, resource: ResolvedResource, err: unknown): Promise<never> {
  const { params, ctx } = f;
  const window = params.accessWindow === undefined ? undefined : accessWindowMs(params.accessWindow);
  // The decoder refuses such a window already; this keeps the types honest.
  if (typeof window === 'string') return Promise.reject(new GatewayError('BAD_REQUEST', window));
  const request = { ticketId: params.ticketId, reason: params.reason, window };
  const attempt = { ctx, client: f.client, vault: f.vault, resourceId: resource.id, accountId: params.accountId, request, orgName: f.orgName };
  return followAccessRequest(attempt, err);
}

/** Step 7 without `requestAccess`: the controller did not ask to follow requests, so it gets the code it always got. */
function withoutRequest(err: unknown): never {
  if (err instanceof GatewayError && (err.code === 'APPROVAL_PENDING' || err.code === 'APPROVAL_DENIED')) {
    throw new GatewayError('APPROVAL_REQUIRED', 'the password must be requested and approved in the vault first', {
      cause: err,
      ...(err.detail === undefined ? {} : { detail: err.detail }),
    });
  }
  throw err;
}
