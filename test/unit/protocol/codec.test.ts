import {
  decodeControllerFrame,
  decodeGatewayFrame,
  encode,
  LIMITS,
  truncate,
  type CommandMessage,
  type Decoded,
  type GatewayMessage,
  type HelloMessage,
  type ControllerMessage,
} from '../../../src/protocol/index.js';

const j = (v: unknown): string => JSON.stringify(v);

function message<T>(d: Decoded<T>): T {
  if (d.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(d)}`);
  return d.message;
}

const resource = { id: 'opsramp-7d1', name: 'Windows_Jump_Box', customAttributes: { 'PMP Resource ID': '301' } };
const listAccounts = { type: 'command', id: '0f8e', epoch: 8, name: 'listAccounts', timeoutMs: 10000, params: { vault: 'pmp-prod', resource } };
const getPassword = {
  type: 'command',
  id: '1a2b',
  epoch: 8,
  name: 'getPassword',
  timeoutMs: 10000,
  params: {
    vault: 'pmp-prod',
    resource: { id: 'opsramp-7d1', customAttributes: { 'PMP Resource ID': '301' } },
    accountId: '902',
    ticketId: 'INC-1042',
    reason: 'Remote console launch',
    requestedBy: 'alice@example.com',
    recipientKey: '-----BEGIN PUBLIC KEY-----x',
  },
};

function command(patch: Record<string, unknown>, base: Record<string, unknown> = getPassword): string {
  return j({ ...base, ...patch });
}
function withParams(patch: Record<string, unknown>, base: typeof getPassword | typeof listAccounts = getPassword): string {
  return j({ ...base, params: { ...base.params, ...patch } });
}

describe('decodeControllerFrame: frames that are not messages (section 8)', () => {
  it.each([
    ['not JSON', '{"type":', 'frame is not JSON'],
    ['empty text', '', 'frame is not JSON'],
    ['an array', '[1,2]', 'frame is not a JSON object'],
    ['null', 'null', 'frame is not a JSON object'],
    ['a number', '42', 'frame is not a JSON object'],
    ['a string', '"welcome"', 'frame is not a JSON object'],
    ['no type', '{"protocol":1}', 'frame has no type'],
    ['a numeric type', '{"type":7}', 'frame has no type'],
    ['an unknown type', '{"type":"hello"}', 'unknown frame type "hello"'],
    ['a gateway-only type', '{"type":"result","id":"a","epoch":1,"ok":true,"data":{}}', 'unknown frame type "result"'],
  ])('%s is a violation', (_name, text, reason) => {
    expect(decodeControllerFrame(text)).toEqual({ kind: 'violation', reason });
  });

  it('truncates a long unknown type in the reason', () => {
    const d = decodeControllerFrame(j({ type: 'x'.repeat(500) }));
    expect(d.kind).toBe('violation');
    expect((d as { reason: string }).reason).toBe(`unknown frame type "${'x'.repeat(40)}…"`);
  });
});

describe('decodeControllerFrame: welcome', () => {
  it('decodes the example of section 3', () => {
    expect(message(decodeControllerFrame('{"type":"welcome","protocol":1,"heartbeatMs":1000,"role":"standby","epoch":7}'))).toEqual({
      type: 'welcome',
      protocol: 1,
      heartbeatMs: 1000,
      role: 'standby',
      epoch: 7,
    });
  });

  it('defaults heartbeatMs to 1000 and drops unknown fields', () => {
    expect(message(decodeControllerFrame(j({ type: 'welcome', protocol: 1, role: 'active', epoch: 0, extra: true })))).toEqual({
      type: 'welcome',
      protocol: 1,
      heartbeatMs: 1000,
      role: 'active',
      epoch: 0,
    });
  });

  it.each([2, 0, '1', null, undefined])('protocol %p is a version mismatch', (protocol) => {
    const d = decodeControllerFrame(j({ type: 'welcome', protocol, role: 'active', epoch: 1 }));
    expect(d.kind).toBe('version');
  });

  it.each([
    ['heartbeatMs', 49],
    ['heartbeatMs', 600_001],
    ['heartbeatMs', 100.5],
    ['heartbeatMs', '1000'],
    ['role', 'leader'],
    ['role', undefined],
    ['epoch', -1],
    ['epoch', 1.5],
    ['epoch', '7'],
    ['epoch', 2 ** 53],
  ])('%s = %p is a violation', (key, value) => {
    const frame = { type: 'welcome', protocol: 1, heartbeatMs: 1000, role: 'active', epoch: 1, [key]: value };
    expect(decodeControllerFrame(j(frame)).kind).toBe('violation');
  });

  it.each([50, 600_000])('heartbeatMs %i is accepted', (heartbeatMs) => {
    expect(message(decodeControllerFrame(j({ type: 'welcome', protocol: 1, heartbeatMs, role: 'active', epoch: 1 })))).toMatchObject({ heartbeatMs });
  });
});

describe('decodeControllerFrame: role', () => {
  it('decodes a role change', () => {
    expect(message(decodeControllerFrame('{"type":"role","role":"active","epoch":8}'))).toEqual({ type: 'role', role: 'active', epoch: 8 });
  });
  it.each([
    [{ role: 'primary', epoch: 8 }],
    [{ role: 'active' }],
    [{ role: 'active', epoch: -8 }],
    [{ epoch: 8 }],
  ])('%j is a violation', (fields) => {
    expect(decodeControllerFrame(j({ type: 'role', ...fields })).kind).toBe('violation');
  });
});

describe('decodeControllerFrame: command (section 5)', () => {
  it('decodes the listAccounts example', () => {
    expect(message(decodeControllerFrame(j(listAccounts)))).toEqual({
      type: 'command',
      id: '0f8e',
      epoch: 8,
      timeoutMs: 10000,
      name: 'listAccounts',
      params: { vault: 'pmp-prod', resource, offset: 0, limit: 500 },
    });
  });

  it('takes listAccounts paging: offset >= 0, limit 1-1000; anything else is BAD_REQUEST', () => {
    const paged = message(decodeControllerFrame(withParams({ offset: 1500, limit: 1000 }, listAccounts)));
    expect(paged.type === 'command' && paged.params).toEqual({ vault: 'pmp-prod', resource, offset: 1500, limit: 1000 });
    for (const bad of [{ offset: -1 }, { offset: 1.5 }, { offset: '0' }, { limit: 0 }, { limit: 1001 }, { limit: 2.5 }]) {
      const d = decodeControllerFrame(withParams(bad, listAccounts));
      expect(d).toMatchObject({ kind: 'rejected', id: '0f8e', code: 'BAD_REQUEST', message: expect.stringMatching(/^params\.(offset|limit) /) });
    }
  });

  it('decodes the getPassword example', () => {
    const m = message(decodeControllerFrame(j(getPassword))) as CommandMessage;
    expect(m).toEqual({
      type: 'command',
      id: '1a2b',
      epoch: 8,
      timeoutMs: 10000,
      name: 'getPassword',
      params: {
        vault: 'pmp-prod',
        resource: { id: 'opsramp-7d1', name: undefined, customAttributes: { 'PMP Resource ID': '301' } },
        accountId: '902',
        ticketId: 'INC-1042',
        reason: 'Remote console launch',
        requestedBy: 'alice@example.com',
        recipientKey: '-----BEGIN PUBLIC KEY-----x',
      },
    });
  });

  it('drops fields a listAccounts does not take', () => {
    const m = message(decodeControllerFrame(withParams({ accountId: '1', password: 'x' }, listAccounts)));
    expect(m.type === 'command' && m.params).toEqual({ vault: 'pmp-prod', resource, offset: 0, limit: 500 });
  });

  describe('an unusable id is a violation (no result can name it)', () => {
    it.each([undefined, '', 'a'.repeat(129), 'a b', 'a/b', 'é', 12, null])('id %p', (id) => {
      expect(decodeControllerFrame(command({ id })).kind).toBe('violation');
    });
    it.each(['a'.repeat(128), 'A-z_0.9:x'.replace('_', '-'), 'x'])('id %p is fine', (id) => {
      expect(decodeControllerFrame(command({ id })).kind).toBe('message');
    });
  });

  it('an invalid epoch is BAD_REQUEST with epoch null', () => {
    for (const epoch of [undefined, -1, 1.5, '8', null]) {
      expect(decodeControllerFrame(command({ epoch }))).toEqual({
        kind: 'rejected',
        id: '1a2b',
        epoch: null,
        code: 'BAD_REQUEST',
        message: 'epoch must be a non-negative integer',
      });
    }
  });

  it('an unknown name is UNKNOWN_COMMAND, keeping id and epoch', () => {
    expect(decodeControllerFrame(command({ name: 'rotatePassword' }))).toEqual({
      kind: 'rejected',
      id: '1a2b',
      epoch: 8,
      code: 'UNKNOWN_COMMAND',
      message: 'unknown command "rotatePassword"',
    });
    const long = decodeControllerFrame(command({ name: 'n'.repeat(1000) }));
    expect(long.kind === 'rejected' && long.message.length).toBeLessThan(100);
  });

  it.each([undefined, 5, null, ['getPassword']])('a name of %p is BAD_REQUEST', (name) => {
    expect(decodeControllerFrame(command({ name }))).toMatchObject({ kind: 'rejected', code: 'BAD_REQUEST', id: '1a2b', epoch: 8 });
  });

  describe('timeoutMs (100-120000, default 10000)', () => {
    it('defaults to 10000', () => {
      const frame = { ...getPassword } as Record<string, unknown>;
      delete frame['timeoutMs'];
      expect(message(decodeControllerFrame(j(frame)))).toMatchObject({ timeoutMs: 10000 });
    });
    it.each([100, 120_000, 5000])('%i is accepted', (timeoutMs) => {
      expect(message(decodeControllerFrame(command({ timeoutMs })))).toMatchObject({ timeoutMs });
    });
    it('null counts as absent (the codec reads missing and null alike)', () => {
      expect(message(decodeControllerFrame(command({ timeoutMs: null })))).toMatchObject({ timeoutMs: 10000 });
    });
    it.each([99, 120_001, 0, -5, 1000.5, '1000', true])('%p is BAD_REQUEST', (timeoutMs) => {
      expect(decodeControllerFrame(command({ timeoutMs }))).toMatchObject({
        kind: 'rejected',
        code: 'BAD_REQUEST',
        message: 'timeoutMs must be an integer from 100 to 120000',
      });
    });
  });

  describe('params', () => {
    it.each([
      ['params missing', command({ params: undefined })],
      ['params an array', command({ params: [] })],
      ['vault missing', withParams({ vault: undefined })],
      ['vault empty', withParams({ vault: '' })],
      ['vault too long', withParams({ vault: 'v'.repeat(LIMITS.vaultName + 1) })],
      ['vault a number', withParams({ vault: 1 })],
      ['resource missing', withParams({ resource: undefined })],
      ['resource a string', withParams({ resource: '301' })],
      ['resource.id a number', withParams({ resource: { id: 5, customAttributes: {} } })],
      ['resource.name too long', withParams({ resource: { name: 'n'.repeat(LIMITS.resourceField + 1) } })],
      ['customAttributes an array', withParams({ resource: { customAttributes: ['301'] } })],
      ['customAttributes too many', withParams({ resource: { customAttributes: Object.fromEntries(Array.from({ length: LIMITS.attributes + 1 }, (_, i) => [`a${i}`, 'v'])) } })],
      ['attribute name too long', withParams({ resource: { customAttributes: { ['k'.repeat(LIMITS.attributeName + 1)]: 'v' } } })],
      ['attribute value too long', withParams({ resource: { customAttributes: { k: 'v'.repeat(LIMITS.attributeValue + 1) } } })],
      ['accountId missing', withParams({ accountId: undefined })],
      ['accountId a name', withParams({ accountId: 'administrator' })],
      ['accountId a number', withParams({ accountId: 902 })],
      ['accountId with a path', withParams({ accountId: '902/../1' })],
      ['accountId too long', withParams({ accountId: '9'.repeat(65) })],
      ['ticketId a number', withParams({ ticketId: 1042 })],
      ['ticketId too long', withParams({ ticketId: 't'.repeat(LIMITS.ticketId + 1) })],
      ['reason too long', withParams({ reason: 'r'.repeat(LIMITS.reason + 1) })],
      ['requestedBy an object', withParams({ requestedBy: { user: 'alice' } })],
      ['recipientKey too long', withParams({ recipientKey: 'k'.repeat(LIMITS.recipientKey + 1) })],
    ])('%s is BAD_REQUEST for that id', (_name, text) => {
      const d = decodeControllerFrame(text);
      expect(d).toMatchObject({ kind: 'rejected', code: 'BAD_REQUEST', id: '1a2b', epoch: 8 });
      expect(d.kind === 'rejected' && d.message.length).toBeGreaterThan(0);
    });

    it('accepts limits exactly', () => {
      const text = withParams({
        vault: 'v'.repeat(LIMITS.vaultName),
        accountId: '9'.repeat(64),
        ticketId: 't'.repeat(LIMITS.ticketId),
        reason: 'r'.repeat(LIMITS.reason),
        requestedBy: 'u'.repeat(LIMITS.requestedBy),
        resource: { name: 'n'.repeat(LIMITS.resourceField), customAttributes: { ['k'.repeat(LIMITS.attributeName)]: 'v'.repeat(LIMITS.attributeValue) } },
      });
      expect(decodeControllerFrame(text).kind).toBe('message');
    });

    it('turns empty or blank optional strings into absent ones', () => {
      const m = message(decodeControllerFrame(withParams({ ticketId: '', reason: '  ', requestedBy: '', recipientKey: '' })));
      expect(m.type === 'command' && m.name === 'getPassword' && m.params).toMatchObject({
        ticketId: undefined,
        reason: undefined,
        requestedBy: undefined,
        recipientKey: undefined,
      });
    });

    it('a resource without customAttributes gets an empty map', () => {
      const m = message(decodeControllerFrame(withParams({ resource: { id: 'x' } }, listAccounts)));
      expect(m.type === 'command' && m.params.resource).toEqual({ id: 'x', name: undefined, customAttributes: {} });
    });

    it('coerces attribute values: strings kept, non-negative integers stringified, the rest dropped', () => {
      const attrs = { s: 'Windows', n: 301, zero: 0, neg: -1, float: 1.5, huge: 2 ** 60, bool: true, nul: null, obj: { a: 1 }, arr: ['1'] };
      const m = message(decodeControllerFrame(withParams({ resource: { customAttributes: attrs } }, listAccounts)));
      expect(m.type === 'command' && m.params.resource.customAttributes).toEqual({ s: 'Windows', n: '301', zero: '0' });
    });
  });
});

describe('decodeGatewayFrame', () => {
  const hello: HelloMessage = {
    type: 'hello',
    protocol: 1,
    gatewayId: 'gw-a',
    clusterId: 'site-1',
    version: '1.4.2',
    priority: 100,
    capabilities: ['listAccounts', 'getPassword', 'sealedDelivery'],
    vaults: [{ name: 'pmp-prod', healthy: true }],
  };

  it('round-trips every gateway message through encode', () => {
    const messages: GatewayMessage[] = [
      hello,
      { type: 'result', id: '0f8e', epoch: 8, ok: true, data: { resourceId: '301', accounts: [] } },
      { type: 'result', id: '1a2b', epoch: 8, ok: false, error: { code: 'TICKET_ID_REQUIRED', message: 'ticket', retryable: false } },
      { type: 'resign', epoch: 8 },
      { type: 'health', vaults: [{ name: 'pmp-prod', healthy: false, error: 'VAULT_UNREACHABLE' }] },
    ];
    for (const m of messages) expect(message(decodeGatewayFrame(encode(m)))).toEqual(m);
  });

  it('hello: defaults priority, capabilities and vaults', () => {
    expect(message(decodeGatewayFrame(j({ type: 'hello', protocol: 1, gatewayId: 'g', clusterId: 'c', version: '1' })))).toEqual({
      type: 'hello',
      protocol: 1,
      gatewayId: 'g',
      clusterId: 'c',
      version: '1',
      priority: 0,
      capabilities: [],
      vaults: [],
    });
  });

  it('hello of another version is a version mismatch', () => {
    expect(decodeGatewayFrame(j({ ...hello, protocol: 2 })).kind).toBe('version');
  });

  it.each([
    ['gatewayId', 'gw a'],
    ['clusterId', ''],
    ['version', ''],
    ['version', 'v'.repeat(LIMITS.version + 1)],
    ['priority', 1.5],
    ['priority', '100'],
    ['capabilities', 'all'],
    ['capabilities', [1]],
    ['capabilities', Array.from({ length: LIMITS.capabilities + 1 }, () => 'c')],
    ['vaults', [{ name: 'x' }]],
    ['vaults', [{ name: '', healthy: true }]],
    ['vaults', {}],
  ])('hello.%s = %j is a violation', (key, value) => {
    expect(decodeGatewayFrame(j({ ...hello, [key]: value })).kind).toBe('violation');
  });

  it('health drops an unknown error code but keeps the entry', () => {
    expect(message(decodeGatewayFrame(j({ type: 'health', vaults: [{ name: 'v', healthy: false, error: 'NOPE' }] })))).toEqual({
      type: 'health',
      vaults: [{ name: 'v', healthy: false }],
    });
  });

  it.each([
    [{ type: 'result', id: 'a b', epoch: 1, ok: true, data: {} }],
    [{ type: 'result', id: 'a', epoch: -1, ok: true, data: {} }],
    [{ type: 'result', id: 'a', epoch: 1, ok: true }],
    [{ type: 'result', id: 'a', epoch: 1, ok: true, data: [] }],
    [{ type: 'result', id: 'a', epoch: 1, ok: 'yes', data: {} }],
    [{ type: 'result', id: 'a', epoch: 1, ok: false, error: { code: 'OOPS', message: 'm', retryable: false } }],
    [{ type: 'result', id: 'a', epoch: 1, ok: false, error: { code: 'INTERNAL', message: 5, retryable: true } }],
    [{ type: 'result', id: 'a', epoch: 1, ok: false, error: { code: 'INTERNAL', message: 'm' } }],
    [{ type: 'resign' }],
    [{ type: 'health', vaults: 'x' }],
    [{ type: 'welcome', protocol: 1, role: 'active', epoch: 1 }],
  ])('%j is a violation', (frame) => {
    expect(decodeGatewayFrame(j(frame)).kind).toBe('violation');
  });

  it('truncates a long error message', () => {
    const m = message(decodeGatewayFrame(j({ type: 'result', id: 'a', epoch: 1, ok: false, error: { code: 'INTERNAL', message: 'm'.repeat(10_000), retryable: true } })));
    expect(m.type === 'result' && !m.ok && m.error.message.length).toBe(LIMITS.message + 1);
  });
});

describe('truncate', () => {
  it('keeps short text and marks cut text', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('abc…');
  });
});

describe('garbage never throws', () => {
  // A small deterministic PRNG so a failure reproduces.
  function prng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const ALPHABET = '{}[]":,0123456789.-eE truefalsnul\\typecommandwelcomerole id epoch params vault resource customAttributes \u00e9\u{1F600}\u0000';

  function randomText(rnd: () => number): string {
    const len = Math.floor(rnd() * 200);
    let s = '';
    for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)] ?? '';
    return s;
  }

  function randomValue(rnd: () => number, depth = 0): unknown {
    const pick = Math.floor(rnd() * (depth > 3 ? 6 : 8));
    switch (pick) {
      case 0:
        return null;
      case 1:
        return rnd() < 0.5;
      case 2:
        return Math.floor(rnd() * 2 ** 40) * (rnd() < 0.3 ? -1 : 1) + (rnd() < 0.2 ? 0.5 : 0);
      case 3:
        return ['', 'active', 'getPassword', 'listAccounts', '301', 'x'.repeat(300), '__proto__'][Math.floor(rnd() * 7)];
      case 4:
        return 'PMP Resource ID';
      case 5:
        return 1;
      case 6:
        return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
      default: {
        const keys = ['type', 'id', 'epoch', 'name', 'timeoutMs', 'params', 'vault', 'resource', 'customAttributes', 'accountId', 'protocol', 'role', 'heartbeatMs', '__proto__', 'constructor'];
        const o: Record<string, unknown> = {};
        for (let i = Math.floor(rnd() * 6); i > 0; i--) o[keys[Math.floor(rnd() * keys.length)] ?? 'x'] = randomValue(rnd, depth + 1);
        return o;
      }
    }
  }

  it('random text', () => {
    const rnd = prng(1);
    for (let i = 0; i < 3000; i++) {
      const text = randomText(rnd);
      expect(() => decodeControllerFrame(text)).not.toThrow();
      expect(() => decodeGatewayFrame(text)).not.toThrow();
    }
  });

  it('random JSON shaped like our frames, and every verdict is one of the four kinds', () => {
    const rnd = prng(2);
    const kinds = new Set<string>();
    const bases = [listAccounts, getPassword, { type: 'welcome', protocol: 1, role: 'active', epoch: 1 }, { type: 'role', role: 'standby', epoch: 2 }];
    for (let i = 0; i < 3000; i++) {
      const base = bases[i % bases.length] as Record<string, unknown>;
      const frame: Record<string, unknown> = { ...base };
      const key = Object.keys(base)[Math.floor(rnd() * Object.keys(base).length)] ?? 'type';
      frame[key] = randomValue(rnd);
      if (rnd() < 0.3 && typeof base['params'] === 'object') {
        frame['params'] = { ...(base['params'] as object), [['vault', 'resource', 'accountId', 'ticketId'][Math.floor(rnd() * 4)] ?? 'vault']: randomValue(rnd) };
      }
      let d: Decoded<ControllerMessage> | undefined;
      expect(() => (d = decodeControllerFrame(j(frame)))).not.toThrow();
      kinds.add(d!.kind);
      expect(['message', 'violation', 'version', 'rejected']).toContain(d!.kind);
      expect(() => decodeGatewayFrame(j(randomValue(rnd)))).not.toThrow();
    }
    expect([...kinds].sort()).toEqual(['message', 'rejected', 'version', 'violation']);
  });
});
