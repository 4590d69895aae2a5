import type { Clock } from '../shared/index.js';
import { isPmpId } from '../shared/index.js';
import type { AccountPage } from './account-pager.js';
import type { ParsedAccountList } from './pmp-responses.js';
import { TtlCache } from './ttl-cache.js';
import type { PmpResource, VaultMetadataCache } from './types.js';

/**
 * The metadata a vault client caches (never passwords), for
 * `metadataTtlMs`: resource lists, account lists, account pages and notes.
 * Keys carry the organisation when one is sent (`<org>\0<key>`): resource
 * lists under `''`, account lists under the resource ID, pages under
 * `<resource ID>@<offset>+<limit>`, notes under `<resource ID>/<account ID>`.
 *
 * It also answers rotation events (protocol section 11), which name a
 * resource and an account but no organisation: the IDs the cache knows for
 * those names, and dropping what is cached about a rotated resource.
 */
export class MetadataCaches implements VaultMetadataCache {
  readonly resources: TtlCache<PmpResource[]>;
  readonly accountLists: TtlCache<ParsedAccountList>;
  readonly pages: TtlCache<AccountPage>;
  readonly notes: TtlCache<{ notes: string | undefined }>;

  constructor(clock: Clock, ttlMs: number) {
    this.resources = new TtlCache(clock, ttlMs);
    this.accountLists = new TtlCache(clock, ttlMs);
    this.pages = new TtlCache(clock, ttlMs);
    this.notes = new TtlCache(clock, ttlMs);
  }

  clear(): void {
    for (const cache of [this.resources, this.accountLists, this.pages, this.notes]) cache.clear();
  }

  cachedIds(resourceName: string, accountName: string): { resourceId?: string; accountId?: string } {
    // Exact names only: an event must not carry the IDs of another resource that differs in case.
    const ids = new Set<string>();
    this.resources.find((list) => {
      for (const r of list) if (r.name === resourceName && isPmpId(r.id)) ids.add(r.id);
      return false;
    });
    // Account lists and pages name their resource too (a command by resource ID caches no resource list).
    for (const cache of [this.accountLists, this.pages]) {
      cache.find((list) => {
        if (list.resourceName === resourceName) ids.add(list.resourceId);
        return false;
      });
    }
    // Two organisations' resources of one name: which one rotated is unknown, so neither ID is sent.
    const [resourceId] = [...ids];
    if (ids.size !== 1 || resourceId === undefined) return {};
    const hasAccount = (l: { resourceId: string; accounts: readonly { name: string }[] }): boolean =>
      l.resourceId === resourceId && l.accounts.some((a) => a.name === accountName);
    const list = this.accountLists.find(hasAccount) ?? this.pages.find(hasAccount);
    const accountId = list?.accounts.find((a) => a.name === accountName)?.id;
    return accountId === undefined ? { resourceId } : { resourceId, accountId };
  }

  forgetResource(resourceName: string): void {
    // The resource lists stay: a rotation changes no resource's name, ID or DNS name, and they are the costliest call.
    const lower = resourceName.toLowerCase();
    const ids = new Set<string>();
    this.resources.find((list) => {
      for (const r of list) if (r.name.toLowerCase() === lower) ids.add(r.id);
      return false;
    });
    for (const cache of [this.accountLists, this.pages]) {
      cache.find((list) => {
        if (list.resourceName.toLowerCase() === lower) ids.add(list.resourceId);
        return false;
      });
    }
    this.accountLists.deleteWhere((key) => ids.has(unscoped(key)));
    this.pages.deleteWhere((key) => ids.has(unscoped(key).split('@')[0]!));
    this.notes.deleteWhere((key) => ids.has(unscoped(key).split('/')[0]!));
  }
}

/** A key without its organisation scope. */
function unscoped(key: string): string {
  return key.slice(key.indexOf('\u0000') + 1);
}
