import { PmpSimError } from './sim-errors.js';

/**
 * What PAM360's access-control calls answer, as far as its "accesscontrolapi"
 * pages say, and the time formats they use. Only the request call's path
 * and INPUT_DATA are documented; every operation name, message and status
 * word below is *(unconfirmed)*, so all of them can be replaced
 * (`accessControl.answers`). A client must decide from the operation's
 * status and the account's flags, never from these texts.
 */

/** The states of an access request (access-control.ts has the transitions). */
export type AccessRequestState =
  /** Raised, waiting for an approver; void (expired) when the approval timeout passes. */
  | 'pending'
  /** Approved: the password is released to the requester for the request's window. */
  | 'approved'
  /** An exclusive account's password fetched in the window: held by the requester until check-in or the window's end. */
  | 'checkedOut'
  /** Given back by the requester, or automatically at the window's end after a check-out. Final. */
  | 'checkedIn'
  /** Rejected by an approver. Final. */
  | 'rejected'
  /** Not approved in time, or approved and its window over. Final. */
  | 'expired';

export const ACCESS_REQUEST_STATES: readonly AccessRequestState[] = ['pending', 'approved', 'checkedOut', 'checkedIn', 'rejected', 'expired'];

export interface AccessControlAnswers {
  /** Operation name of `POST accounts/{id}/requestpassword`. */
  requestOperation: string;
  /** Success message of a new request. */
  requestRaised: string;
  /** Success message when the caller already has an open request for the account (no second one is raised). */
  requestOpen: string;
  /** Failed: the account is not under access control. */
  notAccessControlled: string;
  /** Failed: ACCESS is neither "now" nor "later". */
  badAccess: string;
  /** Failed: ACCESS "later" without a valid STARTTIME/ENDTIME window. */
  badWindow: string;
  /** Password call, Failed: the caller's request waits for approval. */
  fetchPending: string;
  /** Password call, Failed: the caller's request was rejected. */
  fetchRejected: string;
  /** Password call, Failed: the caller's request expired. */
  fetchExpired: string;
  /** Password call, Failed: approved, but its window has not started. */
  fetchTooEarly: string;
  /** Password call or check-in, Failed: another user has the password checked out. */
  checkedOutByOther: string;
  /** Operation name of `PUT accounts/{id}/checkin`. */
  checkInOperation: string;
  /** Success message of a check-in (also when nothing was checked out: check-in is idempotent). */
  checkedIn: string;
  /** Operation name of `GET accounts/passwordaccessrequests`. */
  listOperation: string;
  /** Success message of the request list. */
  listMessage: string;
  /** The STATUS word shown for each state (request answers and the request list). */
  status: Record<AccessRequestState, string>;
}

export const DEFAULT_ACCESS_ANSWERS: AccessControlAnswers = Object.freeze({
  requestOperation: 'REQUEST PASSWORD',
  requestRaised: 'Password request raised successfully',
  requestOpen: 'A request for this password is already open',
  notAccessControlled: 'Access control is not enabled for this account',
  badAccess: 'ACCESS must be now or later',
  badWindow: 'STARTTIME and ENDTIME must be given as DD/MM/yyyy HH:mm, the end after the start and not past',
  fetchPending: 'The password request is waiting for approval',
  fetchRejected: 'The password request has been rejected',
  fetchExpired: 'The password request has expired: raise a new request',
  fetchTooEarly: 'The password is not yet released: the access window has not started',
  checkedOutByOther: 'The password is checked out by another user',
  checkInOperation: 'CHECKIN PASSWORD',
  checkedIn: 'Password checked in successfully',
  listOperation: 'GET PASSWORD REQUESTS',
  listMessage: 'Password requests fetched successfully',
  status: Object.freeze({
    pending: 'Waiting for approval',
    approved: 'Approved',
    checkedOut: 'Checked out',
    checkedIn: 'Checked in',
    rejected: 'Rejected',
    expired: 'Expired',
  }),
});

/** Defaults overlaid with `overrides` (an object such as a JSON file holds); unknown keys are refused. */
export function accessAnswers(overrides: unknown = {}): AccessControlAnswers {
  const base = DEFAULT_ACCESS_ANSWERS;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new PmpSimError('SIM_OPTIONS_INVALID', 'accessControl.answers', 'must be an object');
  }
  const out: Record<string, unknown> = { ...base, status: { ...base.status } };
  for (const [key, value] of Object.entries(overrides)) {
    const path = `accessControl.answers.${key}`;
    if (!(key in base)) throw new PmpSimError('SIM_OPTIONS_INVALID', path, `unknown key (allowed: ${Object.keys(base).join(', ')})`);
    if (key === 'status') {
      if (typeof value !== 'object' || value === null) throw new PmpSimError('SIM_OPTIONS_INVALID', path, 'must be an object');
      for (const [state, word] of Object.entries(value)) {
        if (!(ACCESS_REQUEST_STATES as readonly string[]).includes(state)) {
          throw new PmpSimError('SIM_OPTIONS_INVALID', `${path}.${state}`, `unknown state (allowed: ${ACCESS_REQUEST_STATES.join(', ')})`);
        }
        if (typeof word !== 'string' || word === '') throw new PmpSimError('SIM_OPTIONS_INVALID', `${path}.${state}`, 'must be a non-empty string');
        (out['status'] as Record<string, string>)[state] = word;
      }
    } else {
      if (typeof value !== 'string' || value === '') throw new PmpSimError('SIM_OPTIONS_INVALID', path, 'must be a non-empty string');
      out[key] = value;
    }
  }
  return out as unknown as AccessControlAnswers;
}

/**
 * STARTTIME/ENDTIME as the request page gives them, "DD/mm/yyyy HH:mm"
 * (day first), read in UTC *(unconfirmed: PAM360 likely reads its server's
 * zone)*; undefined when malformed.
 */
export function parseWindowTime(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2})$/.exec(raw.trim());
  if (!m) return undefined;
  const [day, month, year, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute);
  const d = new Date(ms);
  // Date.UTC rolls 31/02 over into March: such a date is refused, not moved.
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1 || hour > 23 || minute > 59) return undefined;
  return ms;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Dec 30, 2025 04:45 PM" (UTC), the request list's time format as its documentation shows it *(unconfirmed)*. */
export function listTime(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())}, ${d.getUTCFullYear()} ${two(h % 12 === 0 ? 12 : h % 12)}:${two(d.getUTCMinutes())} ${h < 12 ? 'AM' : 'PM'}`;
}
