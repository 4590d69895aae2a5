import { describe, expect, it } from '@jest/globals';
import { AuditRulesError, bsdTimeToUtcMs, operationKey, Pam360AuditRecognizer, wallTimeToUtcMs } from '../../../src/notices/index.js';

describe('Pam360AuditRecognizer (the documented line)', () => {
  const r = new Pam360AuditRecognizer();

  it('takes resource, account and the vault time out of a reset line', () => {
    expect(r.recognise('admin: Password_Reset 2026/12/03 10:15:02 Success 10.1.2.3 Windows_Jump_Box:administrator:Scheduled rotation')).toEqual({
      kind: 'rotation',
      operation: 'Password_Reset',
      resourceName: 'Windows_Jump_Box',
      accountName: 'administrator',
      rotatedAt: '2026-12-03T10:15:02.000Z',
    });
  });

  it('reads resource names with spaces, a reason with colons, no reason, and a TAG before the operator', () => {
    expect(r.recognise('admin: Password_Changed 2026/12/03 10:15:02 Success pam_test Windows Jump Box:svc backup:ticket: INC-1')).toMatchObject({
      resourceName: 'Windows Jump Box',
      accountName: 'svc backup',
    });
    expect(r.recognise('admin: Remote_Password_Reset 2026/12/03 10:15:02 Success pam_test srv1:root')).toMatchObject({ resourceName: 'srv1', accountName: 'root' });
    expect(r.recognise('PAM360[12]: admin: Password_Reset 2026/12/03 10:15:02 Success h srv1:root:x')).toMatchObject({ kind: 'rotation', resourceName: 'srv1' });
  });

  it('ignores other operations (the documented example is Account_Added), and non-audit text', () => {
    expect(r.recognise('admin: Account_Added 2019/09/23 11:39:00 Success pam_test windows-server1:account1:Testing')).toEqual({ kind: 'other' });
    expect(r.recognise('admin: Password_Retrieved 2026/12/03 10:15:02 Success h srv1:root:x')).toEqual({ kind: 'other' });
    expect(r.recognise('sshd[42]: Accepted publickey for root')).toEqual({ kind: 'other' });
    expect(r.recognise('')).toEqual({ kind: 'other' });
  });

  it('reports a reset the vault says failed', () => {
    expect(r.recognise('admin: Password_Reset 2026/12/03 10:15:02 Failed h srv1:root:x')).toEqual({ kind: 'failed', operation: 'Password_Reset' });
  });

  it('gives no time for an impossible date, and refuses names with control characters or over 512 characters', () => {
    expect(r.recognise('admin: Password_Reset 2026/02/30 10:15:02 Success h srv1:root:x')).toMatchObject({ kind: 'rotation', rotatedAt: null });
    expect(r.recognise('admin: Password_Reset 2026/12/03 10:15:02 Success h srv\u0001:root:x')).toEqual({ kind: 'other' });
    expect(r.recognise(`admin: Password_Reset 2026/12/03 10:15:02 Success h ${'r'.repeat(513)}:root:x`)).toEqual({ kind: 'other' });
  });

  it('compares operation names ignoring case, spaces, underscores and dashes', () => {
    expect(operationKey(' Password Reset ')).toBe(operationKey('PASSWORD-RESET'));
    const custom = new Pam360AuditRecognizer({ operations: ['password reset via listener'] });
    expect(custom.recognise('admin: Password_Reset_Via_Listener 2026/12/03 10:15:02 Success h srv1:root:x').kind).toBe('rotation');
    expect(custom.recognise('admin: Password_Reset 2026/12/03 10:15:02 Success h srv1:root:x').kind).toBe('other');
  });

  it('reads the time in the vault time zone', () => {
    const kolkata = new Pam360AuditRecognizer({ timeZone: 'Asia/Kolkata' });
    expect(kolkata.recognise('admin: Password_Reset 2026/12/03 15:45:02 Success h srv1:root:x')).toMatchObject({ rotatedAt: '2026-12-03T10:15:02.000Z' });
  });
});

describe('Pam360AuditRecognizer (a custom pattern)', () => {
  it('takes dnsName and an ISO rotatedAt from named groups', () => {
    const r = new Pam360AuditRecognizer({
      pattern: String.raw`^reset resource=(?<resource>\S+) dns=(?<dnsName>\S+) account=(?<account>\S+) at=(?<rotatedAt>\S+)$`,
    });
    expect(r.recognise('reset resource=srv1 dns=srv1.corp.local account=root at=2026-12-03T11:15:02+01:00')).toEqual({
      kind: 'rotation',
      operation: '',
      resourceName: 'srv1',
      accountName: 'root',
      dnsName: 'srv1.corp.local',
      rotatedAt: '2026-12-03T10:15:02.000Z',
    });
    expect(r.recognise('reset resource=srv1 dns=srv1.corp.local account=root at=2026-12-03T10:15:02')).toMatchObject({ rotatedAt: '2026-12-03T10:15:02.000Z' });
  });

  it('refuses a pattern that does not compile, lacks resource or account, or an unknown zone', () => {
    expect(() => new Pam360AuditRecognizer({ pattern: '(' })).toThrow(AuditRulesError);
    expect(() => new Pam360AuditRecognizer({ pattern: '(?<resource>x)' })).toThrow('"account"');
    expect(() => new Pam360AuditRecognizer({ timeZone: 'Mars/Olympus' })).toThrow(AuditRulesError);
  });
});

describe('vault times', () => {
  it('turns a wall-clock time in a zone into an instant, across daylight saving', () => {
    const t = (month: number, day: number, hour: number, minute = 0) => ({ year: 2026, month, day, hour, minute, second: 0 });
    expect(new Date(wallTimeToUtcMs(t(1, 15, 12), 'Europe/Berlin')).toISOString()).toBe('2026-01-15T11:00:00.000Z');
    expect(new Date(wallTimeToUtcMs(t(7, 15, 12), 'Europe/Berlin')).toISOString()).toBe('2026-07-15T10:00:00.000Z');
    // 29 March 2026 02:30 does not exist in Berlin: read with the offset before the change.
    expect(new Date(wallTimeToUtcMs(t(3, 29, 2, 30), 'Europe/Berlin')).toISOString()).toBe('2026-03-29T01:30:00.000Z');
    // 25 October 2026 02:30 happens twice: the earlier one.
    expect(new Date(wallTimeToUtcMs(t(10, 25, 2, 30), 'Europe/Berlin')).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(new Date(wallTimeToUtcMs(t(10, 25, 3, 30), 'Europe/Berlin')).toISOString()).toBe('2026-10-25T02:30:00.000Z');
  });

  it('gives an RFC 3164 time the year that puts it nearest before now', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(new Date(bsdTimeToUtcMs('Dec 31 23:59:00', 'UTC', now)!).toISOString()).toBe('2025-12-31T23:59:00.000Z');
    expect(new Date(bsdTimeToUtcMs('Jan  1 10:00:00', 'UTC', now)!).toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(bsdTimeToUtcMs('Foo  1 10:00:00', 'UTC', now)).toBeNull();
    expect(bsdTimeToUtcMs('Feb 30 10:00:00', 'UTC', now)).toBeNull();
  });
});
