import { bypassesProxy, effectivePort, redactProxy, redactUrlCredentials, resolveProxy } from '../../../src/link/proxy.js';
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

  // curl reads a proxy without a scheme as http://.
  const schemeless: Array<[string, string]> = [
    ['proxy.corp:3128', 'http://proxy.corp:3128/'],
    ['localhost:3128', 'http://localhost:3128/'],
    ['10.0.0.1:3128', 'http://10.0.0.1:3128/'],
    ['[fd00::1]:3128', 'http://[fd00::1]:3128/'],
    ['user:p%40ss@proxy.corp:3128', 'http://user:p%40ss@proxy.corp:3128/'],
    ['proxy.corp', 'http://proxy.corp/'],
    ['http://proxy.corp:3128', 'http://proxy.corp:3128/'],
  ];
  it.each(schemeless)('reads HTTPS_PROXY=%s as %s', (value, href) => {
    const p = resolveProxy(target, null, { HTTPS_PROXY: value });
    expect(p?.url.href).toBe(href);
    expect(p?.source).toBe('HTTPS_PROXY');
  });

  it('refuses proxy URLs it cannot use, naming the source', () => {
    expect(() => resolveProxy(target, 'https://proxy:1', {})).toThrow(LinkConfigError);
    expect(() => resolveProxy(target, 'not a url', {})).toThrow(/^controller\.proxy: /);
    expect(() => resolveProxy(target, null, { HTTPS_PROXY: 'socks5://x:1' })).toThrow(/^HTTPS_PROXY: /);
    expect(() => resolveProxy(target, null, { HTTPS_PROXY: 'https://x:1' })).toThrow(/^HTTPS_PROXY: proxy scheme https: is not supported/);
    expect(() => resolveProxy(target, 'http://bad host:1', {})).toThrow(
      'controller.proxy: must be a URL like http://[user@]host:port (the password goes in controller.proxyPassword)',
    );
    expect(() => resolveProxy(target, null, { HTTPS_PROXY: 'bad host:1' })).toThrow('HTTPS_PROXY: must be a URL like [http://][user:password@]host:port');
  });
});

describe('bypassesProxy', () => {
  const table: Array<[string, number, string, boolean]> = [
    ['cloud.example.com', 443, '*', true],
    ['cloud.example.com', 443, 'cloud.example.com', true],
    ['CLOUD.example.com', 443, 'cloud.EXAMPLE.com', true],
    ['cloud.example.com', 443, 'example.com', true],
    ['example.com', 443, 'example.com', true],
    ['example.com', 443, '.example.com', true], // curl: the leading dot is optional either way
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
    ['cloud.example.com', 443, 'cloud.example.com.', true],
    ['example.com', 443, '*.example.com', true],
    ['cloud.example.com', 443, ' other.com ,, .example.com ', true],
    // Addresses and CIDR ranges match a controller written as an address (curl).
    ['10.1.2.3', 443, '10.0.0.0/8', true],
    ['11.1.2.3', 443, '10.0.0.0/8', false],
    ['10.1.2.3', 443, '10.1.2.0/24:443', true],
    ['10.1.2.3', 8443, '10.1.2.0/24:443', false],
    ['192.168.1.5', 443, '192.168.1.5', true],
    ['192.168.1.6', 443, '192.168.1.5', false],
    ['192.168.1.6', 443, '192.168.1.0/31', false],
    ['192.168.1.1', 443, '192.168.1.0/31', true],
    ['10.1.2.3', 443, '10.1.2.3/32', true],
    ['10.1.2.3', 443, '0.0.0.0/0', true],
    ['fe80::1', 443, 'fe80::/10', true],
    ['[fe80::1]', 443, 'fe80::/10', true],
    ['fec0::1', 443, 'fe80::/10', false],
    ['fe80::1', 443, '[fe80::]/10', true],
    ['fe80::1', 443, '[fe80::]/10:443', true],
    ['fe80::1', 80, '[fe80::]/10:443', false],
    ['fd00::5', 443, 'fd00::5', true],
    ['10.1.2.3', 443, 'fe80::/10', false],
    ['fe80::1', 443, '10.0.0.0/8', false],
    // An invalid range matches nothing; the entries after it still count.
    ['10.1.2.3', 443, '10.0.0.0/33', false],
    ['10.1.2.3', 443, '10.0.0.0/x,10.1.2.3', true],
    // Names are never resolved: an address entry does not match a name, a name does not match an address.
    ['localhost', 443, '127.0.0.1', false],
    ['localhost', 443, '127.0.0.0/8', false],
    ['127.0.0.1', 443, 'localhost', false],
    ['127.0.0.1', 443, '*', true],
  ];
  it.each(table)('%s:%i with NO_PROXY=%j bypasses: %s', (host, port, noProxy, expected) => {
    expect(bypassesProxy(host, port, noProxy)).toBe(expected);
  });
});

describe('redactUrlCredentials', () => {
  const table: Array<[string, string]> = [
    ['http://user:pass@proxy.corp:3128', 'http://***@proxy.corp:3128'],
    ['http://user@proxy.corp:3128', 'http://***@proxy.corp:3128'],
    ['http://proxy.corp:3128', 'http://proxy.corp:3128'],
    ['http://user:pass@[fd00::1]:3128', 'http://***@[fd00::1]:3128'],
    ['http://[fd00::1]:3128', 'http://[fd00::1]:3128'],
    ['http://user:p@ss@proxy:3128', 'http://***@proxy:3128'],
    ['http://user:p%40ss@proxy:3128/', 'http://***@proxy:3128/'],
    ['cannot reach proxy http://u:p@a:1 or http://b:2 (mail me@example.com)', 'cannot reach proxy http://***@a:1 or http://b:2 (mail me@example.com)'],
    ['wss://cloud.example.com/gw?x=a@b', 'wss://cloud.example.com/gw?x=a@b'],
    // Help texts read as written.
    ['must be a URL like http://[user:password@]host:port', 'must be a URL like http://[user:password@]host:port'],
    ['must be a URL like http://[user@]host:port', 'must be a URL like http://[user@]host:port'],
    ['must be a URL like [http://][user:password@]host:port', 'must be a URL like [http://][user:password@]host:port'],
  ];
  it.each(table)('%s -> %s', (text, expected) => {
    expect(redactUrlCredentials(text)).toBe(expected);
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
