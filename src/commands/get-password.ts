import type { GetPasswordData, GetPasswordParams } from '../protocol/index.js';
import { GatewayError } from '../shared/errors.js';
import { parseRecipientKey, RecipientKeyError, sealSecret, type RecipientKey } from '../tls/seal.js';
import { checkNotAborted, lookupVault, type CommandContext } from './command-context.js';
import { resolveResource, type ResolvedResource } from './resolve-resource.js';
import type { VaultClient } from '../vault/types.js';

/**
 * getPassword (protocol section 5). Everything that can refuse the command
 * locally runs before the password call, in this order:
 *   1. UNKNOWN_VAULT
 *   2. TICKET_ID_REQUIRED when the profile says requireTicketId (no PMP call at all)
 *   3. BAD_REQUEST for an unusable recipientKey (no PMP call at all)
 *   4. RESOURCE_NOT_MAPPED, then the resource is resolved (RESOURCE_NOT_FOUND)
 *   5. POLICY_DENIED: allow-list, then denied account names — checked on the
 *      account list's metadata so a denied account's password is never
 *      fetched — then the per-account fetch rate
 *   6. the password call; sealed to recipientKey when one was given, in
 *      which case the data has `sealedPassword` and no `password` key.
 */
export function getPassword(params: GetPasswordParams, ctx: CommandContext): Promise<GetPasswordData> {
  try {
    const { profile, client } = lookupVault(ctx, params.vault);
    if (profile.requireTicketId && params.ticketId === undefined) {
      throw new GatewayError('TICKET_ID_REQUIRED', `vault profile "${profile.name}" requires a ticket ID`);
    }
    const recipient = params.recipientKey === undefined ? undefined : recipientKey(params.recipientKey);
    const fetch: PasswordFetch = { params, ctx, vault: profile.name, client, recipient };
    const resource = resolveResource(params.resource, profile, client, ctx.signal, ctx.facts);
    if (resource instanceof Promise) return resource.then((r) => checkAndFetch(fetch, r));
    return checkAndFetch(fetch, resource);
  } catch (err) {
    return Promise.reject(err);
  }
}

/*
 * Written with then() rather than as async functions: in the steady state
 * (the attribute holds an ID, no deny list) nothing waits before the
 * password call, and a command in flight holds no suspended frame here.
 */

/** One getPassword past steps 1-3: what steps 5 and 6 need. */
interface PasswordFetch {
  params: GetPasswordParams;
  ctx: CommandContext;
  /** The vault profile's name. */
  vault: string;
  client: VaultClient;
  recipient: RecipientKey | undefined;
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
  const list = await f.client.listAccounts(resource.id, { signal: ctx.signal });
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
  return f.client.getPassword(resource.id, params.accountId, request, { signal: ctx.signal }).then((fetched) => {
    ctx.facts.accountName = fetched.accountName;
    // Metadata may be stale (renamed since it was cached): the name PMP returned counts too.
    ctx.policy.assertAccount(fetched.accountName);
    // The plaintext lives only in `fetched` (scoped to this call) and, unsealed, in the result itself.
    // Two literals rather than a spread of common fields: a spread followed by a
    // field took V8's slow path and made a new hidden class on every call.
    const resourceId = resource.id;
    return recipient
      ? { resourceId, accountId: params.accountId, accountName: fetched.accountName, sealedPassword: seal(recipient, fetched.password) }
      : { resourceId, accountId: params.accountId, accountName: fetched.accountName, password: fetched.password };
  });
}

/** The key or the password does not suit sealed delivery: the caller's choice of key, so BAD_REQUEST. */
function asBadRequest(err: unknown): unknown {
  return err instanceof RecipientKeyError ? new GatewayError('BAD_REQUEST', err.message) : err;
}

function recipientKey(pem: string): RecipientKey {
  try {
    return parseRecipientKey(pem);
  } catch (err) {
    throw asBadRequest(err);
  }
}

/** Sealed to `key`; a password longer than the key can carry (modulus bytes − 66) is BAD_REQUEST. */
function seal(key: RecipientKey, password: string): string {
  try {
    return sealSecret(key, password);
  } catch (err) {
    throw asBadRequest(err);
  }
}
