import { jsonSyntaxErrorOffset, lineAndColumn } from '../../../src/config/json-position.js';
import { KeyPathError, parseCliValue, parseKeyPath, setAtPath, unsetAtPath } from '../../../src/config/key-path.js';
import type { RawConfig } from '../../../src/config/schema.js';
import { formatKeyPath, keyPath } from '../../../src/config/schema-errors.js';

describe('key paths', () => {
  it('parses dots, indices, quoted names', () => {
    expect(parseKeyPath('telemetry.logLevel')).toEqual(['telemetry', 'logLevel']);
    expect(parseKeyPath('vaults[0].timeoutMs')).toEqual(['vaults', 0, 'timeoutMs']);
    expect(parseKeyPath('vaults.1.url')).toEqual(['vaults', 1, 'url']);
    expect(parseKeyPath('vaults["pmp.prod"].caFile')).toEqual(['vaults', 'pmp.prod', 'caFile']);
    expect(parseKeyPath('vaults.pmp-prod.pinSha256')).toEqual(['vaults', 'pmp-prod', 'pinSha256']);
  });

  it.each(['', 'a..b', 'a[x]', '__proto__.polluted', 'policy.constructor'])('refuses %j', (text) => {
    expect(() => parseKeyPath(text)).toThrow(KeyPathError);
  });

  it('sets and unsets, vaults by index or by name', () => {
    const raw: RawConfig = { vaults: [{ name: 'a', url: 'https://a', token: 'env://A' }, { name: 'b', url: 'https://b', token: 'env://B' }] };
    setAtPath(raw, parseKeyPath('vaults.b.timeoutMs'), 5000);
    setAtPath(raw, parseKeyPath('vaults[0].orgName'), 'org');
    setAtPath(raw, parseKeyPath('telemetry.logLevel'), 'debug');
    expect(raw.vaults![1]!.timeoutMs).toBe(5000);
    expect(raw.vaults![0]!.orgName).toBe('org');
    expect(raw.telemetry).toEqual({ logLevel: 'debug' });
    expect(unsetAtPath(raw, parseKeyPath('vaults.a.orgName'))).toBe(true);
    expect(unsetAtPath(raw, parseKeyPath('vaults.a.orgName'))).toBe(false);
    expect(unsetAtPath(raw, parseKeyPath('limits.maxInFlight'))).toBe(false);
    expect(unsetAtPath(raw, parseKeyPath('vaults[0]'))).toBe(true);
    expect(raw.vaults!.map((v) => v.name)).toEqual(['b']);
    expect(() => setAtPath(raw, parseKeyPath('vaults.zzz.url'), 'x')).toThrow('no entry named "zzz" in vaults');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('CLI values: JSON when they parse, else text', () => {
    expect(parseCliValue('5000')).toBe(5000);
    expect(parseCliValue('true')).toBe(true);
    expect(parseCliValue('null')).toBeNull();
    expect(parseCliValue('["a","b"]')).toEqual(['a', 'b']);
    expect(parseCliValue('debug')).toBe('debug');
    expect(parseCliValue('"5000"')).toBe('5000');
  });

  it('formats Ajv instance paths', () => {
    expect(keyPath('/vaults/1/url')).toBe('vaults[1].url');
    expect(keyPath('')).toBe('(root)');
    expect(keyPath('/vaults/0', 'pinSHA256')).toBe('vaults[0].pinSHA256');
    expect(formatKeyPath(['policy', 'denyAccounts', 2])).toBe('policy.denyAccounts[2]');
    expect(formatKeyPath(['x', '//c', 'a~b/c'])).toBe('x["//c"]["a~b/c"]');
    expect(keyPath('/a~1b/c~0d')).toBe('["a/b"]["c~d"]');
  });
});

describe('JSON syntax error position', () => {
  it.each([
    ['{"a": 1}', -1],
    ['[1, 2.5e3, "x\\n\\u00e9", true, false, null, {}]', -1],
    ['{"token": abcd-secret}', 10],
    ['{"a":1,}', 7],
    ['{"a"', 4],
    ['', 0],
    ['{"a": 1} x', 9],
    ['{"a": "\\q"}', 8],
    ['{"a": 01}', 7],
  ])('%j → %d', (text, offset) => {
    expect(jsonSyntaxErrorOffset(text)).toBe(offset);
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    expect(parses).toBe(offset === -1);
  });

  it('line and column are 1-based', () => {
    expect(lineAndColumn('{\n  "a": x\n}', 9)).toEqual({ line: 2, column: 8 });
  });
});
