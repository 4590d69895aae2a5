import { FETCH_WINDOW_MS, Policy } from '../../../src/commands/policy.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GatewayError } from '../../../src/shared/errors.js';

const base = { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null };

function code(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof GatewayError ? err.code : 'other';
  }
}

describe('Policy', () => {
  it('allows every resource when allowResources is null', () => {
    const p = new Policy(base, new ManualClock());
    expect(p.resourceAllowed({ ref: 'x', id: '1', name: undefined })).toBe('yes');
  });

  it('matches the attribute value, the ID or the name, ignoring case and spaces', () => {
    const p = new Policy({ ...base, allowResources: [' 301 ', 'Linux_Box'] }, new ManualClock());
    expect(p.resourceAllowed({ ref: '301', id: '301', name: undefined })).toBe('yes');
    expect(p.resourceAllowed({ ref: 'Windows_Jump_Box', id: '301', name: 'Windows_Jump_Box' })).toBe('yes');
    expect(p.resourceAllowed({ ref: '302', id: '302', name: 'LINUX_BOX' })).toBe('yes');
    expect(p.resourceAllowed({ ref: 'linux_box', id: '302', name: undefined })).toBe('yes');
    expect(p.resourceAllowed({ ref: '303', id: '303', name: undefined })).toBe('unknown');
    expect(p.resourceAllowed({ ref: '303', id: '303', name: 'Other' })).toBe('no');
    expect(code(() => p.assertResource({ ref: '303', id: '303', name: undefined }))).toBe('POLICY_DENIED');
  });

  it('denies account names without regard to case', () => {
    const p = new Policy({ ...base, denyAccounts: ['Administrator', 'root'] }, new ManualClock());
    expect(p.hasDeniedAccounts).toBe(true);
    expect(p.accountDenied('ADMINISTRATOR')).toBe(true);
    expect(p.accountDenied('Root')).toBe(true);
    expect(p.accountDenied('backup')).toBe(false);
    expect(code(() => p.assertAccount('root'))).toBe('POLICY_DENIED');
    expect(new Policy(base, new ManualClock()).hasDeniedAccounts).toBe(false);
  });

  it('limits fetches per vault+resource+account over a sliding minute', () => {
    const clock = new ManualClock();
    const p = new Policy({ ...base, maxFetchesPerAccountPerMinute: 2 }, clock);
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('ok');
    clock.advance(FETCH_WINDOW_MS / 2);
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('ok');
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('POLICY_DENIED');
    expect(code(() => p.takeFetch('v', '1', '8'))).toBe('ok');
    expect(code(() => p.takeFetch('w', '1', '9'))).toBe('ok');
    expect(code(() => p.takeFetch('v', '2', '9'))).toBe('ok');
    clock.advance(FETCH_WINDOW_MS / 2 - 1);
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('POLICY_DENIED');
    clock.advance(1);
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('ok');
  });

  it('forgets idle windows so the map stays bounded', () => {
    const clock = new ManualClock();
    const p = new Policy({ ...base, maxFetchesPerAccountPerMinute: 5 }, clock);
    for (let i = 0; i < 50; i++) p.takeFetch('v', '1', String(i));
    expect(p.trackedAccounts).toBe(50);
    clock.advance(FETCH_WINDOW_MS + 1);
    p.takeFetch('v', '1', 'x');
    expect(p.trackedAccounts).toBe(1);
  });

  it('no limit when maxFetchesPerAccountPerMinute is null; update switches rules and keeps history', () => {
    const clock = new ManualClock();
    const p = new Policy(base, clock);
    for (let i = 0; i < 100; i++) p.takeFetch('v', '1', '9');
    expect(p.trackedAccounts).toBe(0);
    p.update({ ...base, maxFetchesPerAccountPerMinute: 1, denyAccounts: ['x'] });
    expect(p.accountDenied('X')).toBe(true);
    p.takeFetch('v', '1', '9');
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('POLICY_DENIED');
    p.update({ ...base, maxFetchesPerAccountPerMinute: 2 });
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('ok');
    expect(code(() => p.takeFetch('v', '1', '9'))).toBe('POLICY_DENIED');
  });
});
