import { GatewayError, isPmpId } from '../shared/index.js';
import type { AccessRequestState, PmpAccount, PmpResource, RaisedAccessRequest } from './types.js';
import { pmpFailureToError, redactVaultText, type PmpFailureContext } from './vault-errors.js';

/**
 * Parsing of PMP/PAM360 answers (shared/reference/pmp-api.md), pure and
 * tolerant: only the keys credgw uses are required, extra keys and the
 * older/newer variants are accepted, `Details` may be an object or an array.
 * Anything that is not a well-formed envelope is VAULT_ERROR, never a crash.
 * No error built here carries a body excerpt: a password answer in an
 * unexpected shape must not leak into a log through `detail`.
 */

export interface PmpEnvelope {
  /** `operation.name` ("" when absent), the API key redacted. */
  operationName: string;
  status: 'Success' | 'Failed';
  /** `operation.result.message` ("" when absent), the API key redacted. */
  message: string;
  /** `operation.Details` as sent (undefined when the key is absent). */
  details: unknown;
  /** `operation.totalRows` when it is a number (lists only). */
  totalRows: number | undefined;
}

/** An account as parsed from the account list, before the public copy is made. */
export interface ParsedAccount extends PmpAccount {
  /** The list carried ACCOUNT_DESCRIPTION (so no details call is needed for notes). */
  notesListed: boolean;
}

export interface ParsedAccountList {
  resourceId: string;
  resourceName: string;
  resourceType: string | undefined;
  dnsName: string | undefined;
  accounts: ParsedAccount[];
}

function malformed(detail: string): GatewayError {
  return new GatewayError('VAULT_ERROR', 'the vault answered in an unexpected format', { detail });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** PMP sends flags as "true"/"false"; tolerate real booleans. */
export function isTrueFlag(v: unknown): boolean {
  return v === true || (typeof v === 'string' && v.trim().toLowerCase() === 'true');
}

/** Notes as PMP writes "none": absent, "" or "N/A". */
export function normalizeNotes(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (t === '' || t.toUpperCase() === 'N/A') return undefined;
  return v;
}

function optionalString(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** A required ID: a PMP ID as a string (spaces around it ignored) or a number. */
function requiredId(v: unknown, where: string): string {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  const id = typeof s === 'string' ? s.trim() : undefined;
  if (id === undefined || !isPmpId(id)) throw malformed(`${where} is missing or not a numeric ID`);
  return id;
}

function requiredString(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw malformed(`${where} is missing`);
}

/**
 * Checks the HTTP status and decodes the envelope. Empty bodies (a
 * misconfigured API-user host), non-JSON bodies (an HTML error page) and
 * bodies without `operation.result.status` are VAULT_ERROR. The vault's own
 * words (message, operation name) come out with `token`, the key the request
 * carried, and anything shaped like a PMP key redacted (redactVaultText).
 */
export function decodeEnvelope(httpStatus: number, body: string, token?: string): PmpEnvelope {
  if (httpStatus !== 200) {
    throw new GatewayError('VAULT_ERROR', 'the vault answered with an HTTP error', { detail: `HTTP ${httpStatus}` });
  }
  const text = body.trim();
  if (text === '') throw malformed('empty body');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed(text.startsWith('<') ? `HTML instead of JSON (${body.length} bytes)` : `body is not JSON (${body.length} bytes)`);
  }
  const op = isRecord(json) ? json['operation'] : undefined;
  if (!isRecord(op)) throw malformed('no operation object');
  const result = op['result'];
  if (!isRecord(result)) throw malformed('no operation.result object');
  const rawStatus = result['status'];
  const status = typeof rawStatus === 'string' ? rawStatus.trim().toLowerCase() : '';
  if (status !== 'success' && status !== 'failed') throw malformed('operation.result.status is neither Success nor Failed');
  const totalRows = op['totalRows'];
  return {
    operationName: typeof op['name'] === 'string' ? redactVaultText(op['name'], token) : '',
    status: status === 'success' ? 'Success' : 'Failed',
    message: typeof result['message'] === 'string' ? redactVaultText(result['message'], token) : '',
    details: op['Details'],
    totalRows: typeof totalRows === 'number' ? totalRows : undefined,
  };
}

/** Returns the envelope when it says Success; a `Failed` one becomes the error its context decides. */
export function expectSuccess(env: PmpEnvelope, ctx: Omit<PmpFailureContext, 'operationName' | 'message'>): PmpEnvelope {
  if (env.status === 'Success') return env;
  throw pmpFailureToError({ ...ctx, operationName: env.operationName, message: env.message });
}

/** `Details` as one object: an object, or the first element of an array. */
function singleDetails(env: PmpEnvelope): Record<string, unknown> {
  const d = Array.isArray(env.details) ? env.details[0] : env.details;
  if (!isRecord(d)) throw malformed('operation.Details is missing');
  return d;
}

/** `Details` as a list: absent (empty list, totalRows 0), an array, or a lone object. */
function listDetails(value: unknown, where: string): Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    if (!isRecord(item)) throw malformed(`${where}[${i}] is not an object`);
    return item;
  });
}

/** 1. List resources. */
export function parseResources(env: PmpEnvelope): PmpResource[] {
  return listDetails(env.details, 'Details').map((r, i) => ({
    id: requiredId(r['RESOURCE ID'], `Details[${i}].RESOURCE ID`),
    name: requiredString(r['RESOURCE NAME'], `Details[${i}].RESOURCE NAME`),
    type: optionalString(r['RESOURCE TYPE']),
    description: optionalString(r['RESOURCE DESCRIPTION']),
    dnsName: optionalString(r['DNS NAME']),
  }));
}

/** 2. Accounts of a resource, with the flags that decide what getPassword may do. */
export function parseAccountList(env: PmpEnvelope, requestedResourceId: string): ParsedAccountList {
  const d = singleDetails(env);
  const resourceReasonMandatory = isTrueFlag(d['PASSWORDREQUEST_REASON_MANDATORY']);
  const accounts = listDetails(d['ACCOUNT LIST'], 'Details.ACCOUNT LIST').map((a, i): ParsedAccount => {
    const where = `Details.ACCOUNT LIST[${i}]`;
    const notesListed = Object.prototype.hasOwnProperty.call(a, 'ACCOUNT_DESCRIPTION');
    return {
      id: requiredId(a['ACCOUNT ID'], `${where}.ACCOUNT ID`),
      passwdId: requiredId(a['PASSWDID'], `${where}.PASSWDID`),
      name: requiredString(a['ACCOUNT NAME'], `${where}.ACCOUNT NAME`),
      notes: notesListed ? normalizeNotes(a['ACCOUNT_DESCRIPTION']) : undefined,
      ticketIdRequired: isTrueFlag(a['IS_TICKETID_REQD']) && isTrueFlag(a['IS_TICKETID_REQD_MANDATORY']),
      reasonRequired:
        isTrueFlag(a['ISREASONREQUIRED']) || isTrueFlag(a['PASSWORDREQUEST_REASON_MANDATORY']) || resourceReasonMandatory,
      accessDenied: typeof a['PASSWORD STATUS'] === 'string' && a['PASSWORD STATUS'].trim() === '####',
      notesListed,
    };
  });
  const rid = d['RESOURCE ID'] === undefined ? requestedResourceId : requiredId(d['RESOURCE ID'], 'Details.RESOURCE ID');
  return {
    resourceId: rid,
    resourceName: optionalString(d['RESOURCE NAME']) ?? '',
    resourceType: optionalString(d['RESOURCE TYPE']),
    dnsName: optionalString(d['DNS NAME']),
    accounts,
  };
}

/** 3. Account details: the notes (`DESCRIPTION`, "N/A" = none). */
export function parseAccountNotes(env: PmpEnvelope): string | undefined {
  return normalizeNotes(singleDetails(env)['DESCRIPTION']);
}

/** The value older servers send instead of a password for access-controlled accounts. */
export const REQUEST_PLACEHOLDER = '[Request]';

/** 4. Password. `[Request]` is APPROVAL_REQUIRED, never a password. */
export function parsePassword(env: PmpEnvelope): string {
  const pw = singleDetails(env)['PASSWORD'];
  if (typeof pw !== 'string') throw malformed('Details.PASSWORD is missing');
  if (pw.trim() === REQUEST_PLACEHOLDER) {
    throw new GatewayError('APPROVAL_REQUIRED', 'the password must be requested and approved in the vault first', {
      detail: 'PMP answered [Request]',
    });
  }
  return pw;
}

// ---- access control (PAM360 "accesscontrolapi"; answers unconfirmed) --------

/** The state a vault's STATUS word names (wording unconfirmed: matched loosely, most specific first). */
export function accessStateOf(word: unknown): AccessRequestState {
  if (typeof word !== 'string') return 'unknown';
  if (/checked[ -]?in/i.test(word)) return 'checkedIn';
  if (/checked[ -]?out/i.test(word)) return 'checkedOut';
  if (/reject|denied/i.test(word)) return 'rejected';
  if (/expire|\bvoid\b|timed[ -]?out/i.test(word)) return 'expired';
  if (/wait|pending|awaiting|requested|raised/i.test(word)) return 'pending';
  if (/approv|released|granted/i.test(word)) return 'approved';
  return 'unknown';
}

/** A request ID as the vault writes it (a string or a number), else undefined. */
function requestIdOf(v: unknown): string | undefined {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  return typeof s === 'string' && s.trim() !== '' && s.length <= 64 ? s.trim() : undefined;
}

/** `requestpassword` Success: the request's ID and state where the answer gives them (`REQUESTID`/`REQUEST ID`, `STATUS`). */
export function parseRaisedRequest(env: PmpEnvelope): RaisedAccessRequest {
  const d = Array.isArray(env.details) ? env.details[0] : env.details;
  if (!isRecord(d)) return { requestId: undefined, state: undefined };
  const status = d['STATUS'];
  return { requestId: requestIdOf(d['REQUESTID'] ?? d['REQUEST ID']), state: status === undefined ? undefined : accessStateOf(status) };
}

/**
 * `accounts/passwordaccessrequests` Success: the state of request
 * `requestId`, else of the newest request (highest numeric ID, else the
 * last listed) for `accountId`. Details is a list per requester, each with
 * a PASSWORDREQUESTLIST (as PMP documents it); entries listed directly are
 * read too. `none` when none matches.
 */
export function parseAccessRequestState(env: PmpEnvelope, accountId: string, requestId: string | undefined): AccessRequestState {
  let newest: { id: string | undefined; status: unknown } | undefined;
  for (const group of listDetails(env.details, 'Details')) {
    const list = group['PASSWORDREQUESTLIST'];
    const entries = list === undefined ? [group] : listDetails(list, 'Details[].PASSWORDREQUESTLIST');
    for (const e of entries) {
      const id = requestIdOf(e['REQUEST ID'] ?? e['REQUESTID']);
      if (requestId !== undefined) {
        if (id === requestId) return accessStateOf(e['STATUS']);
        continue;
      }
      // Without the request's ID (the raise answer had none): the account's newest, whoever raised it.
      if (requestIdOf(e['ACCOUNT ID'] ?? e['ACCOUNTID']) !== accountId) continue;
      if (newest === undefined || newerId(id, newest.id)) newest = { id, status: e['STATUS'] };
    }
  }
  return newest === undefined ? 'none' : accessStateOf(newest.status);
}

/** Whether request ID `a` is at least as new as `b`: numeric IDs compared as numbers, otherwise the later listed wins. */
function newerId(a: string | undefined, b: string | undefined): boolean {
  if (a !== undefined && b !== undefined && isPmpId(a) && isPmpId(b)) return BigInt(a) >= BigInt(b);
  return true;
}
