import { findResourceAttribute, resolveResource } from '../../../src/commands/resolve-resource.js';
import type { AuditFacts } from '../../../src/commands/command-context.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { FakeVault, profile } from './fakes.js';

const attr = 'PMP Resource ID';

describe('findResourceAttribute', () => {
  it.each([
    ['the exact key', { [attr]: '301' }, '301'],
    ['the exact key over case variants', { [attr]: '301', 'pmp resource id': '302' }, '301'],
    ['a single case-insensitive match', { 'Pmp Resource Id': 'Linux_Box' }, 'Linux_Box'],
    ['a trimmed value', { [attr]: '  301 ' }, '301'],
    ['nothing when absent', { Other: '301' }, undefined],
    ['nothing for an empty value', { [attr]: '' }, undefined],
    ['nothing for ambiguous case variants', { 'pmp resource id': '301', 'PMP RESOURCE ID': '302' }, undefined],
  ])('%s', (_label, customAttributes, expected) => {
    expect(findResourceAttribute({ customAttributes }, attr)).toBe(expected);
  });

  it('does not read inherited properties', () => {
    expect(findResourceAttribute({ customAttributes: {} }, 'constructor')).toBeUndefined();
  });
});

describe('resolveResource', () => {
  function facts(): AuditFacts {
    return { vault: 'pmp-prod', resource: null, resourceId: null, accountId: null, accountName: null, sealed: false };
  }

  it('resolves through the client with the caller signal and records what it learnt', async () => {
    const vault = new FakeVault();
    const f = facts();
    const signal = new AbortController().signal;
    await expect(resolveResource({ customAttributes: { [attr]: 'Windows_Jump_Box' } }, profile(), vault, signal, f)).resolves.toEqual({
      ref: 'Windows_Jump_Box',
      id: '301',
      name: 'Windows_Jump_Box',
    });
    expect(vault.calls[0]?.signal).toBe(signal);
    expect(f).toMatchObject({ resource: 'Windows_Jump_Box', resourceId: '301' });
  });

  it('takes a PMP resource ID as it is: no vault call, no promise', () => {
    const vault = new FakeVault();
    const f = facts();
    expect(resolveResource({ customAttributes: { [attr]: ' 301 ' } }, profile(), vault, new AbortController().signal, f)).toEqual({
      ref: '301',
      id: '301',
      name: undefined,
    });
    expect(vault.calls).toEqual([]);
    expect(f).toMatchObject({ resource: '301', resourceId: '301' });
  });

  it('asks the vault about digits too long for a PMP ID (it refuses them)', async () => {
    const vault = new FakeVault();
    const ref = '1'.repeat(19);
    await Promise.resolve(resolveResource({ customAttributes: { [attr]: ref } }, profile(), vault, new AbortController().signal, facts())).catch(
      () => undefined,
    );
    expect(vault.calls.map((c) => [c.method, c.args[0]])).toEqual([['resolveResource', ref]]);
  });

  it('uses the profile attribute name', async () => {
    const vault = new FakeVault();
    const p = profile({ resourceIdAttribute: 'Vault Key' });
    const r = await resolveResource({ customAttributes: { 'Vault Key': '302', [attr]: '301' } }, p, vault, new AbortController().signal, facts());
    expect(r.id).toBe('302');
  });

  it('RESOURCE_NOT_MAPPED names the attribute; nothing is called', async () => {
    const vault = new FakeVault();
    let err: unknown;
    try {
      resolveResource({ customAttributes: {} }, profile(), vault, new AbortController().signal, facts());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ code: 'RESOURCE_NOT_MAPPED', message: 'the resource has no "PMP Resource ID" custom attribute' });
    expect(vault.calls).toEqual([]);
  });

  it('does not call the vault once the deadline has passed', async () => {
    const vault = new FakeVault();
    const c = new AbortController();
    c.abort(new GatewayError('DEADLINE_EXCEEDED', 'late'));
    expect(() => resolveResource({ customAttributes: { [attr]: '301' } }, profile(), vault, c.signal, facts())).toThrow(
      expect.objectContaining({ code: 'DEADLINE_EXCEEDED' }),
    );
    await expect(
      Promise.resolve().then(() => resolveResource({ customAttributes: { [attr]: 'Windows_Jump_Box' } }, profile(), vault, c.signal, facts())),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(vault.calls).toEqual([]);
  });
});
