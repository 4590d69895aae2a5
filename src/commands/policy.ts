import type { Clock } from '../shared/index.js';
import { GatewayError } from '../shared/index.js';

/**
 * The gateway's local policy (config `policy`), applied on top of whatever
 * PMP itself allows. Every refusal is POLICY_DENIED with a message naming
 * the rule. Replaced on config reload through `update`; the fetch history
 * of the rate limit survives a reload so a reload cannot reset a limit.
 */

/** The window of `maxFetchesPerAccountPerMinute`. */
export const FETCH_WINDOW_MS = 60_000;

/** The gateway's local policy (config `policy`). */
export interface PolicyOptions {
  /** PMP resource IDs or names allowed (any letter case); null allows all. Config default null. */
  readonly allowResources: readonly string[] | null;
  /** Account names never listed or fetched (any letter case). Config default none. */
  readonly denyAccounts: readonly string[];
  /** Password fetches allowed per account per minute; null for no limit. Config default null. */
  readonly maxFetchesPerAccountPerMinute: number | null;
}

/** What is known about a resource when the allow-list is checked. */
export interface ResourceIdentity {
  /** The custom attribute's value (ID or name). */
  ref: string;
  id: string;
  name: string | undefined;
}

function norm(s: string): string {
  return s.trim().toLowerCase();
}

export class Policy {
  private allow: ReadonlySet<string> | null = null;
  private deny: ReadonlySet<string> = new Set();
  private maxFetches: number | null = null;
  /** Fetch times (clock.now) per vault+resource+account, oldest first. */
  private readonly fetches = new Map<string, number[]>();
  private lastSweep: number;

  constructor(
    config: PolicyOptions,
    private readonly clock: Clock,
  ) {
    this.lastSweep = clock.now();
    this.update(config);
  }

  update(config: PolicyOptions): void {
    this.allow = config.allowResources === null ? null : new Set(config.allowResources.map(norm));
    this.deny = new Set(config.denyAccounts.map(norm));
    this.maxFetches = config.maxFetchesPerAccountPerMinute;
  }

  /** True when some account names are denied (callers then need account names before fetching). */
  get hasDeniedAccounts(): boolean {
    return this.deny.size > 0;
  }

  /**
   * Whether the allow-list admits the resource: an entry may be the
   * attribute value, the resolved ID or the resolved name (compared without
   * letter case; IDs are digits so this only matters for names).
   * Returns 'unknown' when only the missing name could still match, so the
   * caller can learn the name (from the account list) and ask again.
   */
  resourceAllowed(r: ResourceIdentity): 'yes' | 'no' | 'unknown' {
    if (this.allow === null) return 'yes';
    if (this.allow.has(norm(r.ref)) || this.allow.has(norm(r.id))) return 'yes';
    if (r.name === undefined) return 'unknown';
    return this.allow.has(norm(r.name)) ? 'yes' : 'no';
  }

  /** Throws POLICY_DENIED unless the allow-list admits the resource (an unknown name counts as no match). */
  assertResource(r: ResourceIdentity): void {
    if (this.resourceAllowed(r) !== 'yes') {
      throw new GatewayError('POLICY_DENIED', `resource ${r.id}${r.name ? ` ("${r.name}")` : ''} is not in policy.allowResources`);
    }
  }

  accountDenied(accountName: string): boolean {
    // The common case, no deny list: no normalised copy of the name per command.
    return this.deny.size > 0 && this.deny.has(norm(accountName));
  }

  assertAccount(accountName: string): void {
    if (this.accountDenied(accountName)) {
      throw new GatewayError('POLICY_DENIED', `account "${accountName}" is denied by policy.denyAccounts`);
    }
  }

  /**
   * Checks the per-account fetch rate (sliding window of FETCH_WINDOW_MS)
   * and, when allowed, counts this fetch. Counting at the check rather than
   * after the vault answered makes concurrent fetches count too.
   */
  takeFetch(vault: string, resourceId: string, accountId: string): void {
    const limit = this.maxFetches;
    if (limit === null) return;
    const now = this.clock.now();
    this.sweep(now);
    const key = `${vault}\u0000${resourceId}\u0000${accountId}`;
    const times = (this.fetches.get(key) ?? []).filter((t) => t > now - FETCH_WINDOW_MS);
    if (times.length >= limit) {
      this.fetches.set(key, times);
      throw new GatewayError(
        'POLICY_DENIED',
        `account ${accountId} of resource ${resourceId} reached policy.maxFetchesPerAccountPerMinute (${limit})`,
      );
    }
    times.push(now);
    this.fetches.set(key, times);
  }

  /** Forgets windows with no fetch in the last minute, at most once a minute, so the map stays bounded. */
  private sweep(now: number): void {
    if (now - this.lastSweep < FETCH_WINDOW_MS) return;
    this.lastSweep = now;
    for (const [key, times] of this.fetches) {
      if ((times[times.length - 1] ?? 0) <= now - FETCH_WINDOW_MS) this.fetches.delete(key);
    }
  }

  /** Rate-limit windows currently held (for tests and metrics). */
  get trackedAccounts(): number {
    return this.fetches.size;
  }
}
