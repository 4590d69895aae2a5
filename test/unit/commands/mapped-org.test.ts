import { mappedOrg } from '../../../src/commands/resolve-resource.js';
import { harness, listCmd, profile, pwCmd, settle } from './fakes.js';
import { codeOfCall } from '../../helpers/error-code.js';

const ATTR = 'PAM360 Organisation';
const resource = (customAttributes: Record<string, string>) => ({ id: 'opsramp-1', customAttributes });

describe('mappedOrg: the organisation of a command (protocol section 9)', () => {
  it('is undefined without orgNameAttribute (the profile\'s own organisation applies)', () => {
    expect(mappedOrg(resource({ [ATTR]: 'Acme' }), profile())).toBeUndefined();
  });

  it('is the attribute\'s value, trimmed, the key found as the resource attribute is', () => {
    const p = profile({ orgNameAttribute: ATTR });
    expect(mappedOrg(resource({ [ATTR]: ' Acme ' }), p)).toBe('Acme');
    expect(mappedOrg(resource({ 'pam360 organisation': 'Société Générale' }), p)).toBe('Société Générale');
  });

  it.each([
    ['missing', {}],
    ['empty', { [ATTR]: '' }],
    ['blank', { [ATTR]: ' \t ' }],
    ['outside Latin-1', { [ATTR]: '株式会社' }],
    ['with a control character', { [ATTR]: 'Acme\u0000' }],
    ['ambiguous by letter case', { 'PAM360 ORGANISATION': 'A', 'pam360 organisation': 'B' }],
  ])('%s is RESOURCE_NOT_MAPPED', (_name, attrs) => {
    expect(codeOfCall(() => mappedOrg(resource(attrs), profile({ orgNameAttribute: ATTR })))).toBe('RESOURCE_NOT_MAPPED');
  });
});

describe('the commands pass the organisation and ask for pages', () => {
  it('listAccounts and getPassword give every vault call the resource\'s organisation', async () => {
    const h = harness({ profile: { orgNameAttribute: ATTR } });
    h.dispatcher.handle(listCmd({ attrs: { 'PMP Resource ID': 'Linux_Box', [ATTR]: 'Acme' } }), h.reply);
    h.dispatcher.handle(pwCmd({ resource: { id: 'opsramp-1', customAttributes: { 'PMP Resource ID': '301', [ATTR]: 'Acme' } } }), h.reply);
    await settle();
    expect(h.reply.sent.map((m) => m.ok)).toEqual([true, true]);
    expect(h.vault.calls.map((c) => [c.method, c.orgName])).toEqual([
      ['resolveResource', 'Acme'],
      ['getPassword', 'Acme'],
      ['listAccounts', 'Acme'],
    ]);
  });

  it('a command without the organisation attribute calls no vault', async () => {
    const h = harness({ profile: { orgNameAttribute: ATTR } });
    h.dispatcher.handle(listCmd(), h.reply);
    h.dispatcher.handle(pwCmd(), h.reply);
    await settle();
    expect(h.reply.sent.map((m) => (m.ok ? 'ok' : m.error.code))).toEqual(['RESOURCE_NOT_MAPPED', 'RESOURCE_NOT_MAPPED']);
    expect(h.vault.calls).toEqual([]);
  });
});
