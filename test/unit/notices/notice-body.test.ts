import { describe, expect, it } from '@jest/globals';
import { decodeNoticeBody, isPasswordFieldName, normalizeRotatedAt, NOTICE_BODY_MAX_DEPTH } from '../../../src/notices/index.js';

const RECEIVED = '2026-12-03T10:20:00.000Z';

function decode(body: unknown) {
  return decodeNoticeBody(typeof body === 'string' ? body : JSON.stringify(body), RECEIVED);
}

const valid = { vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', dnsName: 'jump01.corp.local', accountName: 'administrator', rotatedAt: '2026-12-03T10:15:02Z' };

describe('decodeNoticeBody (POST /v1/notices/rotation)', () => {
  it('takes the five fields of the contract and normalises the time', () => {
    expect(decode(valid)).toEqual({
      ok: true,
      notice: { vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', dnsName: 'jump01.corp.local', accountName: 'administrator', rotatedAt: '2026-12-03T10:15:02.000Z' },
    });
  });

  it('uses the receive time when rotatedAt is absent, null or empty, and leaves dnsName out when absent or empty', () => {
    for (const extra of [{}, { rotatedAt: null }, { rotatedAt: '' }]) {
      const r = decode({ vault: 'v', resourceName: 'r', accountName: 'a', dnsName: '', ...extra });
      expect(r).toEqual({ ok: true, notice: { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: RECEIVED } });
    }
  });

  it('reads no other field', () => {
    const r = decode({ ...valid, ticket: { id: 1 }, extra: [1, 2] });
    expect(r.ok && Object.keys(r.notice).sort()).toEqual(['accountName', 'dnsName', 'resourceName', 'rotatedAt', 'vault']);
  });

  it.each([
    ['not JSON', '{"vault":'],
    ['an array', '[]'],
    ['a string', '"x"'],
    ['null', 'null'],
  ])('refuses %s as BAD_BODY', (_what, text) => {
    expect(decode(text)).toEqual({ ok: false, refusal: { code: 'BAD_BODY', message: expect.any(String) } });
  });

  it.each([
    ['vault missing', { resourceName: 'r', accountName: 'a' }],
    ['resourceName missing', { vault: 'v', accountName: 'a' }],
    ['accountName missing', { vault: 'v', resourceName: 'r' }],
    ['resourceName empty', { vault: 'v', resourceName: '', accountName: 'a' }],
    ['accountName a number', { vault: 'v', resourceName: 'r', accountName: 7 }],
    ['resourceName of 513 characters', { vault: 'v', resourceName: 'x'.repeat(513), accountName: 'a' }],
    ['dnsName a number', { vault: 'v', resourceName: 'r', accountName: 'a', dnsName: 3 }],
    ['a control character', { vault: 'v', resourceName: 'r\nx', accountName: 'a' }],
    ['rotatedAt without a zone', { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: '2026-12-03T10:15:02' }],
    ['rotatedAt not a date', { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: 'yesterday' }],
    ['rotatedAt on 30 February', { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: '2026-02-30T10:15:02Z' }],
    ['rotatedAt a number', { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: 1_700_000_000 }],
  ])('refuses %s as BAD_BODY', (_what, body) => {
    const r = decode(body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.refusal.code).toBe('BAD_BODY');
  });

  it('takes names of exactly 512 characters', () => {
    expect(decode({ vault: 'v', resourceName: 'x'.repeat(512), accountName: 'a' }).ok).toBe(true);
  });

  it.each([
    [{ ...valid, password: 'Secr3t!' }, 'password'],
    [{ ...valid, oldPassword: 'Secr3t!' }, 'oldPassword'],
    [{ ...valid, NEWPASSWORD: 'Secr3t!' }, 'NEWPASSWORD'],
    [{ ...valid, meta: { new_password_hint: 'Secr3t!' } }, 'meta.new_password_hint'],
    [{ ...valid, list: [{ a: 1 }, { PassWord: 'Secr3t!' }] }, 'list[1].PassWord'],
    [{ vault: 'v', password: 'Secr3t!' }, 'password'],
  ])('refuses a password field at any depth, naming the field and never its value (%#)', (body, field) => {
    const r = decode(body);
    expect(r).toEqual({ ok: false, refusal: { code: 'PASSWORD_FIELD', message: expect.stringContaining(field) } });
    expect(JSON.stringify(r)).not.toContain('Secr3t!');
  });

  it('refuses a password field even when other fields are broken, before anything else', () => {
    expect(decode({ resourceName: 7, password: 'Secr3t!' })).toMatchObject({ ok: false, refusal: { code: 'PASSWORD_FIELD' } });
  });

  it(`refuses nesting deeper than ${NOTICE_BODY_MAX_DEPTH} levels without recursing`, () => {
    const deep = `{"vault":"v","resourceName":"r","accountName":"a","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(decode(deep)).toMatchObject({ ok: false, refusal: { code: 'BAD_BODY', message: expect.stringContaining('deeper') } });
  });
});

describe('normalizeRotatedAt', () => {
  it.each([
    ['2026-12-03T10:15:02Z', '2026-12-03T10:15:02.000Z'],
    ['2026-12-03T10:15:02.120Z', '2026-12-03T10:15:02.120Z'],
    ['2026-12-03T10:15:02.1234567Z', '2026-12-03T10:15:02.123Z'],
    ['2026-12-03T11:15:02+01:00', '2026-12-03T10:15:02.000Z'],
    ['2026-12-03T15:45:02+0530', '2026-12-03T10:15:02.000Z'],
    ['2026-12-03T10:15Z', '2026-12-03T10:15:00.000Z'],
  ])('%s → %s', (text, iso) => expect(normalizeRotatedAt(text)).toBe(iso));

  it.each(['2026-12-03 10:15:02Z', '2026-12-03T10:15:02', '2026-13-03T10:15:02Z', '2026-12-03T24:15:02Z', 'Dec 3 2026'])('refuses %s', (text) =>
    expect(normalizeRotatedAt(text)).toBeNull(),
  );
});

describe('isPasswordFieldName', () => {
  it('matches any field whose name contains password, in any case', () => {
    for (const n of ['password', 'oldPassword', 'NEWPASSWORD', 'x_password_y']) expect(isPasswordFieldName(n)).toBe(true);
    for (const n of ['pass', 'passwd', 'resourceName']) expect(isPasswordFieldName(n)).toBe(false);
  });
});
