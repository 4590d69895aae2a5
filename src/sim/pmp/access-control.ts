import type { Logger } from 'pino';
import { StateMachine, type Clock, type TransitionTable } from '../../shared/index.js';
import { accessAnswers, listTime, type AccessControlAnswers, type AccessRequestState } from './access-answers.js';
import type { AuditTrail } from './audit-trail.js';
import type { PmpCaller } from './auth.js';
import {
  MSG,
  OP,
  passwordAnswer,
  successAnswer,
  type CompiledAccount,
  type CompiledResource,
  type CompiledResponses,
} from './responses.js';
import { PmpSimError } from './sim-errors.js';

/**
 * PAM360's password access control, modelled (PMP/PAM360 help "Password
 * Access Control Workflow"; the REST side: "accesscontrolapi"). An
 * access-controlled account hands its password out only on an approved
 * request: the API user raises one (requestpassword), an approver approves
 * or rejects it (the admin endpoint, standing in for the UI), and a request
 * not approved in time becomes void. An approved password is released for
 * the request's window; an exclusive account is checked out to one user
 * from the first fetch until check-in or the window's end (its auto
 * check-in time). Time is the simulator's clock, read when a request is
 * looked at: no timers, so a test's ManualClock drives every expiry.
 */

/** How long a pending request waits for an approver before it is void. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 30 * 60_000;
/** ACCESS "now": how long an approved password stays released (the auto check-in time of a check-out). */
export const DEFAULT_AUTO_CHECK_IN_MS = 30 * 60_000;

export interface AccessControlOptions {
  /** A pending request expires this long after it was raised. Default {@link DEFAULT_APPROVAL_TIMEOUT_MS}. */
  approvalTimeoutMs?: number;
  /** ACCESS "now": the window runs this long from the approval; a check-out ends with it. Default {@link DEFAULT_AUTO_CHECK_IN_MS}. */
  autoCheckInMs?: number;
  /** Replacements for the *(unconfirmed)* operation names, messages and status words (access-answers.ts). Default none. */
  answers?: Partial<Omit<AccessControlAnswers, 'status'>> & { status?: Partial<AccessControlAnswers['status']> };
}

const TRANSITIONS: TransitionTable<AccessRequestState> = {
  pending: ['approved', 'rejected', 'expired'],
  approved: ['checkedOut', 'checkedIn', 'expired'],
  checkedOut: ['checkedIn'],
  checkedIn: [],
  rejected: [],
  expired: [],
};

/** What an access request is raised with (INPUT_DATA's Details). */
export interface RequestDetails {
  reason: string;
  ticketId: string;
  access: 'now' | 'later';
  /** ACCESS "later": the window, epoch ms. */
  window?: { start: number; end: number };
}

interface AccessRequest {
  id: string;
  resource: CompiledResource;
  account: CompiledAccount;
  requester: Requester;
  details: RequestDetails;
  createdAt: number;
  /** Set on approval for ACCESS "now"; from the request for "later". */
  window?: { start: number; end: number };
  decidedBy?: string;
  note?: string;
  state: StateMachine<AccessRequestState>;
}

/** A request as the admin endpoint shows it (times ISO 8601). */
export interface AccessRequestView {
  requestId: string;
  state: AccessRequestState;
  resourceId: string;
  resourceName: string;
  accountId: string;
  accountName: string;
  requestedBy: string;
  reason: string;
  ticketId: string;
  access: 'now' | 'later';
  requestedAt: string;
  windowStart: string | null;
  windowEnd: string | null;
  decidedBy: string | null;
  note: string | null;
}

/** Which request an admin call means: by id, or the one open request of an account. */
export interface RequestSelector {
  requestId?: unknown;
  accountId?: unknown;
}

/** Who asks: `key` tells principals apart (requests and check-outs are theirs); `label` is what PAM360 shows. */
export interface Requester {
  key: string;
  label: string;
}

/** A caller as a requester: its principal key tells it apart (names need not be unique, tokens are never kept), its name labels it. */
export function requesterOf(c: PmpCaller): Requester {
  return { key: c.key, label: c.name !== '' ? c.name : c.kind === 'apiUser' ? 'api-user' : 'integration' };
}

export interface AccessControlParts {
  responses: CompiledResponses;
  audit: AuditTrail;
  clock: Clock;
  log: Logger;
  options?: AccessControlOptions;
}

export class AccessControl {
  readonly answers: AccessControlAnswers;
  private readonly approvalTimeoutMs: number;
  private readonly autoCheckInMs: number;
  private readonly requests: AccessRequest[] = [];
  private nextId = 1;
  /** Account id → its account and resource (account ids are unique across resources). */
  private readonly accounts = new Map<string, { resource: CompiledResource; account: CompiledAccount }>();

  constructor(private readonly parts: AccessControlParts) {
    const o = parts.options ?? {};
    this.answers = accessAnswers(o.answers ?? {});
    this.approvalTimeoutMs = positiveMs(o.approvalTimeoutMs, DEFAULT_APPROVAL_TIMEOUT_MS, 'accessControl.approvalTimeoutMs');
    this.autoCheckInMs = positiveMs(o.autoCheckInMs, DEFAULT_AUTO_CHECK_IN_MS, 'accessControl.autoCheckInMs');
    for (const resource of parts.responses.byId.values()) {
      for (const account of resource.byId.values()) this.accounts.set(account.account.id, { resource, account });
    }
  }

  /** The simulator's time (epoch ms). */
  now(): number {
    return this.parts.clock.now();
  }

  /** An account by its id, with its resource. */
  account(accountId: string): { resource: CompiledResource; account: CompiledAccount } | undefined {
    return this.accounts.get(accountId);
  }

  /** POST accounts/{id}/requestpassword for an access-controlled account: a new request, or the caller's open one. */
  raise(resource: CompiledResource, account: CompiledAccount, caller: Requester, details: RequestDetails): Buffer {
    const a = this.answers;
    const open = this.latest(account, caller);
    if (open && isOpen(open.state.state)) return this.requestAnswer(open, a.requestOpen);
    const now = this.parts.clock.now();
    const req: AccessRequest = {
      id: String(this.nextId++),
      resource,
      account,
      requester: caller,
      details,
      createdAt: now,
      ...(details.window ? { window: details.window } : {}),
      state: new StateMachine<AccessRequestState>(`access request`, 'pending', TRANSITIONS, this.parts.log),
    };
    this.requests.push(req);
    this.audit(req, 'Password Requested', caller.label, details.reason);
    return this.requestAnswer(req, a.requestRaised);
  }

  /** The password call for an access-controlled account: released, refused, or "[Request]" on older builds. */
  fetch(resource: CompiledResource, account: CompiledAccount, caller: Requester, responses: CompiledResponses): Buffer {
    const a = this.answers;
    const holder = this.holder(account);
    if (holder && holder.requester.key !== caller.key) return responses.failed(OP.password, a.checkedOutByOther);
    const req = this.latest(account, caller);
    const state = req?.state.state;
    // Older builds answer Success with "[Request]" until the password is released (the compiled answer).
    const refuse = (message: string): Buffer => (responses.variant === 'pmp-old' ? account.password : responses.failed(OP.password, message));
    if (!req || state === 'checkedIn') return refuse(MSG.approvalRequired);
    if (state === 'pending') return refuse(a.fetchPending);
    if (state === 'rejected') return refuse(a.fetchRejected);
    if (state === 'expired') return refuse(a.fetchExpired);
    const now = this.parts.clock.now();
    if (req.window && now < req.window.start) return refuse(a.fetchTooEarly);
    if (state === 'approved' && account.account.exclusive === true) {
      req.state.transition('checkedOut', 'password fetched');
      this.audit(req, 'Password Checked Out', caller.label, req.details.reason);
    }
    return passwordAnswer(account.account.password);
  }

  /** PUT accounts/{id}/checkin: ends the caller's release of the password; ok when there is none. */
  checkIn(account: CompiledAccount, caller: Requester, responses: CompiledResponses): Buffer {
    const a = this.answers;
    const holder = this.holder(account);
    if (holder && holder.requester.key !== caller.key) return responses.failed(a.checkInOperation, a.checkedOutByOther);
    const req = this.latest(account, caller);
    if (req && (req.state.state === 'approved' || req.state.state === 'checkedOut')) {
      req.state.transition('checkedIn', 'checked in');
      this.audit(req, 'Password Checked In', caller.label, req.details.reason);
    }
    return successAnswer(a.checkInOperation, a.checkedIn, { Details: { ACCOUNTID: account.account.id } });
  }

  /** The approver's decision (the UI's Approve button). */
  approve(sel: RequestSelector, by = 'admin'): AccessRequestView {
    const req = this.select(sel);
    this.mustBePending(req);
    const now = this.parts.clock.now();
    req.window ??= { start: now, end: now + this.autoCheckInMs };
    req.decidedBy = by;
    req.state.transition('approved', `approved by ${by}`);
    this.audit(req, 'Password Request Approved', by, req.details.reason);
    return this.view(req);
  }

  /** The approver's decision (the UI's Reject button). */
  reject(sel: RequestSelector, by = 'admin', note = ''): AccessRequestView {
    const req = this.select(sel);
    this.mustBePending(req);
    req.decidedBy = by;
    if (note !== '') req.note = note;
    req.state.transition('rejected', `rejected by ${by}`);
    this.audit(req, 'Password Request Rejected', by, note);
    return this.view(req);
  }

  /** Every request, oldest first, with its state as of now. */
  list(): AccessRequestView[] {
    return this.requests.map((r) => this.view(r));
  }

  /** GET accounts/passwordaccessrequests: the requests grouped by requester, shaped as its documentation shows *(unconfirmed)*. */
  listAnswer(responses: CompiledResponses): Buffer {
    const byUser = new Map<string, AccessRequest[]>();
    for (const r of this.requests) {
      this.settle(r);
      byUser.set(r.requester.key, [...(byUser.get(r.requester.key) ?? []), r]);
    }
    const details = [...byUser.values()].map((reqs) => ({
      'REQUESTED BY': reqs[0]!.requester.label,
      'REQUESTED BY FULLNAME': reqs[0]!.requester.label,
      PASSWORDREQUESTLIST: reqs.map((r) => ({
        'REQUEST ID': r.id,
        'PASSWD ID': r.account.account.passwdId,
        'ACCOUNT ID': r.account.account.id,
        'RESOURCE NAME': r.resource.resource.name,
        'ACCOUNT NAME': r.account.account.name,
        REASON: r.details.reason,
        STATUS: this.answers.status[r.state.state],
        'REQUESTED TIME': listTime(r.createdAt),
        START_TIME: r.window ? listTime(r.window.start) : 'N/A',
        END_TIME: r.window ? listTime(r.window.end) : 'N/A',
      })),
    }));
    return successAnswer(this.answers.listOperation, this.answers.listMessage, {
      totalRows: this.requests.length,
      ...(details.length > 0 ? { Details: details } : {}),
    });
  }

  private requestAnswer(req: AccessRequest, message: string): Buffer {
    const account = req.account.account;
    return successAnswer(this.answers.requestOperation, message, {
      Details: { REQUESTID: req.id, ACCOUNTID: account.id, RESOURCEID: req.resource.resource.id, STATUS: this.answers.status[req.state.state] },
    });
  }

  /** The caller's newest request for the account, settled. */
  private latest(account: CompiledAccount, caller: Requester): AccessRequest | undefined {
    for (let i = this.requests.length - 1; i >= 0; i--) {
      const r = this.requests[i]!;
      if (r.account === account && r.requester.key === caller.key) {
        this.settle(r);
        return r;
      }
    }
    return undefined;
  }

  /** The request holding the account checked out now, if any. */
  private holder(account: CompiledAccount): AccessRequest | undefined {
    return this.settled(account).find((r) => r.state.state === 'checkedOut');
  }

  /** The account's requests, each settled. */
  private settled(account: CompiledAccount): AccessRequest[] {
    const list = this.requests.filter((r) => r.account === account);
    for (const r of list) this.settle(r);
    return list;
  }

  /** Applies what the clock says: approval timeouts, windows that ended, auto check-in. */
  private settle(r: AccessRequest): void {
    const now = this.parts.clock.now();
    const s = r.state.state;
    if (s === 'pending' && (now >= r.createdAt + this.approvalTimeoutMs || (r.window !== undefined && now >= r.window.end))) {
      r.state.transition('expired', 'not approved in time');
    } else if (s === 'approved' && r.window && now >= r.window.end) {
      r.state.transition('expired', 'window ended');
    } else if (s === 'checkedOut' && r.window && now >= r.window.end) {
      r.state.transition('checkedIn', 'auto check-in');
      this.audit(r, 'Password Checked In', 'System', 'auto check-in');
    }
  }

  private select(sel: RequestSelector): AccessRequest {
    if (typeof sel.requestId === 'string' || typeof sel.requestId === 'number') {
      const req = this.requests.find((r) => r.id === String(sel.requestId));
      if (!req) throw new PmpSimError('SIM_ADMIN_INVALID', 'requestId', `no access request ${String(sel.requestId)}`);
      this.settle(req);
      return req;
    }
    if (typeof sel.accountId === 'string') {
      const account = this.requests.find((r) => r.account.account.id === sel.accountId)?.account;
      const pending = account ? this.settled(account).filter((r) => r.state.state === 'pending') : [];
      if (pending.length !== 1) {
        throw new PmpSimError('SIM_ADMIN_INVALID', 'accountId', `account ${sel.accountId} has ${pending.length} pending requests (name one by requestId)`);
      }
      return pending[0]!;
    }
    throw new PmpSimError('SIM_ADMIN_INVALID', '', 'give "requestId", or "accountId" of an account with one pending request');
  }

  private mustBePending(req: AccessRequest): void {
    if (req.state.state !== 'pending') {
      throw new PmpSimError('SIM_ADMIN_INVALID', 'requestId', `access request ${req.id} is ${req.state.state}, not pending`);
    }
  }

  private audit(req: AccessRequest, operation: string, by: string, reason: string): void {
    this.parts.audit.record({
      operation,
      operatedBy: by,
      operatedFrom: '127.0.0.1',
      resourceName: req.resource.resource.name,
      accountName: req.account.account.name,
      status: 'Success',
      reason,
      detail: { requestId: req.id },
    });
  }

  private view(r: AccessRequest): AccessRequestView {
    this.settle(r);
    const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      requestId: r.id,
      state: r.state.state,
      resourceId: r.resource.resource.id,
      resourceName: r.resource.resource.name,
      accountId: r.account.account.id,
      accountName: r.account.account.name,
      requestedBy: r.requester.label,
      reason: r.details.reason,
      ticketId: r.details.ticketId,
      access: r.details.access,
      requestedAt: new Date(r.createdAt).toISOString(),
      windowStart: iso(r.window?.start),
      windowEnd: iso(r.window?.end),
      decidedBy: r.decidedBy ?? null,
      note: r.note ?? null,
    };
  }
}

/** A request that still stands: no second one is raised beside it. */
function isOpen(s: AccessRequestState): boolean {
  return s === 'pending' || s === 'approved' || s === 'checkedOut';
}

function positiveMs(v: number | undefined, dflt: number, path: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new PmpSimError('SIM_OPTIONS_INVALID', path, 'must be a positive integer number of milliseconds');
  return v;
}
