import { FaultTable, validateFault } from '../../../src/sim/pmp/faults.js';
import { compileResponses, MSG, OP } from '../../../src/sim/pmp/responses.js';
import { isLoopbackAddress } from '../../../src/sim/pmp/auth.js';
import { SAMPLE_DATA, validateSimData } from '../../../src/sim/pmp/sim-data.js';

describe('validateFault', () => {
  it('accepts every kind, with match and count', () => {
    for (const kind of ['close', 'http500', 'empty', 'nonjson', 'hang']) {
      expect(validateFault({ kind, match: '/password', count: 2 })).toEqual({ kind, match: '/password', count: 2 });
    }
  });
  it.each([
    [null, ''],
    [{ kind: 'explode' }, 'kind'],
    [{ kind: 'close', count: 0 }, 'count'],
    [{ kind: 'close', count: 1.5 }, 'count'],
    [{ kind: 'close', match: 3 }, 'match'],
    [{ kind: 'close', times: 3 }, 'times'],
  ])('refuses %j naming "%s"', (raw, keyPath) => {
    expect(() => validateFault(raw)).toThrow(expect.objectContaining({ code: 'SIM_FAULT_INVALID', keyPath }));
  });
});

describe('FaultTable', () => {
  it('spends a counted fault and then lets requests through', () => {
    const t = new FaultTable();
    t.add({ kind: 'http500', count: 2 });
    expect([t.take('/a'), t.take('/b'), t.take('/c')]).toEqual(['http500', 'http500', undefined]);
    expect(t.size).toBe(0);
  });
  it('takes only matching paths, first injected first', () => {
    const t = new FaultTable();
    t.add({ kind: 'close', match: '/password', count: 1 });
    t.add({ kind: 'empty' });
    expect(t.take('/restapi/json/v1/resources')).toBe('empty');
    expect(t.take('/restapi/json/v1/resources/1/accounts/2/password')).toBe('close');
    expect(t.take('/restapi/json/v1/resources/1/accounts/2/password')).toBe('empty');
    t.clear();
    expect(t.take('/x')).toBeUndefined();
  });
});

describe('compileResponses', () => {
  const parse = (b: Buffer): any => JSON.parse(b.toString('utf8'));

  it('omits Details on an empty resource list', () => {
    const c = compileResponses(validateSimData({ apiUsers: SAMPLE_DATA.apiUsers, resources: [] }), 'pmp-new');
    const op = parse(c.resourceList(null)).operation;
    expect(op.totalRows).toBe(0);
    expect('Details' in op).toBe(false);
  });
  it.each(['pmp-new', 'pmp-old', 'pam360'] as const)('%s builds Failed envelopes without Details or statusCode', (variant) => {
    const f = parse(compileResponses(SAMPLE_DATA, variant).failed(OP.password, MSG.ticketRequired));
    expect(f).toEqual({ operation: { name: 'GET PASSWORD', result: { status: 'Failed', message: MSG.ticketRequired } } });
  });
  it('marks access-controlled passwords "[Request]" (only pmp-old serves that body)', () => {
    const c = compileResponses(SAMPLE_DATA, 'pmp-old');
    expect(parse(c.byId.get('301')!.byId.get('905')!.password).operation.Details).toEqual({ PASSWORD: '[Request]' });
  });
});

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['fe80::1', false],
    [undefined, false],
  ])('%s → %s', (addr, expected) => {
    expect(isLoopbackAddress(addr)).toBe(expected);
  });
});
