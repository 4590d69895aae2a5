import {
  accessWindowMs,
  CAPABILITIES,
  COMMAND_NAMES,
  decodeAccessParams,
  decodeControllerFrame,
  decodeGatewayFrame,
  encode,
  MAX_ACCESS_WINDOW_MS,
  type Decoded,
  type ResultMessage,
} from '../../../src/protocol/index.js';
import { GatewayError } from '../../../src/shared/errors.js';

/** Section 10 on the wire: getPassword's requestAccess/accessWindow, checkInPassword, error.retryAfterMs, the capability. */

const j = (v: unknown): string => JSON.stringify(v);

function message<T>(d: Decoded<T>): T {
  if (d.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(d)}`);
  return d.message;
}

const resource = { id: 'opsramp-7d1', customAttributes: { 'PMP Resource ID': '301' } };
const base = { vault: 'pmp-prod', resource, accountId: '902', ticketId: 'INC-1042', reason: 'Remote console launch', requestedBy: 'alice@example.com' };
const frame = (name: string, params: Record<string, unknown>): string => j({ type: 'command', id: 'c-1', epoch: 8, name, timeoutMs: 10000, params });

const WINDOW = { startTime: '2026-01-09T17:50:00Z', endTime: '2026-01-09T19:50:00.500+01:00' };

describe('getPassword: requestAccess and accessWindow', () => {
  it('decodes both; absent they are undefined', () => {
    const m = message(decodeControllerFrame(frame('getPassword', { ...base, requestAccess: true, accessWindow: WINDOW })));
    expect(m.type === 'command' && m.params).toEqual({ ...base, recipientKey: undefined, requestAccess: true, accessWindow: WINDOW });
    const plain = message(decodeControllerFrame(frame('getPassword', base)));
    expect(plain.type === 'command' && plain.name === 'getPassword' && [plain.params.requestAccess, plain.params.accessWindow]).toEqual([undefined, undefined]);
  });

  it('requestAccess false or null, accessWindow null: accepted', () => {
    for (const extra of [{ requestAccess: false }, { requestAccess: null }, { requestAccess: true, accessWindow: null }]) {
      expect(decodeControllerFrame(frame('getPassword', { ...base, ...extra })).kind).toBe('message');
    }
  });

  const day = 86_400_000;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const t0 = Date.parse('2026-01-09T17:50:00Z');

  it.each([
    ['requestAccess a string', { requestAccess: 'yes' }, /requestAccess must be a boolean/],
    ['requestAccess 1', { requestAccess: 1 }, /requestAccess must be a boolean/],
    ['a window without requestAccess', { accessWindow: WINDOW }, /needs params.requestAccess: true/],
    ['a window with requestAccess false', { requestAccess: false, accessWindow: WINDOW }, /needs params.requestAccess: true/],
    ['a window that is a string', { requestAccess: true, accessWindow: '2026-01-09' }, /must be an object/],
    ['a window without endTime', { requestAccess: true, accessWindow: { startTime: WINDOW.startTime } }, /ISO 8601/],
    ['a time without a zone', { requestAccess: true, accessWindow: { ...WINDOW, startTime: '2026-01-09T17:50:00' } }, /ISO 8601/],
    ['a date only', { requestAccess: true, accessWindow: { ...WINDOW, endTime: '2026-01-10' } }, /ISO 8601/],
    ['a day that does not exist', { requestAccess: true, accessWindow: { ...WINDOW, endTime: '2026-02-30T10:00:00Z' } }, /ISO 8601/],
    ['an epoch number', { requestAccess: true, accessWindow: { startTime: t0, endTime: t0 + day } }, /ISO 8601/],
    ['the end at the start', { requestAccess: true, accessWindow: { startTime: iso(t0), endTime: iso(t0) } }, /after startTime/],
    ['the end before the start', { requestAccess: true, accessWindow: { startTime: iso(t0), endTime: iso(t0 - 1000) } }, /after startTime/],
    ['a window over the bound', { requestAccess: true, accessWindow: { startTime: iso(t0), endTime: iso(t0 + MAX_ACCESS_WINDOW_MS + 1) } }, /at most 31 days/],
  ])('%s is BAD_REQUEST', (_label, extra, why) => {
    const d = decodeControllerFrame(frame('getPassword', { ...base, ...extra }));
    expect(d).toMatchObject({ kind: 'rejected', code: 'BAD_REQUEST', id: 'c-1', epoch: 8 });
    expect(d.kind === 'rejected' && d.message).toMatch(why);
  });

  it('a window of exactly the bound is accepted, and its times compare across zones', () => {
    expect(decodeControllerFrame(frame('getPassword', { ...base, requestAccess: true, accessWindow: { startTime: iso(t0), endTime: iso(t0 + MAX_ACCESS_WINDOW_MS) } })).kind).toBe(
      'message',
    );
    expect(accessWindowMs(WINDOW)).toEqual({ startMs: t0, endMs: t0 + 3_600_500 });
    // 18:00+01:00 is 17:00Z: before a 17:50Z start.
    expect(accessWindowMs({ startTime: '2026-01-09T17:50:00Z', endTime: '2026-01-09T18:00:00+01:00' })).toMatch(/after startTime/);
  });

  it('decodeAccessParams gives one shape whatever was sent', () => {
    expect(Object.keys(decodeAccessParams({}) as object)).toEqual(['requestAccess', 'accessWindow']);
    expect(Object.keys(decodeAccessParams({ requestAccess: true }) as object)).toEqual(['requestAccess', 'accessWindow']);
  });
});

describe('checkInPassword', () => {
  it('is a command name and a capability, with accessRequests', () => {
    expect(COMMAND_NAMES).toContain('checkInPassword');
    expect(CAPABILITIES).toEqual(['listAccounts', 'getPassword', 'sealedDelivery', 'checkInPassword', 'accessRequests']);
  });

  it('decodes getPassword\'s params minus the password-only ones (ignored when sent)', () => {
    const m = message(
      decodeControllerFrame(frame('checkInPassword', { ...base, recipientKey: 'x', requestAccess: 'junk', accessWindow: 5, ticketId: '', reason: '  ' })),
    );
    expect(m).toEqual({
      type: 'command',
      id: 'c-1',
      epoch: 8,
      timeoutMs: 10000,
      name: 'checkInPassword',
      params: { vault: 'pmp-prod', resource: { ...resource, name: undefined }, accountId: '902', ticketId: undefined, reason: undefined, requestedBy: 'alice@example.com' },
    });
    expect(m.type === 'command' && Object.keys(m.params).sort()).toEqual(['accountId', 'reason', 'requestedBy', 'resource', 'ticketId', 'vault']);
  });

  it.each([
    ['accountId missing', { ...base, accountId: undefined }],
    ['accountId a name', { ...base, accountId: 'administrator' }],
    ['ticketId a number', { ...base, ticketId: 5 }],
    ['requestedBy too long', { ...base, requestedBy: 'u'.repeat(257) }],
    ['resource missing', { ...base, resource: undefined }],
  ])('%s is BAD_REQUEST', (_label, params) => {
    expect(decodeControllerFrame(frame('checkInPassword', params))).toMatchObject({ kind: 'rejected', code: 'BAD_REQUEST', id: 'c-1' });
  });
});

describe('error.retryAfterMs', () => {
  it('GatewayError.toWire carries it only when given', () => {
    expect(new GatewayError('APPROVAL_PENDING', 'waits', { retryAfterMs: 30_000 }).toWire()).toEqual({
      code: 'APPROVAL_PENDING',
      message: 'waits',
      retryable: true,
      retryAfterMs: 30_000,
    });
    expect(Object.keys(new GatewayError('APPROVAL_DENIED', 'no').toWire())).toEqual(['code', 'message', 'retryable']);
  });

  it('a result frame keeps it (the controller side), and drops a value that is not a non-negative integer', () => {
    const pending: ResultMessage = { type: 'result', id: 'a', epoch: 1, ok: false, error: { code: 'APPROVAL_PENDING', message: 'm', retryable: true, retryAfterMs: 30_000 } };
    expect(message(decodeGatewayFrame(encode(pending)))).toEqual(pending);
    for (const bad of [-1, 1.5, '30000', null]) {
      const m = message(decodeGatewayFrame(j({ ...pending, error: { ...pending.error, retryAfterMs: bad } })));
      expect(m.type === 'result' && !m.ok && m.error).toEqual({ code: 'APPROVAL_PENDING', message: 'm', retryable: true });
    }
  });
});
