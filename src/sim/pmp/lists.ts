import type { PmpSimBehaviour } from './behaviour.js';
import { detailText, type InputDetails } from './request-params.js';
import { accountListBody, resourceListBody, visibleFrom, type CompiledResource, type CompiledResponses } from './responses.js';
import type { PmpSimResource } from './sim-data.js';

/**
 * Pages and searches of the two lists, as PAM360's API pages describe them
 * (INPUT_DATA `VIEWTYPE`, `STARTINDEX`, `LIMIT`, `SEARCHTYPE`,
 * `SEARCHCOLUMN`, `SEARCHVALUE`). A list asked for without any of them is
 * the answer built at start; a page is joined from each row's JSON, also
 * built at start. What each value means beyond the pages' words is
 * *(unconfirmed)* and listed in docs/pmp-simulator.md.
 */

/** Why a list request is refused; the handler answers Failed with the matching message. */
export type ListProblem = 'paging' | 'view' | 'search';

export type ListAnswer = { ok: true; body: Buffer } | { ok: false; problem: ListProblem };

const RESOURCE_LIST_KEYS = ['VIEWTYPE', 'STARTINDEX', 'LIMIT', 'SEARCHTYPE', 'SEARCHCOLUMN', 'SEARCHVALUE'];
const ACCOUNT_LIST_KEYS = ['STARTINDEX', 'LIMIT', 'SEARCHCOLUMN', 'SEARCHVALUE'];

interface Page {
  offset: number;
  limit: number | undefined;
}

/** A whole number given as a number or as digits; undefined when absent; NaN when not a whole number. */
function wholeNumber(details: InputDetails, key: string): number | undefined {
  const v = details[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : NaN;
  if (typeof v === 'string' && /^[0-9]{1,15}$/.test(v.trim())) return Number(v.trim());
  return NaN;
}

function pageOf(details: InputDetails, behaviour: PmpSimBehaviour): Page | undefined {
  const start = wholeNumber(details, 'STARTINDEX');
  const limit = wholeNumber(details, 'LIMIT');
  if (Number.isNaN(start) || Number.isNaN(limit) || limit === 0) return undefined;
  return { offset: Math.max(0, (start ?? behaviour.startIndexBase) - behaviour.startIndexBase), limit };
}

function slice<T>(rows: readonly T[], page: Page): T[] {
  return rows.slice(page.offset, page.limit === undefined ? undefined : page.offset + page.limit);
}

function totalRows(matching: number, onPage: number, behaviour: PmpSimBehaviour): number {
  return behaviour.pagedTotalRows === 'matching' ? matching : onPage;
}

function includes(text: string, value: string): boolean {
  return text.toLowerCase().includes(value);
}

/** VIEWTYPE as a filter; undefined for a view the API does not have. */
function viewFilter(view: string): ((r: PmpSimResource) => boolean) | undefined {
  switch (view) {
    case '':
    case 'ALLMYPASSWORD':
      return () => true;
    // The simulator keeps no favourites and no access history.
    case 'FAVOURITEPASSWORD':
    case 'RECENTLYACCESSEDPASSWORD':
      return () => false;
    case 'LINUXSSHPASSWORD':
      return (r) => includes(r.type, 'linux') || includes(r.type, 'unix');
    case 'WINDOWSRDPPASSWORD':
      return (r) => includes(r.type, 'windows');
    default:
      return undefined;
  }
}

/** SEARCHTYPE/SEARCHCOLUMN/SEARCHVALUE as a filter (case-insensitive substring); undefined for an unknown type or column. */
function searchFilter(details: InputDetails): ((r: PmpSimResource) => boolean) | undefined {
  const type = detailText(details, 'SEARCHTYPE').toUpperCase() || 'RESOURCE';
  const column = detailText(details, 'SEARCHCOLUMN').toUpperCase() || 'ALL';
  const value = detailText(details, 'SEARCHVALUE').toLowerCase();
  if (type === 'RESOURCE') {
    const columns: Record<string, (r: PmpSimResource) => string[]> = {
      ALL: (r) => [r.name, r.type, r.description],
      RESOURCENAME: (r) => [r.name],
      RESOURCETYPE: (r) => [r.type],
      RESOURCEDESCRIPTION: (r) => [r.description],
    };
    const of = columns[column];
    if (!of) return undefined;
    return value === '' ? () => true : (r) => of(r).some((t) => includes(t, value));
  }
  if (type === 'ACCOUNT') {
    if (column !== 'ALL' && column !== 'ACCOUNTNAME') return undefined;
    return value === '' ? () => true : (r) => r.accounts.some((a) => includes(a.name, value));
  }
  return undefined;
}

/** `GET resources`, whole or a page, as seen from the caller's organisation. */
export function resourceListAnswer(
  responses: CompiledResponses,
  org: string | null,
  details: InputDetails,
  behaviour: PmpSimBehaviour,
): ListAnswer {
  if (!RESOURCE_LIST_KEYS.some((k) => details[k] !== undefined)) return { ok: true, body: responses.resourceList(org) };
  const view = viewFilter(detailText(details, 'VIEWTYPE').toUpperCase());
  if (!view) return { ok: false, problem: 'view' };
  const search = searchFilter(details);
  if (!search) return { ok: false, problem: 'search' };
  const page = pageOf(details, behaviour);
  if (!page) return { ok: false, problem: 'paging' };
  const matching = responses.resources.filter((cr) => visibleFrom(cr, org) && view(cr.resource) && search(cr.resource));
  const rows = slice(matching, page);
  return { ok: true, body: resourceListBody(rows.map((cr) => cr.listEntry), totalRows(matching.length, rows.length, behaviour)) };
}

/** `GET resources/{id}/accounts`, whole or (when the switch allows) a page. */
export function accountListAnswer(cr: CompiledResource, details: InputDetails, behaviour: PmpSimBehaviour): ListAnswer {
  if (!behaviour.accountListPaging || !ACCOUNT_LIST_KEYS.some((k) => details[k] !== undefined)) return { ok: true, body: cr.accounts };
  const column = detailText(details, 'SEARCHCOLUMN').toUpperCase() || 'ALL';
  if (column !== 'ALL' && column !== 'ACCOUNTNAME') return { ok: false, problem: 'search' };
  const value = detailText(details, 'SEARCHVALUE').toLowerCase();
  const page = pageOf(details, behaviour);
  if (!page) return { ok: false, problem: 'paging' };
  const accounts = cr.resource.accounts;
  let matching: number[] | undefined;
  if (value !== '') {
    matching = [];
    accounts.forEach((a, i) => {
      if (includes(a.name, value) || (column === 'ALL' && includes(a.notes, value))) matching!.push(i);
    });
  }
  const count = matching ? matching.length : accounts.length;
  const end = page.limit === undefined ? count : Math.min(count, page.offset + page.limit);
  const entries: string[] = [];
  for (let i = page.offset; i < end; i++) entries.push(cr.accountEntries[matching ? matching[i]! : i]!);
  return { ok: true, body: accountListBody(cr, entries, totalRows(count, entries.length, behaviour)) };
}
