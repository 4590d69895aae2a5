import type { Logger } from 'pino';
import { accountPageQuery } from './pmp-paths.js';
import { expectSuccess, parseAccountList, type ParsedAccount, type ParsedAccountList, type PmpEnvelope } from './pmp-responses.js';

/**
 * listAccounts pages (protocol section 5) read from the vault one page at a
 * time, so that a 40,000-account resource is not read whole to answer one
 * page. PAM360 documents STARTINDEX and LIMIT in INPUT_DATA for the account
 * list call ("Fetch the Accounts that are Part of a Resource"); PMP's pages
 * document no input for it, and no recorded answer shows whether STARTINDEX
 * counts from 0 or 1 or whether `totalRows` comes back. So the pager learns
 * what the vault does, once per client, from two small calls (STARTINDEX 0
 * LIMIT 2, then STARTINDEX 1 LIMIT 1: which account comes back tells the
 * base), and falls back to the whole list, cut here, whenever an answer
 * does not prove the page right: more accounts than LIMIT (the vault ignores
 * paging: that answer is the whole list), no `totalRows`, a refused call.
 */

/** What the vault does with STARTINDEX/LIMIT on the account list. */
export type VaultPaging =
  /** Not learned yet (or the resources seen so far had fewer than 2 accounts). */
  | 'unknown'
  /** Pages; STARTINDEX counts from 0. */
  | 'startIndex0'
  /** Pages; STARTINDEX counts from 1. */
  | 'startIndex1'
  /** Ignores or refuses paging, or answers without totals: the whole list is read and cut. */
  | 'none';

/** One page of a resource's accounts, in the vault's order. */
export interface AccountPage {
  resourceId: string;
  resourceName: string;
  /** The accounts of the page (parsed, before the public copy). */
  accounts: ParsedAccount[];
  /** How many accounts the resource has. */
  total: number;
}

/**
 * The resource and organisation of one listAccounts call. No caller's
 * signal: a page is loaded once for every caller waiting on it (the
 * client's TtlCache), each under its own signal, and each vault call is
 * bounded by the profile's time-out.
 */
export interface PageTarget {
  resourceId: string;
  /** The call's orgName header (null: none). */
  orgName: string | null;
}

export interface AccountPagerDeps {
  /** One account-list call of the target's resource: the whole list (`query` undefined) or a page. */
  fetch(target: PageTarget, query: string | undefined): Promise<PmpEnvelope>;
  log: Logger;
}

/** A page and, when the pager had to read it, the whole list it was cut from (for the client's cache). */
export interface PagerAnswer {
  page: AccountPage;
  whole: ParsedAccountList | undefined;
}

/** The page [offset, offset + limit) of a whole list. */
export function cutPage(whole: ParsedAccountList, offset: number, limit: number): AccountPage {
  return {
    resourceId: whole.resourceId,
    resourceName: whole.resourceName,
    accounts: whole.accounts.slice(offset, offset + limit),
    total: whole.accounts.length,
  };
}

export class AccountPager {
  private paging: VaultPaging = 'unknown';
  /** The learning under way, shared by concurrent first calls; with the whole list it read, if any. */
  private learning: Promise<{ target: PageTarget; whole: ParsedAccountList | undefined }> | undefined;

  constructor(private readonly deps: AccountPagerDeps) {}

  get state(): VaultPaging {
    return this.paging;
  }

  /**
   * The page [offset, offset + limit) of the target's accounts: asked of
   * the vault when it pages, else cut from the whole list (returned too).
   * Rejects as the whole-list call would (RESOURCE_NOT_FOUND, ACCESS_DENIED,
   * transport codes); a failure never changes what was learned.
   */
  async page(target: PageTarget, offset: number, limit: number): Promise<PagerAnswer> {
    if (this.paging === 'unknown') {
      // Learned once for every caller that finds it under way.
      const mine = this.learning === undefined;
      const learning = (this.learning ??= this.learn(target).finally(() => (this.learning = undefined)));
      let learned: { target: PageTarget; whole: ParsedAccountList | undefined };
      try {
        learned = await learning;
      } catch (err) {
        // Another resource's (or organisation's) failure is not this call's: it reads its own whole list.
        if (mine) throw err;
        return this.wholeCut(target, offset, limit);
      }
      const same = learned.target.resourceId === target.resourceId && learned.target.orgName === target.orgName;
      if (same && learned.whole) return { page: cutPage(learned.whole, offset, limit), whole: learned.whole };
    }
    if (this.paging !== 'startIndex0' && this.paging !== 'startIndex1') return this.wholeCut(target, offset, limit);
    const base = this.paging === 'startIndex0' ? 0 : 1;
    const env = await this.deps.fetch(target, accountPageQuery(offset + base, limit));
    if (env.status !== 'Success') return this.refused(env, target, offset, limit);
    const list = parseAccountList(env, target.resourceId);
    const total = env.totalRows;
    const n = list.accounts.length;
    if (n > limit) {
      this.decide('none', 'the vault sent more accounts than LIMIT');
      return { page: cutPage(list, offset, limit), whole: list };
    }
    // A page is exactly what the total says it must hold (empty past the end): anything else is not a page to trust.
    if (total === undefined || n !== Math.max(0, Math.min(limit, total - offset))) {
      this.decide('none', 'the page and totalRows do not agree');
      return this.wholeCut(target, offset, limit);
    }
    return { page: { resourceId: list.resourceId, resourceName: list.resourceName, accounts: list.accounts, total }, whole: undefined };
  }

  /** A paged call answered Failed: the whole-list call says whether the resource is there (and throws what it throws). */
  private async refused(env: PmpEnvelope, target: PageTarget, offset: number, limit: number): Promise<PagerAnswer> {
    if (env.operationName.trim().toLowerCase() === 'authentication') expectSuccess(env, { call: 'listAccounts' });
    const answer = await this.wholeCut(target, offset, limit);
    // Past the end, some servers may refuse a page they otherwise serve: only a refused page inside the list counts.
    if (offset < answer.page.total) this.decide('none', 'the vault refused STARTINDEX/LIMIT');
    return answer;
  }

  private async wholeCut(target: PageTarget, offset: number, limit: number): Promise<PagerAnswer> {
    const whole = await this.fetchWhole(target);
    return { page: cutPage(whole, offset, limit), whole };
  }

  private async fetchWhole(target: PageTarget): Promise<ParsedAccountList> {
    const env = await this.deps.fetch(target, undefined);
    expectSuccess(env, { call: 'listAccounts' });
    return parseAccountList(env, target.resourceId);
  }

  /**
   * STARTINDEX 0 LIMIT 2, then STARTINDEX 1 LIMIT 1: the second answer's
   * account is the first one's second (counts from 0) or its first (counts
   * from 1). Anything else, and any answer that is not a page, decides
   * 'none'. A resource with fewer than 2 accounts teaches nothing.
   */
  private async learn(target: PageTarget): Promise<{ target: PageTarget; whole: ParsedAccountList | undefined }> {
    const first = await this.deps.fetch(target, accountPageQuery(0, 2));
    if (first.status !== 'Success') {
      if (first.operationName.trim().toLowerCase() === 'authentication') expectSuccess(first, { call: 'listAccounts' });
      const whole = await this.fetchWhole(target);
      this.decide('none', 'the vault refused STARTINDEX/LIMIT');
      return { target, whole };
    }
    const a = parseAccountList(first, target.resourceId);
    const total = first.totalRows;
    if (a.accounts.length > 2) {
      this.decide('none', 'the vault sent more accounts than LIMIT');
      return { target, whole: a };
    }
    if (total === undefined) {
      this.decide('none', 'the vault sent no totalRows with a page');
      return { target, whole: await this.fetchWhole(target) };
    }
    if (total < 2 && a.accounts.length === total) return { target, whole: a };
    if (total < 2 || a.accounts.length !== 2) {
      this.decide('none', 'the page and totalRows do not agree');
      return { target, whole: await this.fetchWhole(target) };
    }
    const second = await this.deps.fetch(target, accountPageQuery(1, 1));
    const b = second.status === 'Success' ? parseAccountList(second, target.resourceId).accounts : [];
    const probe = b.length === 1 ? b[0]!.id : undefined;
    if (probe !== undefined && probe === a.accounts[1]!.id) this.decide('startIndex0', 'STARTINDEX 1 is the second account');
    else if (probe !== undefined && probe === a.accounts[0]!.id) this.decide('startIndex1', 'STARTINDEX 1 is the first account');
    else this.decide('none', 'STARTINDEX 1 is neither the first nor the second account');
    return { target, whole: undefined };
  }

  private decide(to: VaultPaging, reason: string): void {
    if (this.paging === to) return;
    this.deps.log.info({ from: this.paging, to, reason }, 'vault account paging learned');
    this.paging = to;
  }
}
