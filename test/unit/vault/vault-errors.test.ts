import { errors as undiciErrors } from 'undici';
import { GatewayError, type ErrorCode } from '../../../src/shared/errors.js';
import { PinMismatchError } from '../../../src/tls/trust.js';
import {
  isConnectPhaseError,
  isNothingCheckedOut,
  pmpFailureToError,
  PMP_FAILURE_RULES,
  redactVaultText,
  transportErrorToError,
  type PmpFailureContext,
} from '../../../src/vault/vault-errors.js';

const sysErr = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const flags = (f: Partial<{ ticketIdRequired: boolean; reasonRequired: boolean; accessDenied: boolean }> = {}) => ({
  ticketIdRequired: false,
  reasonRequired: false,
  accessDenied: false,
  ...f,
});
const given = (ticketId = false, reason = false) => ({ ticketId, reason });

describe('the error mapping table', () => {
  type Row = [string, PmpFailureContext | (() => unknown), ErrorCode];
  const pmp = (call: PmpFailureContext['call'], message: string, extra: Partial<PmpFailureContext> = {}, operationName = 'OP'): PmpFailureContext => ({
    call,
    operationName,
    message,
    ...extra,
  });
  const rows: Row[] = [
    // PMP Failed envelopes
    ['Authentication (bad key)', pmp('getPassword', 'API key received is not associated to any user. Authentication failed.', {}, 'Authentication'), 'ACCESS_DENIED'],
    ['Authentication (wrong host)', pmp('listResources', 'User is not allowed to access from this host', {}, 'Authentication'), 'ACCESS_DENIED'],
    ['Authentication beats call-specific rules', pmp('listAccounts', 'x', {}, 'authentication'), 'ACCESS_DENIED'],
    ['account list failed', pmp('listAccounts', 'Resource does not exist'), 'RESOURCE_NOT_FOUND'],
    ['details failed', pmp('accountDetails', 'Account does not exist'), 'ACCOUNT_NOT_FOUND'],
    ['resource list failed', pmp('listResources', 'Something went wrong'), 'VAULT_ERROR'],
    ['probe failed', pmp('probe', 'Something went wrong'), 'VAULT_ERROR'],
    ['password of a #### account', pmp('getPassword', 'whatever', { account: flags({ accessDenied: true }), supplied: given() }), 'ACCESS_DENIED'],
    ['password, ticket flag, none given', pmp('getPassword', 'Unknown failure', { account: flags({ ticketIdRequired: true }), supplied: given() }), 'TICKET_ID_REQUIRED'],
    ['password, reason flag, none given', pmp('getPassword', 'Unknown failure', { account: flags({ reasonRequired: true }), supplied: given() }), 'REASON_REQUIRED'],
    ['flags beat wording', pmp('getPassword', 'approval pending', { account: flags({ reasonRequired: true }), supplied: given(true, false) }), 'REASON_REQUIRED'],
    ['password, message mentions an invalid ticket', pmp('getPassword', 'Invalid Ticket ID', { account: flags(), supplied: given(true, true) }), 'TICKET_ID_REQUIRED'],
    ['password, message mentions a reason', pmp('getPassword', 'Reason is mandatory to retrieve the password', { account: flags(), supplied: given() }), 'REASON_REQUIRED'],
    ['password, message mentions approval', pmp('getPassword', 'Password access needs approval', { account: flags(), supplied: given() }), 'APPROVAL_REQUIRED'],
    ['password, message mentions a request', pmp('getPassword', 'Please raise a request for this password', { account: flags(), supplied: given() }), 'APPROVAL_REQUIRED'],
    ['password, anything else', pmp('getPassword', 'Password is being changed, try later', { account: flags(), supplied: given() }), 'VAULT_ERROR'],
    ['wording hints apply only to password calls', pmp('listResources', 'ticket reason approval request'), 'VAULT_ERROR'],
    // access control (protocol section 10; PAM360's wording unconfirmed: the simulator's defaults and likely variants)
    ['password, request waits', pmp('getPassword', 'The password request is waiting for approval', { account: flags(), supplied: given() }), 'APPROVAL_PENDING'],
    ['password, window not started', pmp('getPassword', 'The password is not yet released: the access window has not started', { account: flags(), supplied: given() }), 'APPROVAL_PENDING'],
    ['password, request pending', pmp('getPassword', 'Password request pending', { account: flags(), supplied: given() }), 'APPROVAL_PENDING'],
    ['password, request rejected', pmp('getPassword', 'The password request has been rejected', { account: flags(), supplied: given() }), 'APPROVAL_DENIED'],
    ['password, request expired', pmp('getPassword', 'The password request has expired: raise a new request', { account: flags(), supplied: given() }), 'APPROVAL_DENIED'],
    ['password, checked out by another user', pmp('getPassword', 'The password is checked out by another user', { account: flags(), supplied: given() }), 'CHECKED_OUT'],
    ['password, access controlled and no request', pmp('getPassword', 'The password of this account is access controlled: request access and get it approved', { account: flags(), supplied: given() }), 'APPROVAL_REQUIRED'],
    ['password, #### beats access wording', pmp('getPassword', 'waiting for approval', { account: flags({ accessDenied: true }), supplied: given() }), 'ACCESS_DENIED'],
    ['request raised for a #### account', pmp('requestAccess', 'You are not authorized', { account: flags({ accessDenied: true }), supplied: given() }), 'ACCESS_DENIED'],
    ['request, one already open', pmp('requestAccess', 'A request for this password is already open', { account: flags(), supplied: given() }), 'APPROVAL_PENDING'],
    ['request, checked out by another user', pmp('requestAccess', 'The password is checked out by another user', { account: flags(), supplied: given() }), 'CHECKED_OUT'],
    ['request, window refused', pmp('requestAccess', 'STARTTIME and ENDTIME must be given as DD/MM/yyyy HH:mm', { account: flags(), supplied: given() }), 'BAD_REQUEST'],
    ['request, ticket wording', pmp('requestAccess', 'Ticket ID is mandatory', { account: flags(), supplied: given() }), 'TICKET_ID_REQUIRED'],
    ['request, anything else', pmp('requestAccess', 'Access control is not enabled for this account', { account: flags(), supplied: given() }), 'VAULT_ERROR'],
    ['request list refused', pmp('accessRequests', 'waiting rejected checked out'), 'VAULT_ERROR'],
    ['request list, Authentication', pmp('accessRequests', 'x', {}, 'Authentication'), 'ACCESS_DENIED'],
    ['check-in, checked out by another user', pmp('checkIn', 'The password is checked out by another user', { account: flags() }), 'CHECKED_OUT'],
    ['check-in, anything else', pmp('checkIn', 'Something went wrong', { account: flags() }), 'VAULT_ERROR'],
    ['pending/denied wording applies to password calls only', pmp('checkIn', 'request rejected, waiting', { account: flags() }), 'VAULT_ERROR'],
    // transport
    ['connection refused', () => sysErr('ECONNREFUSED'), 'VAULT_UNREACHABLE'],
    ['connection reset', () => sysErr('ECONNRESET'), 'VAULT_UNREACHABLE'],
    ['DNS failure', () => sysErr('ENOTFOUND', 'getaddrinfo ENOTFOUND pmp.invalid'), 'VAULT_UNREACHABLE'],
    ['DNS try again', () => sysErr('EAI_AGAIN'), 'VAULT_UNREACHABLE'],
    ['socket closed by the vault', () => new undiciErrors.SocketError('other side closed'), 'VAULT_UNREACHABLE'],
    ['connect timeout', () => new undiciErrors.ConnectTimeoutError(), 'VAULT_UNREACHABLE'],
    ['happy eyeballs: every address refused', () => new AggregateError([sysErr('ECONNREFUSED'), sysErr('ECONNREFUSED')], ''), 'VAULT_UNREACHABLE'],
    ['headers timeout', () => new undiciErrors.HeadersTimeoutError(), 'VAULT_TIMEOUT'],
    ['body timeout', () => new undiciErrors.BodyTimeoutError(), 'VAULT_TIMEOUT'],
    ['self-signed certificate', () => sysErr('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'VAULT_TLS_ERROR'],
    ['unknown issuer', () => sysErr('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'VAULT_TLS_ERROR'],
    ['wrong host name', () => sysErr('ERR_TLS_CERT_ALTNAME_INVALID'), 'VAULT_TLS_ERROR'],
    ['pin mismatch', () => new PinMismatchError('a', 'b'), 'VAULT_TLS_ERROR'],
    ['TLS failure wrapped as a cause', () => new Error('fetch failed', { cause: sysErr('CERT_HAS_EXPIRED') }), 'VAULT_TLS_ERROR'],
    ['something unknown', () => new Error('weird'), 'VAULT_ERROR'],
    ['a GatewayError passes through', () => new GatewayError('VAULT_TIMEOUT', 'x'), 'VAULT_TIMEOUT'],
  ];

  it.each(rows)('%s → %s', (_name, input, code) => {
    const err = typeof input === 'function' ? transportErrorToError(input()) : pmpFailureToError(input);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe(code);
    if (typeof input !== 'function') expect(err.detail).toBe(input.message);
    else if (!(input() instanceof GatewayError)) expect(err.cause).toBeDefined();
  });

  it('ends with a catch-all rule (every Failed envelope gets a code)', () => {
    const last = PMP_FAILURE_RULES[PMP_FAILURE_RULES.length - 1];
    expect(last?.code).toBe('VAULT_ERROR');
  });

  it('never puts PMP wording into the message sent to the controller', () => {
    const err = pmpFailureToError({ call: 'getPassword', operationName: 'GET PASSWORD', message: 'internal: db host 10.9.9.9 down' });
    expect(err.message).not.toContain('10.9.9.9');
    expect(err.detail).toContain('10.9.9.9');
  });
});

describe('isConnectPhaseError (the only failures retried)', () => {
  it.each([
    ['ECONNREFUSED', sysErr('ECONNREFUSED'), true],
    ['ENOTFOUND', sysErr('ENOTFOUND'), true],
    ['EAI_AGAIN', sysErr('EAI_AGAIN'), true],
    ['EHOSTUNREACH', sysErr('EHOSTUNREACH'), true],
    ['connect timeout', new undiciErrors.ConnectTimeoutError(), true],
    ['all addresses refused', new AggregateError([sysErr('ECONNREFUSED'), sysErr('ECONNREFUSED')], ''), true],
    ['reset (may have reached PMP)', sysErr('ECONNRESET'), false],
    ['socket closed mid-request', new undiciErrors.SocketError('other side closed'), false],
    ['headers timeout', new undiciErrors.HeadersTimeoutError(), false],
    ['TLS failure', sysErr('DEPTH_ZERO_SELF_SIGNED_CERT'), false],
    ['no code', new Error('x'), false],
    ['refused and reset mixed', new AggregateError([sysErr('ECONNREFUSED'), sysErr('ECONNRESET')], ''), false],
  ])('%s → %s', (_n, err, expected) => {
    expect(isConnectPhaseError(err)).toBe(expected);
  });
});

describe('redactVaultText (what the vault writes, before it becomes a detail)', () => {
  const key = 'pmp-key.(0001)+';
  it.each([
    ['the profile key, any case', `bad key ${key} / ${key.toUpperCase()}`, key, 'bad key [redacted] / [redacted]'],
    ['a PMP-shaped key, any case', 'key a1b2c3d4-e5f6-4711-8899-AABBCCDDEEFF refused', undefined, 'key [redacted] refused'],
    ['the key with the whitespace the header dropped', `x ${key} y`, `  ${key}\n`, 'x [redacted] y'],
    ['no key: unchanged', 'Resource does not exist', key, 'Resource does not exist'],
    ['an empty token redacts nothing', 'Resource does not exist', '', 'Resource does not exist'],
  ])('%s', (_n, text, token, expected) => {
    expect(redactVaultText(text, token)).toBe(expected);
  });
});

describe('isNothingCheckedOut (check-in is idempotent)', () => {
  it.each(['The password is not checked out', 'Password has not been checked out', 'No password is checked out by you', 'The password is already checked in'])(
    '%s: nothing to check in',
    (message) => expect(isNothingCheckedOut(message)).toBe(true),
  );
  it.each(['The password is checked out by another user', 'Something went wrong', ''])('%s: not that', (message) => expect(isNothingCheckedOut(message)).toBe(false));
});
