import { decodeControllerFrame } from '../../../src/protocol/index.js';

/** `resource.hostName` / `resource.ipAddress` (protocol section 9), decoded additively. */

function command(resource: Record<string, unknown>): string {
  return JSON.stringify({ type: 'command', id: 'c-1', epoch: 8, name: 'listAccounts', params: { vault: 'pmp-prod', resource } });
}

function decodedResource(resource: Record<string, unknown>): unknown {
  const d = decodeControllerFrame(command(resource));
  if (d.kind !== 'message' || d.message.type !== 'command') throw new Error(`not decoded: ${JSON.stringify(d)}`);
  return d.message.params.resource;
}

describe('resource.hostName and resource.ipAddress', () => {
  it('are kept as sent', () => {
    expect(decodedResource({ id: 'opsramp-7d1', hostName: 'web01.corp.example', ipAddress: '10.1.2.3' })).toEqual({
      id: 'opsramp-7d1',
      name: undefined,
      customAttributes: {},
      hostName: 'web01.corp.example',
      ipAddress: '10.1.2.3',
    });
  });

  it('are absent when not sent, and null counts as not sent', () => {
    const plain = decodedResource({ customAttributes: { 'PMP Resource ID': '301' } });
    expect(plain).toEqual({ id: undefined, name: undefined, customAttributes: { 'PMP Resource ID': '301' } });
    expect(Object.keys(plain as object)).toEqual(['id', 'name', 'customAttributes']);
    expect(Object.keys(decodedResource({ hostName: null, ipAddress: null }) as object)).toEqual(['id', 'name', 'customAttributes']);
  });

  it.each([
    [{ hostName: 5 }, 'params.resource.hostName must be a string'],
    [{ ipAddress: ['10.1.2.3'] }, 'params.resource.ipAddress must be a string'],
    [{ hostName: 'h'.repeat(513) }, 'params.resource.hostName must be a string'],
  ])('anything else is BAD_REQUEST: %j', (resource, message) => {
    expect(decodeControllerFrame(command(resource))).toEqual({ kind: 'rejected', id: 'c-1', epoch: 8, code: 'BAD_REQUEST', message });
  });
});
