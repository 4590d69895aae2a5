import { newAuditFacts } from '../../../src/commands/audit-facts.js';
import type { AddressIndex, ResourceMatchWay, VaultLease } from '../../../src/commands/ports.js';
import { addressResource, type ResolveContext } from '../../../src/commands/resolve-resource.js';
import type { ResourceRef } from '../../../src/protocol/index.js';
import { GatewayError } from '../../../src/shared/errors.js';
import { FakeVault, profile } from './fakes.js';

/** resourceMatch (protocol section 9): which way decides, and what the index is asked. */

const attr = 'PMP Resource ID';

class FakeIndex implements AddressIndex {
  readonly asked: Array<{ address: string; signal: unknown }> = [];
  readonly byAddress = new Map([
    ['web01.corp.example', { id: '302', name: 'Linux_Box' }],
    ['10.1.2.3', { id: '301', name: 'Windows_Jump_Box' }],
  ]);
  lookup(address: string, opts: { signal: unknown }): Promise<{ id: string; name: string }> {
    this.asked.push({ address, signal: opts.signal });
    const found = this.byAddress.get(address.toLowerCase());
    return found ? Promise.resolve(found) : Promise.reject(new GatewayError('RESOURCE_NOT_FOUND', 'no vault resource has that DNS name or address'));
  }
}

function lease(resourceMatch: ResourceMatchWay[], index: AddressIndex | null): VaultLease {
  return { profile: profile({ resourceMatch }), client: new FakeVault(), addressIndex: index, release: () => undefined };
}

function ctx(signal: AbortSignal = new AbortController().signal): ResolveContext {
  return { signal, facts: newAuditFacts('pmp-prod') };
}

const withAll: ResourceRef = { customAttributes: { [attr]: '301' }, hostName: 'WEB01.corp.example', ipAddress: '10.1.2.3' };

describe('addressResource', () => {
  it('leaves a profile that maps by attribute alone (the default) to the attribute, without asking an index', () => {
    const index = new FakeIndex();
    expect(addressResource(withAll, lease(['attribute'], index), ctx())).toBeUndefined();
    expect(index.asked).toEqual([]);
  });

  it.each<[string, ResourceMatchWay[], ResourceRef, string | undefined]>([
    ['hostName first', ['hostName', 'ipAddress', 'attribute'], withAll, 'WEB01.corp.example'],
    ['ipAddress first', ['ipAddress', 'hostName'], withAll, '10.1.2.3'],
    ['the attribute first, when the resource has it', ['attribute', 'hostName'], withAll, undefined],
    ['the next way when the first has no value', ['attribute', 'hostName'], { customAttributes: {}, hostName: 'web01.corp.example' }, 'web01.corp.example'],
    ['a blank value counts as none', ['hostName', 'ipAddress'], { customAttributes: {}, hostName: '  ', ipAddress: ' 10.1.2.3 ' }, '10.1.2.3'],
  ])('the first way with a value decides: %s', async (_label, ways, resource, asked) => {
    const index = new FakeIndex();
    const c = ctx();
    const found = addressResource(resource, lease(ways, index), c);
    if (asked === undefined) {
      expect(found).toBeUndefined();
      return;
    }
    await expect(found).resolves.toMatchObject({ ref: asked });
    expect(index.asked).toEqual([{ address: asked, signal: c.signal }]);
    expect(c.facts).toMatchObject({ resource: asked });
  });

  it('records the resource it found and answers its ID and name', async () => {
    const c = ctx();
    await expect(addressResource(withAll, lease(['hostName'], new FakeIndex()), c)).resolves.toEqual({ ref: 'WEB01.corp.example', id: '302', name: 'Linux_Box' });
    expect(c.facts).toMatchObject({ resource: 'WEB01.corp.example', resourceId: '302' });
  });

  it('a miss on the deciding way is final: no fall-through to the attribute', async () => {
    const index = new FakeIndex();
    const resource: ResourceRef = { customAttributes: { [attr]: '301' }, hostName: 'gone.corp.example' };
    const found = addressResource(resource, lease(['hostName', 'attribute'], index), ctx());
    await expect(found).rejects.toMatchObject({ code: 'RESOURCE_NOT_FOUND' });
  });

  it('RESOURCE_NOT_MAPPED when no way has a value and the attribute is not one of them', () => {
    expect(() => addressResource({ customAttributes: { [attr]: '301' } }, lease(['hostName', 'ipAddress'], new FakeIndex()), ctx())).toThrow(
      expect.objectContaining({ code: 'RESOURCE_NOT_MAPPED', message: 'the resource has no hostName or ipAddress' }),
    );
    // With the attribute among the ways, the attribute's own check answers (mappedResource).
    expect(addressResource({ customAttributes: {} }, lease(['hostName', 'attribute'], new FakeIndex()), ctx())).toBeUndefined();
  });

  it('DEADLINE_EXCEEDED before the lookup once the signal has fired', () => {
    const ac = new AbortController();
    ac.abort(new GatewayError('DEADLINE_EXCEEDED', 'command deadline exceeded'));
    const index = new FakeIndex();
    expect(() => addressResource(withAll, lease(['hostName'], index), ctx(ac.signal))).toThrow(expect.objectContaining({ code: 'DEADLINE_EXCEEDED' }));
    expect(index.asked).toEqual([]);
  });
});
