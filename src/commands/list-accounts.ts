import type { AccountSummary, ListAccountsData, ListAccountsParams } from '../protocol/index.js';
import { checkNotAborted, lookupVault, type AuditFacts, type CommandContext, type CommandSpec } from './command-context.js';
import type { VaultAccount } from './ports.js';
import { addressResource, knownResource, lookupResource, mappedResource, type ResolvedResource } from './resolve-resource.js';

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
 *   so that no result outgrows a frame. The vault client fetches the whole
 *   list (cached for metadataTtlMs) and the page is cut here; if the vault
 *   call learns to page, only the fetch changes, not the page's shape.
 */
export const listAccountsCommand: CommandSpec<ListAccountsParams> = {
  execute: listAccounts,
  // Nothing beyond the vault: no account, no ticket, no requester.
  audit(_params: ListAccountsParams, _facts: AuditFacts): void {},
};

export async function listAccounts(params: ListAccountsParams, ctx: CommandContext): Promise<ListAccountsData> {
  const lease = lookupVault(ctx, params.vault);
  const { profile, client } = lease;
  const byAddress = addressResource(params.resource, lease, ctx);
  let resource: ResolvedResource;
  if (byAddress) resource = await byAddress;
  else {
    const ref = mappedResource(params.resource, profile, ctx);
    resource = knownResource(ref, ctx.facts) ?? (await lookupResource(ref, client, ctx));
  }
  const verdict = ctx.policy.resourceAllowed(resource);
  if (verdict === 'no') ctx.policy.assertResource(resource);
  checkNotAborted(ctx.signal);
  // The page is picked from the whole list so that notes are fetched for its accounts only.
  let total = 0;
  let page: readonly VaultAccount[] = [];
  const pick = <A extends VaultAccount>(all: readonly A[]): readonly A[] => {
    const visible = all.filter((a) => !ctx.policy.accountDenied(a.name));
    total = visible.length;
    const picked = visible.slice(params.offset, params.offset + params.limit);
    page = picked;
    return picked;
  };
  const list = await client.listAccounts(resource.id, { signal: ctx.signal, includeNotes: profile.includeAccountNotes, pick });
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
