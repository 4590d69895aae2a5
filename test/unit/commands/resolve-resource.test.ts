import { newAuditFacts } from '../../../src/commands/audit-facts.js';
import { findResourceAttribute, knownResource, lookupResource, mappedResource, type ResolveContext } from '../../../src/commands/resolve-resource.js';
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

describe('resolving a resource', () => {
  function ctx(signal: AbortSignal = new AbortController().signal): ResolveContext {
    return { signal, facts: newAuditFacts('pmp-prod') };
  }

  it('resolves a name through the client with the caller signal and records what it learnt', async () => {
    const vault = new FakeVault();
    const c = ctx();
    const ref = mappedResource({ customAttributes: { [attr]: 'Windows_Jump_Box' } }, profile(), c);
    expect(knownResource(ref, c.facts)).toBeUndefined();
    await expect(lookupResource(ref, vault, c)).resolves.toEqual({ ref: 'Windows_Jump_Box', id: '301', name: 'Windows_Jump_Box' });
    expect(vault.calls[0]?.signal).toBe(c.signal);
    expect(c.facts).toMatchObject({ resource: 'Windows_Jump_Box', resourceId: '301' });
  });

  it('takes a PMP resource ID as it is: no vault call, no promise', () => {
    const vault = new FakeVault();
    const c = ctx();
    const ref = mappedResource({ customAttributes: { [attr]: ' 301 ' } }, profile(), c);
    expect(knownResource(ref, c.facts)).toEqual({ ref: '301', id: '301', name: undefined });
    expect(vault.calls).toEqual([]);
    expect(c.facts).toMatchObject({ resource: '301', resourceId: '301' });
  });

  it('leaves digits too long for a PMP ID to the vault (it refuses them)', () => {
    const c = ctx();
    expect(knownResource('1'.repeat(19), c.facts)).toBeUndefined();
    expect(knownResource('1'.repeat(18), c.facts)).toMatchObject({ id: '1'.repeat(18) });
    expect(c.facts.resourceId).toBe('1'.repeat(18));
  });

  it('uses the profile attribute name', () => {
    const p = profile({ resourceIdAttribute: 'Vault Key' });
    expect(mappedResource({ customAttributes: { 'Vault Key': '302', [attr]: '301' } }, p, ctx())).toBe('302');
  });

  it('RESOURCE_NOT_MAPPED names the attribute', () => {
    const c = ctx();
    expect(() => mappedResource({ customAttributes: {} }, profile(), c)).toThrow(
      expect.objectContaining({ code: 'RESOURCE_NOT_MAPPED', message: 'the resource has no "PMP Resource ID" custom attribute' }),
    );
    expect(c.facts.resource).toBeNull();
  });

  it('does not go on once the deadline has passed', () => {
    const c = new AbortController();
    c.abort(new GatewayError('DEADLINE_EXCEEDED', 'late'));
    expect(() => mappedResource({ customAttributes: { [attr]: 'Windows_Jump_Box' } }, profile(), ctx(c.signal))).toThrow(
      expect.objectContaining({ code: 'DEADLINE_EXCEEDED' }),
    );
  });
});
