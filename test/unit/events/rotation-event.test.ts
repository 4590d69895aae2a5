import { buildRotationEvent, rotationEventId, type RotationNotice } from '../../../src/events/index.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { parseIsoTime } from '../../../src/protocol/index.js';

const at = (iso: string): number => {
  const ms = parseIsoTime(iso);
  if (ms === null) throw new Error(`bad time ${iso}`);
  return ms;
};

const notice: RotationNotice = {
  vault: 'pmp-prod',
  resourceName: 'Windows_Jump_Box',
  dnsName: 'jump01.corp.local',
  accountName: 'administrator',
  rotatedAtMs: at('2026-12-03T10:15:02.120Z'),
  source: 'listener',
};

describe('rotationEventId: one change, one id', () => {
  it('is "ev-" and 32 hex digits, stable across releases', () => {
    const id = rotationEventId(notice);
    expect(id).toMatch(/^ev-[0-9a-f]{32}$/);
    // A change here re-sends and duplicates every stored event at the controller: keep it fixed.
    // sha256('["credentialRotated","pmp-prod","Windows_Jump_Box","administrator",1796292902]'), first 32 hex digits
    expect(id).toBe('ev-4c0131a35a3f1bdfa78d4c1674bc16cf');
  });

  it('the listener (milliseconds, UTC) and syslog (seconds, another zone) of the same change agree', () => {
    const listener = buildRotationEvent({ ...notice, rotatedAtMs: at('2026-12-03T10:15:02.987Z'), source: 'listener' });
    const syslog = buildRotationEvent({ ...notice, dnsName: undefined, rotatedAtMs: at('2026-12-03T11:15:02+01:00'), source: 'syslog' });
    const audit = buildRotationEvent({ ...notice, resourceId: '301', accountId: '902', rotatedAtMs: at('2026-12-03T10:15:02Z'), source: 'audit' });
    expect(syslog.id).toBe(listener.id);
    expect(audit.id).toBe(listener.id);
  });

  it('both gateways of a pair agree: nothing of the gateway (receive time, ids it resolved, dnsName) enters the id', () => {
    expect(rotationEventId(notice)).toBe(rotationEventId({ ...notice }));
    expect(buildRotationEvent({ ...notice, resourceId: '301', dnsName: undefined }).id).toBe(buildRotationEvent(notice).id);
  });

  it('another second, vault, resource or account is another change', () => {
    const id = rotationEventId(notice);
    expect(rotationEventId({ ...notice, rotatedAtMs: at('2026-12-03T10:15:03Z') })).not.toBe(id);
    expect(rotationEventId({ ...notice, rotatedAtMs: at('2026-12-03T10:15:01.999Z') })).not.toBe(id);
    expect(rotationEventId({ ...notice, vault: 'pmp-dr' })).not.toBe(id);
    expect(rotationEventId({ ...notice, resourceName: 'Windows_Jump_Box2' })).not.toBe(id);
    expect(rotationEventId({ ...notice, accountName: 'svc_backup' })).not.toBe(id);
  });

  it('keeps the case of names (the vault tells them apart) but not their Unicode form', () => {
    expect(rotationEventId({ ...notice, accountName: 'Administrator' })).not.toBe(rotationEventId(notice));
    expect(rotationEventId({ ...notice, resourceName: 'WINDOWS_JUMP_BOX' })).not.toBe(rotationEventId(notice));
    const composed = 'Caf\u00e9';
    const decomposed = 'Cafe\u0301';
    expect(rotationEventId({ ...notice, resourceName: decomposed })).toBe(rotationEventId({ ...notice, resourceName: composed }));
  });

  it('fields cannot run into each other', () => {
    expect(rotationEventId({ ...notice, resourceName: 'a:b', accountName: 'c' })).not.toBe(rotationEventId({ ...notice, resourceName: 'a', accountName: 'b:c' }));
    expect(rotationEventId({ ...notice, resourceName: 'a","b', accountName: 'c' })).not.toBe(rotationEventId({ ...notice, resourceName: 'a', accountName: 'b","c' }));
  });
});

describe('buildRotationEvent', () => {
  it('builds the credentialRotated event of section 11, time in UTC with milliseconds', () => {
    expect(buildRotationEvent({ ...notice, resourceId: '301', accountId: '902' })).toEqual({
      type: 'event',
      id: rotationEventId(notice),
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
    });
  });

  it('leaves out empty optional fields', () => {
    const ev = buildRotationEvent({ ...notice, dnsName: '', resourceId: '', accountId: undefined });
    expect(Object.keys(ev.data).sort()).toEqual(['accountName', 'resourceName', 'rotatedAt', 'source', 'vault']);
  });

  it('never carries a password, whatever the notice object holds', () => {
    const careless = { ...notice, password: 'N3w-S3cret!', oldPassword: '0ld-S3cret!' } as RotationNotice;
    const text = JSON.stringify(buildRotationEvent(careless));
    expect(text).not.toContain('S3cret');
    expect(text.toLowerCase()).not.toContain('password');
  });

  it.each([
    ['an empty resource name', { resourceName: '' }, 'resourceName must be a string of 1-512 characters'],
    ['a long account name', { accountName: 'a'.repeat(513) }, 'accountName must be a string of 1-512 characters'],
    ['an empty vault', { vault: '' }, 'vault must be a string of 1-128 characters'],
    ['a resource ID that is not digits', { resourceId: '3O1' }, 'resourceId must be a string of 1-64 digits'],
    ['an unknown source', { source: 'mail' }, 'source must be one of listener, syslog, audit'],
    ['no time', { rotatedAtMs: Number.NaN }, 'rotatedAt is not a time'],
    ['a time out of range', { rotatedAtMs: 9e15 }, 'rotatedAt is not a time'],
  ])('%s is BAD_REQUEST', (_name, patch, message) => {
    let caught: unknown;
    try {
      buildRotationEvent({ ...notice, ...patch } as RotationNotice);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(GatewayError);
    expect((caught as GatewayError).code).toBe('BAD_REQUEST');
    expect((caught as Error).message).toBe(message);
  });
});
