import { stripBrackets } from '../../../src/shared/url.js';

describe('stripBrackets', () => {
  it.each([
    ['[::1]', '::1'],
    ['[fe80::1%25eth0]', 'fe80::1%25eth0'],
    ['[2001:db8::7]', '2001:db8::7'],
    ['127.0.0.1', '127.0.0.1'],
    ['pmp.corp.local', 'pmp.corp.local'],
    ['::1', '::1'],
    ['', ''],
    ['[]', ''],
    // Only a pair of brackets around the whole host is removed.
    ['[::1', '[::1'],
    ['::1]', '::1]'],
    ['[[::1]]', '[::1]'],
  ])('%j → %j', (host, expected) => {
    expect(stripBrackets(host)).toBe(expected);
  });

  it('gives what a URL reports as hostname back without its brackets', () => {
    expect(stripBrackets(new URL('https://[::1]:7272/').hostname)).toBe('::1');
    expect(stripBrackets(new URL('https://[2001:DB8::7]/').hostname)).toBe('2001:db8::7');
    expect(stripBrackets(new URL('https://Vault.Example:8443/').hostname)).toBe('vault.example');
  });
});
