import { GatewayError, type ErrorCode } from '../shared/index.js';
import { isTlsVerificationError } from '../tls/index.js';

/**
 * The one place where what PMP/PAM360 and the network say becomes a
 * GatewayError. Two tables: PMP `Failed` envelopes (decided from the call
 * that was made, the account flags the client saw and the `Authentication`
 * operation name, and only then from hints in PMP's wording, which the
 * reference marks as unconfirmed), and transport failures (undici, net and
 * TLS error codes). PMP's message is kept in `detail`, never in `message`,
 * so the controller sees stable text and the logs see what PMP said.
 */

/** The PMP calls the client makes; the error table branches on them. */
export type PmpCall =
  | 'listResources'
  | 'listAccounts'
  | 'accountDetails'
  | 'getPassword'
  | 'probe'
  /** PAM360 access control (protocol section 10): raise a request, list the requests, check a password in. */
  | 'requestAccess'
  | 'accessRequests'
  | 'checkIn';

/** What the client knew when PMP answered `Failed`. */
export interface PmpFailureContext {
  call: PmpCall;
  /** `operation.name` of the envelope (`Authentication` for key/host refusals). */
  operationName: string;
  /** `operation.result.message`, verbatim. */
  message: string;
  /** The account's flags from the account list, for password calls. */
  account?: { ticketIdRequired: boolean; reasonRequired: boolean; accessDenied: boolean } | undefined;
  /** What the caller supplied with the password call. */
  supplied?: { ticketId: boolean; reason: boolean } | undefined;
}

export interface PmpFailureRule {
  /** Why the rule exists (shown in the table-driven test names). */
  readonly name: string;
  readonly when: (ctx: PmpFailureContext) => boolean;
  readonly code: ErrorCode;
  readonly message: string;
}

const isPassword = (ctx: PmpFailureContext): boolean => ctx.call === 'getPassword';
/** The calls whose refusal can be about the account's access control: the password, a request, a check-in. */
const isAccessCall = (ctx: PmpFailureContext): boolean => ctx.call === 'getPassword' || ctx.call === 'requestAccess' || ctx.call === 'checkIn';

/*
 * PAM360's access-control wording is unconfirmed (shared/reference/pmp-api.md,
 * "Access control"): these hints are the only way its answers tell a pending
 * request from a rejected or expired one, or an account checked out by
 * another user. They are tried after everything the client knows (operation,
 * call, flags) and before the looser ticket/reason/approval hints.
 */
const CHECKED_OUT_HINT = /checked[ -]?out/i;
const DENIED_HINT = /reject|expire|\bvoid\b/i;
const PENDING_HINT = /waiting|pending|awaiting|not yet|already (open|raised|requested)/i;
const WINDOW_HINT = /starttime|endtime|access window|time window/i;

/** First match wins; knowledge (operation, call, flags) comes before message hints. */
export const PMP_FAILURE_RULES: readonly PmpFailureRule[] = [
  {
    name: 'Authentication operation',
    when: (ctx) => ctx.operationName.trim().toLowerCase() === 'authentication',
    code: 'ACCESS_DENIED',
    message: 'the vault refused the API key or the host it was used from',
  },
  {
    name: 'account list of an unknown resource',
    when: (ctx) => ctx.call === 'listAccounts',
    code: 'RESOURCE_NOT_FOUND',
    message: 'the vault has no such resource for this API user',
  },
  {
    name: 'details of an unknown account',
    when: (ctx) => ctx.call === 'accountDetails',
    code: 'ACCOUNT_NOT_FOUND',
    message: 'the resource has no such account',
  },
  {
    name: 'password of an account shown as ####',
    when: (ctx) => isPassword(ctx) && ctx.account?.accessDenied === true,
    code: 'ACCESS_DENIED',
    message: 'the API user may not read this password',
  },
  {
    name: 'password without a ticket for a ticket-required account',
    when: (ctx) => isPassword(ctx) && ctx.account?.ticketIdRequired === true && ctx.supplied?.ticketId !== true,
    code: 'TICKET_ID_REQUIRED',
    message: 'the vault requires a ticket ID for this account',
  },
  {
    name: 'password without a reason for a reason-required account',
    when: (ctx) => isPassword(ctx) && ctx.account?.reasonRequired === true && ctx.supplied?.reason !== true,
    code: 'REASON_REQUIRED',
    message: 'the vault requires a reason for this account',
  },
  {
    name: 'request list refused',
    when: (ctx) => ctx.call === 'accessRequests',
    code: 'VAULT_ERROR',
    message: 'the vault did not list its access requests',
  },
  {
    name: 'request raised for an account shown as ####',
    when: (ctx) => ctx.call === 'requestAccess' && ctx.account?.accessDenied === true,
    code: 'ACCESS_DENIED',
    message: 'the API user may not read this password',
  },
  {
    name: 'access call refused, message says checked out',
    when: (ctx) => isAccessCall(ctx) && CHECKED_OUT_HINT.test(ctx.message),
    code: 'CHECKED_OUT',
    message: 'another user has the password checked out',
  },
  {
    name: 'password refused, message says the request was rejected or expired',
    when: (ctx) => isPassword(ctx) && DENIED_HINT.test(ctx.message),
    code: 'APPROVAL_DENIED',
    message: 'the vault rejected the access request, or it expired',
  },
  {
    name: 'password or request refused, message says a request waits',
    when: (ctx) => (isPassword(ctx) || ctx.call === 'requestAccess') && PENDING_HINT.test(ctx.message),
    code: 'APPROVAL_PENDING',
    message: 'the access request waits for approval in the vault',
  },
  {
    name: 'request refused, message mentions its window',
    when: (ctx) => ctx.call === 'requestAccess' && WINDOW_HINT.test(ctx.message),
    code: 'BAD_REQUEST',
    message: 'the vault refused the access window',
  },
  {
    name: 'password refused, message mentions a ticket',
    when: (ctx) => (isPassword(ctx) || ctx.call === 'requestAccess') && /ticket/i.test(ctx.message),
    code: 'TICKET_ID_REQUIRED',
    message: 'the vault requires a valid ticket ID for this account',
  },
  {
    name: 'password refused, message mentions a reason',
    when: (ctx) => (isPassword(ctx) || ctx.call === 'requestAccess') && /reason/i.test(ctx.message),
    code: 'REASON_REQUIRED',
    message: 'the vault requires a reason for this account',
  },
  {
    name: 'password refused, message mentions a request or approval',
    when: (ctx) => isPassword(ctx) && /approv|request/i.test(ctx.message),
    code: 'APPROVAL_REQUIRED',
    message: 'the password must be requested and approved in the vault first',
  },
  {
    name: 'anything else',
    when: () => true,
    code: 'VAULT_ERROR',
    message: 'the vault reported a failure',
  },
];

/**
 * A check-in refused because nothing is checked out (to this user or at
 * all): check-in is idempotent (protocol section 10), so this is success.
 * Wording unconfirmed, like every access-control answer.
 */
export function isNothingCheckedOut(message: string): boolean {
  return /not (been |yet )?checked[ -]?out|no .*checked[ -]?out|already checked[ -]?in/i.test(message);
}

/** The GatewayError for a PMP `Failed` envelope (ctx.message already redacted: redactVaultText). */
export function pmpFailureToError(ctx: PmpFailureContext): GatewayError {
  const rule = PMP_FAILURE_RULES.find((r) => r.when(ctx)) as PmpFailureRule;
  return new GatewayError(rule.code, rule.message, { detail: ctx.message || `${ctx.operationName} failed` });
}

// ---- what the vault writes -------------------------------------------------

/** What a PMP/PAM360 API key looks like: a UUID (hex in 8-4-4-4-12), in either case. */
const PMP_KEY_SHAPE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const REDACTED = '[redacted]';

/**
 * Vault text (an envelope's message or operation name) with the request's
 * own API key and anything shaped like a PMP key replaced, case-insensitively:
 * a vault that echoes the AUTHTOKEN header must not put it in a log line,
 * the health status or a result. Applied once, where the envelope is decoded.
 */
export function redactVaultText(text: string, token: string | undefined): string {
  let out = text;
  const key = token?.trim();
  if (key && out.toLowerCase().includes(key.toLowerCase())) {
    out = out.replace(new RegExp(key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), REDACTED);
  }
  return out.replace(PMP_KEY_SHAPE, REDACTED);
}

/** VAULT_ERROR for an answer past the profile's `maxResponseBytes` (`announced`: its Content-Length). */
export function responseTooLargeError(maxBytes: number, announced: number | undefined): GatewayError {
  return new GatewayError('VAULT_ERROR', 'the vault answer exceeded the size limit (maxResponseBytes)', {
    detail: announced === undefined ? `body longer than ${maxBytes} bytes` : `Content-Length ${announced} is over ${maxBytes} bytes`,
  });
}

// ---- transport ------------------------------------------------------------

/** Node, undici and OpenSSL codes → our code. TLS verification is checked first (isTlsVerificationError). */
export const TRANSPORT_CODE_TABLE: Readonly<Record<string, ErrorCode>> = {
  ECONNREFUSED: 'VAULT_UNREACHABLE',
  ECONNRESET: 'VAULT_UNREACHABLE',
  ECONNABORTED: 'VAULT_UNREACHABLE',
  EPIPE: 'VAULT_UNREACHABLE',
  ENOTFOUND: 'VAULT_UNREACHABLE',
  EAI_AGAIN: 'VAULT_UNREACHABLE',
  EAI_FAIL: 'VAULT_UNREACHABLE',
  EHOSTUNREACH: 'VAULT_UNREACHABLE',
  EHOSTDOWN: 'VAULT_UNREACHABLE',
  ENETUNREACH: 'VAULT_UNREACHABLE',
  ENETDOWN: 'VAULT_UNREACHABLE',
  EADDRNOTAVAIL: 'VAULT_UNREACHABLE',
  UND_ERR_SOCKET: 'VAULT_UNREACHABLE',
  UND_ERR_CLOSED: 'VAULT_UNREACHABLE',
  // A host that never answers a SYN is unreachable rather than slow.
  UND_ERR_CONNECT_TIMEOUT: 'VAULT_UNREACHABLE',
  UND_ERR_HEADERS_TIMEOUT: 'VAULT_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'VAULT_TIMEOUT',
  ETIMEDOUT: 'VAULT_TIMEOUT',
};

/**
 * Failures that happen before a single byte of the request is written: a
 * retry cannot make PMP serve (and audit) a request twice.
 */
export const CONNECT_PHASE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Every `code` found on an error, its causes and (for happy-eyeballs AggregateErrors) its members. */
export function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  const queue: unknown[] = [err];
  for (let seen = 0; queue.length > 0 && seen < 16; seen++) {
    const e = queue.shift();
    if (!e || typeof e !== 'object') continue;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    const cause = (e as { cause?: unknown }).cause;
    if (cause) queue.push(cause);
    const members = (e as { errors?: unknown }).errors;
    if (Array.isArray(members)) queue.push(...members);
  }
  return codes;
}

/** True when the request certainly never reached the vault (safe to retry, even a password fetch). */
export function isConnectPhaseError(err: unknown): boolean {
  if (isTlsVerificationError(err)) return false;
  const codes = errorCodes(err);
  return codes.length > 0 && codes.every((c) => CONNECT_PHASE_CODES.has(c) || c === 'ERR_SOCKET_CONNECTION_TIMEOUT');
}

const TRANSPORT_MESSAGES: Record<string, string> = {
  VAULT_UNREACHABLE: 'the vault cannot be reached',
  VAULT_TLS_ERROR: 'the vault certificate is not trusted or does not match its pin',
  VAULT_TIMEOUT: 'the vault did not answer in time',
  VAULT_ERROR: 'the request to the vault failed',
};

/** The GatewayError for an undici/net/TLS failure (a GatewayError passes through). */
export function transportErrorToError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const detail = describeError(err);
  if (isTlsVerificationError(err)) {
    return new GatewayError('VAULT_TLS_ERROR', TRANSPORT_MESSAGES['VAULT_TLS_ERROR'] as string, { cause: err, detail });
  }
  let code: ErrorCode = 'VAULT_ERROR';
  for (const c of errorCodes(err)) {
    const mapped = TRANSPORT_CODE_TABLE[c];
    if (mapped) {
      code = mapped;
      break;
    }
  }
  return new GatewayError(code, TRANSPORT_MESSAGES[code] as string, { cause: err, detail });
}

/** `CODE: message` of an error, for `detail` (undici and Node errors carry no request data). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = errorCodes(err)[0];
    const message = err.message || (err instanceof AggregateError ? err.errors.map((e: unknown) => String((e as Error)?.message)).join('; ') : '');
    return code ? `${code}: ${message}` : message;
  }
  return String(err);
}
