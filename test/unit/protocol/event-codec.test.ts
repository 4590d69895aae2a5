import {
  CAPABILITIES,
  CAPABILITY_ROTATION_EVENTS,
  decodeAck,
  decodeControllerFrame,
  decodeEvent,
  decodeGatewayFrame,
  encodeEventFrame,
  EVENT_LIMITS,
  EXTENSION_CAPABILITIES,
  parseIsoTime,
  type Decoded,
  type EventMessage,
} from '../../../src/protocol/index.js';

function message<T>(d: Decoded<T>): T {
  if (d.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(d)}`);
  return d.message;
}

/** The example of section 11. */
const example = {
  type: 'event',
  id: 'ev-5d2a',
  name: 'credentialRotated',
  data: {
    vault: 'pmp-prod',
    resourceId: '301',
    resourceName: 'Windows_Jump_Box',
    dnsName: 'jump01.corp.local',
    accountId: '902',
    accountName: 'administrator',
    rotatedAt: '2026-12-03T10:15:02.120Z',
    source: 'listener',
  },
};

const withData = (patch: Record<string, unknown>): Record<string, unknown> => ({ ...example, data: { ...example.data, ...patch } });

describe('decodeEvent (section 11)', () => {
  it('decodes the example and round-trips it through encodeEventFrame', () => {
    const ev = message(decodeEvent(example));
    expect(ev).toEqual(example);
    expect(message(decodeEvent(JSON.parse(encodeEventFrame(ev)) as Record<string, unknown>))).toEqual(ev);
  });

  it('takes the optional fields as optional and drops unknown ones', () => {
    const ev = message(decodeEvent({ ...example, extra: 1, data: { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: '2026-12-03T10:15:02Z', source: 'syslog', note: 'x' } }));
    expect(ev).toEqual({ type: 'event', id: 'ev-5d2a', name: 'credentialRotated', data: { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: '2026-12-03T10:15:02Z', source: 'syslog' } });
  });

  it.each([
    ['an id with a space', { ...example, id: 'ev 1' }, 'event.id'],
    ['an id too long', { ...example, id: 'e'.repeat(129) }, 'event.id'],
    ['an unknown name', { ...example, name: 'credentialDeleted' }, 'event.name'],
    ['no data', { ...example, data: 'x' }, 'event.data must be an object'],
    ['an empty vault', withData({ vault: '' }), 'event.data.vault'],
    ['a long resourceName', withData({ resourceName: 'r'.repeat(EVENT_LIMITS.name + 1) }), 'event.data.resourceName'],
    ['no accountName', withData({ accountName: undefined }), 'event.data.accountName'],
    ['a resourceId that is not digits', withData({ resourceId: '30a' }), 'event.data.resourceId'],
    ['an empty accountId', withData({ accountId: '' }), 'event.data.accountId'],
    ['an empty dnsName', withData({ dnsName: '' }), 'event.data.dnsName'],
    ['a time without a zone', withData({ rotatedAt: '2026-12-03T10:15:02' }), 'event.data.rotatedAt'],
    ['an unknown source', withData({ source: 'email' }), 'event.data.source'],
    ['a password', withData({ newPassword: 'x' }), 'must not carry a password'],
    ['a PASSWORD in capitals', withData({ OLDPASSWORD: 'x' }), 'must not carry a password'],
  ])('%s is a violation', (_name, frame, reason) => {
    const d = decodeEvent(frame as Record<string, unknown>);
    expect(d.kind).toBe('violation');
    expect((d as { reason: string }).reason).toContain(reason);
  });

  it('accepts the limits exactly', () => {
    const ev = message(decodeEvent(withData({ resourceName: 'r'.repeat(512), accountName: 'a'.repeat(512), vault: 'v'.repeat(128), resourceId: '9'.repeat(64) })));
    expect(ev.data.resourceName).toHaveLength(512);
  });
});

describe('decodeAck', () => {
  it('decodes an ack and drops anything else', () => {
    expect(message(decodeAck({ type: 'ack', id: 'ev-5d2a', extra: true }))).toEqual({ type: 'ack', id: 'ev-5d2a' });
  });

  it.each([[undefined], [''], [7], ['x'.repeat(129)], ['ev/1']])('id %p is a violation', (id) => {
    expect(decodeAck({ type: 'ack', id }).kind).toBe('violation');
  });

  it('the gateway decoder takes it: an ack is a controller frame', () => {
    expect(decodeControllerFrame('{"type":"ack","id":"ev-1","extra":[1]}')).toEqual({ kind: 'message', message: { type: 'ack', id: 'ev-1' } });
    expect(decodeControllerFrame('{"type":"ack","id":"ev 1"}')).toEqual({ kind: 'violation', reason: 'ack.id must be 1-128 characters of [A-Za-z0-9._:-]' });
  });

  it('the controller decoder does not: an ack from a gateway is an unknown frame', () => {
    expect(decodeGatewayFrame('{"type":"ack","id":"ev-1"}')).toEqual({ kind: 'violation', reason: 'unknown frame type "ack"' });
  });
});

describe('event frames in the frame decoders', () => {
  it('the controller decoder takes an event: the same message as decodeEvent', () => {
    expect(decodeGatewayFrame(JSON.stringify({ ...example, extra: true }))).toEqual({ kind: 'message', message: example });
  });

  it('an event with a password field is a violation there too, and its value is not in the reason', () => {
    const d = decodeGatewayFrame(JSON.stringify(withData({ newPassword: 'Sup3r-S3cret' })));
    expect(d).toEqual({ kind: 'violation', reason: 'event.data must not carry a password field' });
  });

  it('an event whose fields are wrong is a violation (no result names it)', () => {
    expect(decodeGatewayFrame(JSON.stringify(withData({ source: 'email' }))).kind).toBe('violation');
  });

  it('the gateway decoder does not take an event: it is a gateway frame', () => {
    expect(decodeControllerFrame(JSON.stringify(example))).toEqual({ kind: 'violation', reason: 'unknown frame type "event"' });
  });
});

describe('rotationEvents capability', () => {
  it('is an extension, not announced by default', () => {
    expect(CAPABILITY_ROTATION_EVENTS).toBe('rotationEvents');
    expect(EXTENSION_CAPABILITIES).toContain('rotationEvents');
    expect(CAPABILITIES as readonly string[]).not.toContain('rotationEvents');
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2026-12-03T10:15:02Z', Date.UTC(2026, 11, 3, 10, 15, 2)],
    ['2026-12-03T10:15:02.120Z', Date.UTC(2026, 11, 3, 10, 15, 2, 120)],
    ['2026-12-03T10:15:02.1Z', Date.UTC(2026, 11, 3, 10, 15, 2, 100)],
    ['2026-12-03T10:15:02.999999999Z', Date.UTC(2026, 11, 3, 10, 15, 2, 999)],
    ['2026-12-03T11:15:02+01:00', Date.UTC(2026, 11, 3, 10, 15, 2)],
    ['2026-12-03T05:45:02-04:30', Date.UTC(2026, 11, 3, 10, 15, 2)],
    ['2026-12-03t10:15:02z', Date.UTC(2026, 11, 3, 10, 15, 2)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
  ])('%s', (text, ms) => {
    expect(parseIsoTime(text)).toBe(ms);
  });

  it.each(['2026-12-03T10:15:02', '2026-12-03 10:15:02Z', '2026-13-03T10:15:02Z', '2026-04-31T10:15:02Z', '2023-02-29T00:00:00Z', '2026-12-03T24:00:00Z', '2026-12-03T10:15:60Z', '2026-12-03T10:15:02+25:00', '0099-01-01T00:00:00Z', '1969-12-31T23:59:59Z', 'yesterday', '', `2026-12-03T10:15:02.${'1'.repeat(60)}Z`])(
    '%p is refused',
    (text) => {
      expect(parseIsoTime(text)).toBeNull();
    },
  );
});

// The type is used by the gateway's sender; keep the example assignable to it.
const typed: EventMessage = example as EventMessage;
void typed;
