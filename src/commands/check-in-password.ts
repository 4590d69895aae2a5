import type { CheckInPasswordData, CheckInPasswordParams } from '../protocol/index.js';
import { checkNotAborted, lookupVault, type AuditFacts, type CommandContext, type CommandSpec } from './command-context.js';
import { resolveCommandResource } from './resolve-resource.js';

/**
 * checkInPassword (protocol section 10): gives an exclusively checked-out
 * password back to the vault when the console session ends.
 *
 * - UNKNOWN_VAULT, RESOURCE_NOT_MAPPED, then the resource resolved (by
 *   attribute or address, RESOURCE_NOT_FOUND, RESOURCE_AMBIGUOUS) and the
 *   account found in it (ACCOUNT_NOT_FOUND), in the resource's organisation,
 *   as for getPassword; then the check-in call.
 * - Idempotent: an account nobody has checked out answers ok. An account
 *   checked out by another user answers CHECKED_OUT.
 * - No local policy: a check-in reveals nothing and only ends access, so
 *   neither the allow-list nor the fetch rate applies.
 * - The access request it ended is forgotten (access-requests.ts): the next
 *   getPassword with requestAccess raises a new one.
 */
export const checkInPasswordCommand: CommandSpec<CheckInPasswordParams> = {
  execute: checkInPassword,
  // Audited like a fetch: who, which ticket, why, which account.
  audit(params: CheckInPasswordParams, facts: AuditFacts): void {
    facts.requestedBy = params.requestedBy ?? null;
    facts.ticketId = params.ticketId ?? null;
    if (params.reason !== undefined) facts.reason = params.reason;
    facts.accountId = params.accountId;
  },
};

export async function checkInPassword(params: CheckInPasswordParams, ctx: CommandContext): Promise<CheckInPasswordData> {
  const lease = lookupVault(ctx, params.vault);
  const { profile, client } = lease;
  const { resource, orgName } = await resolveCommandResource(params.resource, lease, ctx);
  checkNotAborted(ctx.signal);
  await client.checkIn(resource.id, params.accountId, { signal: ctx.signal, orgName });
  ctx.pendingRequests.forget(profile.name, params.accountId);
  return { accountId: params.accountId };
}
