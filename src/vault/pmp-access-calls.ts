import type { AbortLike } from '../shared/index.js';
import type { VaultProfile } from '../config/index.js';
import { checkAccountFlags } from './account-flags.js';
import { callOrg } from './call-org.js';
import { API_BASE, assertAccountId, assertResourceId } from './pmp-paths.js';
import { expectSuccess, parseAccessRequestState, parseRaisedRequest, type ParsedAccount, type PmpEnvelope } from './pmp-responses.js';
import type { PmpRequest } from './pmp-transport.js';
import type { AccessRequestInput, AccessRequestState, CallOptions, RaisedAccessRequest } from './types.js';
import { isNothingCheckedOut } from './vault-errors.js';

/**
 * PAM360's access-control calls (shared/reference/pmp-api.md, "Access
 * control"; protocol section 10): raise a request, read the requests' states,
 * check a password in. What PAM360 documents: the request call's path,
 * method and INPUT_DATA (its "accesscontrolapi" page), and the request list
 * (PMP's REST page, "getlist"). What it does not, and what credgw assumes
 * (docs/protocol.md, "Access requests: what section 10 left open"): the
 * answers' keys and words, and the check-in call (`PUT
 * accounts/{id}/checkin`, as the simulator models it).
 */

/** PMP's list of password access requests (documented; its answer's STATUS words are not). */
export const ACCESS_REQUESTS_PATH = `${API_BASE}/accounts/passwordaccessrequests`;

/** `POST accounts/{ACCOUNTID}/requestpassword` (documented). */
export function requestPasswordPath(accountId: string): string {
  assertAccountId(accountId);
  return `${API_BASE}/accounts/${accountId}/requestpassword`;
}

/** `PUT accounts/{ACCOUNTID}/checkin` *(unconfirmed: no PAM360 page documents a check-in call)*. */
export function checkInPath(accountId: string): string {
  assertAccountId(accountId);
  return `${API_BASE}/accounts/${accountId}/checkin`;
}

/**
 * A window time as the request page writes it, `DD/mm/yyyy HH:mm`, in UTC
 * *(unconfirmed: PAM360 may read its server's zone)*. Whole minutes: the
 * start is rounded down and the end up, so the window asked for is inside
 * the one requested.
 */
export function pmpWindowTime(ms: number, round: 'down' | 'up'): string {
  const minute = 60_000;
  const d = new Date(round === 'down' ? Math.floor(ms / minute) * minute : Math.ceil(ms / minute) * minute);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
}

/**
 * The request call's form body: `INPUT_DATA` with REASON and TICKETID (those
 * given), ACCESS `now`, or `later` with STARTTIME and ENDTIME.
 */
export function accessRequestForm(req: AccessRequestInput): string {
  const details: Record<string, string> = {};
  if (req.reason) details['REASON'] = req.reason;
  if (req.ticketId) details['TICKETID'] = req.ticketId;
  if (req.window) {
    details['ACCESS'] = 'later';
    details['STARTTIME'] = pmpWindowTime(req.window.startMs, 'down');
    details['ENDTIME'] = pmpWindowTime(req.window.endMs, 'up');
  } else {
    details['ACCESS'] = 'now';
  }
  return `INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: details } }))}`;
}

export interface PmpAccessDeps {
  /** One PMP call (PmpTransport.request). */
  request(req: PmpRequest): Promise<PmpEnvelope>;
  /** The account from the client's account list of organisation `org` (ACCOUNT_NOT_FOUND when the resource lacks it). */
  findAccount(resourceId: string, accountId: string, org: string | null, signal: AbortLike | undefined): Promise<ParsedAccount>;
  /** The profile's requireTicketId and orgName (the default organisation of a call: call-org.ts). */
  profile: Pick<VaultProfile, 'requireTicketId' | 'orgName'>;
}

/** The access-control calls of one vault client (pmp-client.ts delegates to it). */
export class PmpAccessCalls {
  constructor(private readonly deps: PmpAccessDeps) {}

  async requestAccess(resourceId: string, accountId: string, req: AccessRequestInput, opts?: CallOptions): Promise<RaisedAccessRequest> {
    assertResourceId(resourceId);
    const path = requestPasswordPath(accountId);
    const signal = opts?.signal;
    const orgName = callOrg(opts, this.deps.profile.orgName);
    const account = await this.deps.findAccount(resourceId, accountId, orgName, signal);
    // The request carries the same ticket and reason a fetch would: refused here as a fetch would be.
    const { ticketId, reason } = checkAccountFlags(account, req, this.deps.profile.requireTicketId);
    const form = accessRequestForm({ ticketId, reason, window: req.window });
    const env = await this.deps.request({ call: 'requestAccess', method: 'POST', path, form, orgName, signal });
    expectSuccess(env, { call: 'requestAccess', account, supplied: { ticketId: ticketId !== undefined, reason: reason !== undefined } });
    return parseRaisedRequest(env);
  }

  async accessRequestState(accountId: string, requestId: string | undefined, opts?: CallOptions): Promise<AccessRequestState> {
    assertAccountId(accountId);
    const env = await this.deps.request({ call: 'accessRequests', path: ACCESS_REQUESTS_PATH, orgName: callOrg(opts, this.deps.profile.orgName), signal: opts?.signal });
    expectSuccess(env, { call: 'accessRequests' });
    return parseAccessRequestState(env, accountId, requestId);
  }

  async checkIn(resourceId: string, accountId: string, opts?: CallOptions): Promise<void> {
    assertResourceId(resourceId);
    const path = checkInPath(accountId);
    const signal = opts?.signal;
    const orgName = callOrg(opts, this.deps.profile.orgName);
    const account = await this.deps.findAccount(resourceId, accountId, orgName, signal);
    const env = await this.deps.request({ call: 'checkIn', method: 'PUT', path, form: '', orgName, signal });
    // Nothing checked out is what a check-in leaves behind anyway (idempotent, protocol section 10).
    if (env.status === 'Success' || isNothingCheckedOut(env.message)) return;
    expectSuccess(env, { call: 'checkIn', account });
  }
}
