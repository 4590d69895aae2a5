import { ERROR_CODES, ERROR_RETRYABLE, GatewayError, isErrorCode, toGatewayError } from '../../../src/shared/errors.js';

/** The protocol's error table (shared/design/protocol.md section 7), copied by hand on purpose. */
const PROTOCOL_TABLE: Array<[string, boolean]> = [
  ['BAD_REQUEST', false],
  ['UNKNOWN_COMMAND', false],
  ['NOT_ACTIVE', true],
  ['UNKNOWN_VAULT', false],
  ['RESOURCE_NOT_MAPPED', false],
  ['RESOURCE_NOT_FOUND', false],
  ['ACCOUNT_NOT_FOUND', false],
  ['TICKET_ID_REQUIRED', false],
  ['REASON_REQUIRED', false],
  ['APPROVAL_REQUIRED', false],
  ['ACCESS_DENIED', false],
  ['POLICY_DENIED', false],
  ['VAULT_UNREACHABLE', true],
  ['VAULT_TLS_ERROR', false],
  ['VAULT_TIMEOUT', true],
  ['VAULT_ERROR', true],
  ['DEADLINE_EXCEEDED', true],
  ['OVERLOADED', true],
  ['RESULT_TOO_LARGE', false],
  ['INTERNAL', true],
];

describe('error codes', () => {
  it('mirror the protocol table exactly, with retryable flags', () => {
    expect(ERROR_CODES).toEqual(PROTOCOL_TABLE.map(([c]) => c));
    for (const [code, retryable] of PROTOCOL_TABLE) {
      expect(isErrorCode(code)).toBe(true);
      expect(ERROR_RETRYABLE[code as keyof typeof ERROR_RETRYABLE]).toBe(retryable);
    }
  });

  it.each(PROTOCOL_TABLE)('%s serialises to the wire with retryable=%s', (code, retryable) => {
    const err = new GatewayError(code as never, 'msg', { detail: 'pmp said', cause: new Error('x') });
    expect(err.toWire()).toEqual({ code, message: 'msg', retryable });
    expect(err.detail).toBe('pmp said');
    expect(err.name).toBe('GatewayError');
  });

  it('rejects unknown codes and wraps foreign errors as INTERNAL', () => {
    expect(isErrorCode('NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    const wrapped = toGatewayError(new TypeError('boom'));
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    const same = new GatewayError('VAULT_ERROR', 'x');
    expect(toGatewayError(same)).toBe(same);
  });
});
