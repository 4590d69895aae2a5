import { bypassesProxy, effectivePort, redactProxy, resolveProxy } from '../../../src/link/proxy.js';
import { LinkConfigError } from '../../../src/link/link-errors.js';

const target = new URL('wss://cloud.example.com/gateway');

describe('resolveProxy', () => {
  it('uses controller.proxy first, ignoring the environment and NO_PROXY', () => {
    const p = resolveProxy(target, 'http://u:p@proxy.corp:3128', { HTTPS_PROXY: 'http://other:1', NO_PROXY: '*' });
    expect(p?.url.host).toBe('proxy.corp:3128');
    expect(p?.source).toBe('controller.proxy');
  });

  it('falls back to https_proxy, then HTTPS_PROXY', () => {
    expect(resolveProxy(target, null, { HTTPS_PROXY: 'http://upper:1' })?.url.hostname).toBe('upper');
    expect(resolveProxy(target, null, { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1' })?.source).toBe('https_proxy');
    expect(resolveProxy(target, null, {})).toBeNull();
    expect(resolveProxy(target, null, { HTTPS_PROXY: '  ' })).toBeNull();
    expect(resolveProxy(target, null, { HTTP_PROXY: 'http://plain:1' })).toBeNull();
  });

  it('uses HTTP_PROXY for a ws:// controller', () => {
    expect(resolveProxy(new URL('ws://127.0.0.1:9/x'), null, { HTTP_PROXY: 'http://plain:1' })?.url.hostname).toBe('plain');
  });

  it('honours NO_PROXY / no_proxy for the environment proxy', () => {
    const env = { HTTPS_PROXY: 'http://proxy:1', NO_PROXY: 'localhost,.example.com' };
    expect(resolveProxy(target, null, env)).toBeNull();
    expect(resolveProxy(target, null, { HTTPS_PROXY: 'http://proxy:1', no_proxy: 'cloud.example.com:443' })).toBeNull();
    expect(resolveProxy(target, null, { HTTPS_PROXY: 'http://proxy:1', no_proxy: 'cloud.example.com:8443' })).not.toBeNull();
  });

  it('refuses proxy URLs it cannot use, naming the source', () => {
    expect(() => resolveProxy(target, 'https://proxy:1', {})).toThrow(LinkConfigError);
    expect(() => resolveProxy(target, 'not a url', {})).toThrow(/^controller\.proxy: /);
    expect(() => resolveProxy(target, null, { HTTPS_PROXY: 'socks5://x:1' })).toThrow(/^HTTPS_PROXY: /);
  });
});

describe('bypassesProxy', () => {
  const table: Array<[string, number, string, boolean]> = [
    ['cloud.example.com', 443, '*', true],
    ['cloud.example.com', 443, 'cloud.example.com', true],
    ['CLOUD.example.com', 443, 'cloud.EXAMPLE.com', true],
    ['cloud.example.com', 443, 'example.com', true],
    ['example.com', 443, 'example.com', true],
    ['example.com', 443, '.example.com', false],
    ['cloud.example.com', 443, '.example.com', true],
    ['cloud.example.com', 443, '*.example.com', true],
    ['badexample.com', 443, 'example.com', false],
    ['cloud.example.com', 443, 'other.com, example.org', false],
    ['cloud.example.com', 443, 'other.com  cloud.example.com', true],
    ['cloud.example.com', 443, 'cloud.example.com:443', true],
    ['cloud.example.com', 8443, 'cloud.example.com:443', false],
    ['127.0.0.1', 8443, '127.0.0.1', true],
    ['127.0.0.1', 8443, '127.0.0.1:8443', true],
    ['127.0.0.10', 8443, '127.0.0.1', false],
    ['::1', 443, '[::1]', true],
    ['[::1]', 443, '::1', true],
    ['[::1]', 443, '[::1]:443', true],
    ['cloud.example.com', 443, '', false],
    ['cloud.example.com.', 443, 'cloud.example.com', true],
  ];
  it.each(table)('%s:%i with NO_PROXY=%j bypasses: %s', (host, port, noProxy, expected) => {
    expect(bypassesProxy(host, port, noProxy)).toBe(expected);
  });
});

describe('small helpers', () => {
  it('redacts credentials from a proxy URL', () => {
    expect(redactProxy(new URL('http://user:secret@proxy:3128'))).toBe('http://proxy:3128');
  });
  it('knows default ports', () => {
    expect(effectivePort(new URL('wss://a/'))).toBe(443);
    expect(effectivePort(new URL('ws://a/'))).toBe(80);
    expect(effectivePort(new URL('wss://a:8443/'))).toBe(8443);
  });
});
