import type { IncomingHttpHeaders } from 'node:http';
import { startHostileVault, type HostileVault } from './hostile-vault.js';

/**
 * A small PMP/PAM360 on a real HTTPS socket (127.0.0.1, port 0) that records
 * every request it gets (path, parsed INPUT_DATA, headers) and answers the
 * read calls the vault client makes, in PMP's envelope. Independent of the
 * simulator in src/sim, so the client's tests pin down what goes on the
 * wire: which header carries the token, the orgName header, STARTINDEX and
 * LIMIT.
 *
 * - Auth: an API user's key in AUTHTOKEN, or in APP_AUTHTOKEN (real servers
 *   take both); an integration token only in APP_AUTHTOKEN with its
 *   APP_NAME. Anything else is PMP's `Authentication` failure (which, with
 *   `echoToken`, quotes the token it got, as a careless server might).
 * - Organisations: the orgName header picks one of `orgs` (exact name); no
 *   header is the API user's own organisation, `ownOrg`.
 * - The account list pages as `paging` says.
 */

export interface FakeAccount {
  id: string;
  name: string;
  /** Sent as ACCOUNT_DESCRIPTION; absent (undefined) makes the client ask the details call. */
  description?: string | undefined;
}

export interface FakeResource {
  id: string;
  name: string;
  accounts: FakeAccount[];
}

/** How GET resources/{id}/accounts treats STARTINDEX/LIMIT. */
export type FakePaging =
  /** Ignores them: always the whole list, no totalRows (what recorded answers show). */
  | 'ignore'
  /** Pages, STARTINDEX from 0, with totalRows. */
  | 'startIndex0'
  /** Pages, STARTINDEX from 1, with totalRows. */
  | 'startIndex1'
  /** Pages from 0 but sends no totalRows. */
  | 'noTotal'
  /** Answers Failed whenever INPUT_DATA is sent. */
  | 'refuse';

export interface RecordedRequest {
  path: string;
  /** INPUT_DATA of the query, parsed; undefined when absent. */
  input: Record<string, unknown> | undefined;
  headers: IncomingHttpHeaders;
}

export interface RecordingPmpOptions {
  apiKeys?: string[];
  integrations?: Array<{ token: string; appName: string }>;
  /** The API user's own organisation: what no orgName header means. */
  ownOrg?: string;
  /** Resources of each organisation. */
  orgs: Record<string, FakeResource[]>;
  paging?: FakePaging;
  /** Authentication failures quote the token received. */
  echoToken?: boolean;
}

export interface RecordingPmp {
  readonly url: string;
  readonly requests: RecordedRequest[];
  paging: FakePaging;
  /** Requests on `path` (without query), optionally only those with or without INPUT_DATA. */
  count(path: string, input?: 'with' | 'without'): number;
  close(): Promise<void>;
}

export const API = '/restapi/json/v1';

/** `n` accounts named so that their order is their number (acct-00000 …). */
export function manyAccounts(n: number, firstId = 10_000): FakeAccount[] {
  return Array.from({ length: n }, (_, i) => ({ id: String(firstId + i), name: `acct-${String(i).padStart(5, '0')}`, description: '' }));
}

function envelope(name: string, status: 'Success' | 'Failed', message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ operation: { name, result: { status, message }, ...extra } });
}

function accountJson(a: FakeAccount): Record<string, unknown> {
  const out: Record<string, unknown> = { 'ACCOUNT ID': a.id, 'ACCOUNT NAME': a.name, PASSWDID: a.id, 'PASSWORD STATUS': '****' };
  if (a.description !== undefined) out['ACCOUNT_DESCRIPTION'] = a.description;
  return out;
}

export async function startRecordingPmp(tls: { certPem: string; keyPem: string }, opts: RecordingPmpOptions): Promise<RecordingPmp> {
  const vault: HostileVault = await startHostileVault(tls);
  const requests: RecordedRequest[] = [];
  const ownOrg = opts.ownOrg ?? 'Own';
  const pmp: RecordingPmp = {
    url: vault.url,
    requests,
    paging: opts.paging ?? 'ignore',
    count: (path, input) =>
      requests.filter((r) => r.path === path && (input === undefined || (input === 'with') === (r.input !== undefined))).length,
    close: () => vault.close(),
  };

  const authFailure = (got: string | undefined): string =>
    envelope(
      'Authentication',
      'Failed',
      opts.echoToken && got ? `API key ${got} received is not associated to any user. Authentication failed.` : 'API key received is not associated to any user. Authentication failed.',
    );

  vault.handler = (req, res) => {
    const url = new URL(req.url ?? '/', 'https://pmp.invalid');
    const raw = url.searchParams.get('INPUT_DATA');
    const input = raw === null ? undefined : (JSON.parse(raw) as Record<string, unknown>);
    requests.push({ path: url.pathname, input, headers: req.headers });
    const send = (body: string): void => {
      res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
      res.end(body);
    };
    const h = req.headers;
    const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
    const authtoken = one(h['authtoken']);
    const appToken = one(h['app_authtoken']);
    const appName = one(h['app_name']);
    const apiKeys = opts.apiKeys ?? [];
    const authorised =
      (authtoken !== undefined && apiKeys.includes(authtoken)) ||
      (appToken !== undefined && apiKeys.includes(appToken)) ||
      (appToken !== undefined && (opts.integrations ?? []).some((i) => i.token === appToken && i.appName === appName));
    if (!authorised) return send(authFailure(authtoken ?? appToken));
    const org = one(h['orgname']) ?? ownOrg;
    const resources = opts.orgs[org];
    if (!resources) return send(envelope('Authentication', 'Failed', 'The user is not a member of the organization'));

    const path = url.pathname;
    if (path === `${API}/resources/resourcetypes`) {
      return send(envelope('GET RESOURCE TYPES', 'Success', 'Resource types fetched successfully', { Details: [{ 'RESOURCE TYPE': 'Linux' }] }));
    }
    if (path === `${API}/resources`) {
      const details = resources.map((r) => ({ 'RESOURCE ID': r.id, 'RESOURCE NAME': r.name, NOOFACCOUNTS: String(r.accounts.length) }));
      return send(envelope('GET RESOURCES', 'Success', 'Resources fetched successfully', { totalRows: details.length, ...(details.length ? { Details: details } : {}) }));
    }
    const m = /^\/restapi\/json\/v1\/resources\/(\d+)\/accounts(?:\/(\d+)(\/password)?)?$/.exec(path);
    const resource = m ? resources.find((r) => r.id === m[1]) : undefined;
    if (!m || !resource) return send(envelope('GET RESOURCE ACCOUNTLIST', 'Failed', 'Resource does not exist'));
    if (m[2] !== undefined) {
      const account = resource.accounts.find((a) => a.id === m[2]);
      if (!account) return send(envelope('GET RESOURCE ACCOUNT DETAILS', 'Failed', 'Account does not exist'));
      if (m[3]) return send(envelope('GET PASSWORD', 'Success', 'Password fetched successfully', { Details: { PASSWORD: `pw-of-${account.name}` } }));
      return send(envelope('GET RESOURCE ACCOUNT DETAILS', 'Success', 'Account details fetched successfully', { Details: { DESCRIPTION: `notes of ${account.name}` } }));
    }
    const details = (accounts: FakeAccount[]) => ({ 'RESOURCE ID': resource.id, 'RESOURCE NAME': resource.name, 'ACCOUNT LIST': accounts.map(accountJson) });
    const ok = (accounts: FakeAccount[], totalRows?: number): void =>
      send(envelope('GET RESOURCE ACCOUNTLIST', 'Success', 'Resource details with account list fetched successfully', { ...(totalRows === undefined ? {} : { totalRows }), Details: details(accounts) }));
    const d = (input?.['operation'] as { Details?: Record<string, unknown> } | undefined)?.Details;
    if (d === undefined || pmp.paging === 'ignore') return ok(resource.accounts);
    if (pmp.paging === 'refuse') return send(envelope('GET RESOURCE ACCOUNTLIST', 'Failed', 'Invalid input data'));
    const start = Number(d['STARTINDEX']) - (pmp.paging === 'startIndex1' ? 1 : 0);
    const limit = Number(d['LIMIT']);
    const page = resource.accounts.slice(Math.max(0, start), Math.max(0, start) + limit);
    return ok(page, pmp.paging === 'noTotal' ? undefined : resource.accounts.length);
  };
  return pmp;
}
