import type { AccountSummary, ListAccountsData, ListAccountsParams } from '../protocol/index.js';
import { checkNotAborted, lookupVault, type AuditFacts, type CommandContext, type CommandSpec } from './command-context.js';
import type { VaultAccount, VaultAccountList } from './ports.js';
import { resolveCommandResource } from './resolve-resource.js';

/**
 * listAccounts (protocol section 5): the accounts of the mapped PMP resource.
 *
 * - Accounts named in `policy.denyAccounts` are left out of the list: the
 *   console should not offer an account the gateway will never fetch, and
 *   the denial does not need to be visible to the cloud.
 * - With the profile's `includeAccountNotes`, every account carries `notes`
 *   (an empty string when PMP has none, so the shape does not vary per
 *   account); without it, no account has a `notes` key.
 * - `policy.allowResources` applies as it does to getPassword.
 * - Paged (`params.offset`, `params.limit`) over the list the cloud may see,
 *   so that no result outgrows a frame. Without denied accounts that list is
 *   the vault's, and the page is asked of the client alone (which asks the
 *   vault for just that page when it pages, vault/account-pager.ts). With
 *   denied accounts, the page is cut here from the whole list, whose
 *   offsets are not the vault's.
 * - In the resource's organisation when the profile has `orgNameAttribute`
 *   (protocol section 9).
 */
export const listAccountsCommand: CommandSpec<ListAccountsParams> = {
  execute: listAccounts,
  // Nothing beyond the vault: no account, no ticket, no requester.
  audit(_params: ListAccountsParams, _facts: AuditFacts): void {},
};

export async function listAccounts(params: ListAccountsParams, ctx: CommandContext): Promise<ListAccountsData> {
  const lease = lookupVault(ctx, params.vault);
  const { profile, client } = lease;
  const { resource, orgName } = await resolveCommandResource(params.resource, lease, ctx);
  const verdict = ctx.policy.resourceAllowed(resource);
  if (verdict === 'no') ctx.policy.assertResource(resource);
  checkNotAborted(ctx.signal);
  let total = 0;
  let page: readonly VaultAccount[] = [];
  let list: VaultAccountList;
  const options = { signal: ctx.signal, orgName, includeNotes: profile.includeAccountNotes };
  if (ctx.policy.hasDeniedAccounts) {
    // The page is picked from the whole list so that notes are fetched for its accounts only.
    const pick = <A extends VaultAccount>(all: readonly A[]): readonly A[] => {
      const visible = all.filter((a) => !ctx.policy.accountDenied(a.name));
      total = visible.length;
      const picked = visible.slice(params.offset, params.offset + params.limit);
      page = picked;
      return picked;
    };
    list = await client.listAccounts(resource.id, { ...options, pick });
  } else {
    list = await client.listAccounts(resource.id, { ...options, page: { offset: params.offset, limit: params.limit } });
    // A client that gave the whole list (no total) is cut here all the same.
    page = list.totalAccounts === undefined ? list.accounts.slice(params.offset, params.offset + params.limit) : list.accounts;
    total = list.totalAccounts ?? list.accounts.length;
  }
  const resourceName = list.resourceName || resource.name || '';
  // The allow-list may name the resource while the attribute gave its ID: only the list tells the name.
  if (verdict === 'unknown') ctx.policy.assertResource({ ...resource, name: resourceName });
  const end = params.offset + page.length;
  const accounts: AccountSummary[] = [];
  for (const a of page) {
    // Key order as in the protocol's example, so captured frames read the same.
    accounts.push({
      accountId: a.id,
      accountName: a.name,
      ...(profile.includeAccountNotes ? { notes: a.notes ?? '' } : {}),
      ticketIdRequired: a.ticketIdRequired,
      reasonRequired: a.reasonRequired,
    });
  }
  const data: ListAccountsData = { resourceId: resource.id, resourceName, accounts, totalAccounts: total };
  if (end < total) data.nextOffset = end;
  return data;
}
