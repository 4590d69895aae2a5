import { describe, expect, it } from '@jest/globals';
import { AddressAllowList, AllowListError, formatListenAddress, normalizeAddress, parseListenAddress, RateLimiter } from '../../../src/notices/index.js';
import { LogThrottle } from '../../../src/notices/log-throttle.js';
import { ManualClock } from '../../../src/shared/clock.js';

describe('AddressAllowList', () => {
  it('allows any address without entries', () => {
    for (const entries of [undefined, []]) {
      const list = new AddressAllowList(entries);
      expect(list.any).toBe(true);
      expect(list.allows('203.0.113.9')).toBe(true);
    }
  });

  it('matches addresses and CIDRs, IPv4 and IPv6', () => {
    const list = new AddressAllowList(['10.1.2.5', '192.168.0.0/16', '2001:db8::/32', '::1', '[fd00::2]']);
    expect(list.allows('10.1.2.5')).toBe(true);
    expect(list.allows('10.1.2.6')).toBe(false);
    expect(list.allows('192.168.44.1')).toBe(true);
    expect(list.allows('192.169.0.1')).toBe(false);
    expect(list.allows('2001:db8:1::7')).toBe(true);
    expect(list.allows('2001:db9::7')).toBe(false);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('fd00::2')).toBe(true);
    expect(list.allows('fd00::3')).toBe(false);
    expect(list.allows(undefined)).toBe(false);
    expect(list.allows('not-an-ip')).toBe(false);
  });

  it('matches an IPv4 client of a dual-stack socket as the IPv4 address it is', () => {
    const list = new AddressAllowList(['10.1.2.0/24']);
    expect(list.allows('::ffff:10.1.2.77')).toBe(true);
    expect(list.allows('::FFFF:10.1.3.77')).toBe(false);
  });

  it('refuses entries that are not addresses or CIDRs, naming them', () => {
    for (const bad of ['pmp.corp.local', '10.1.2.0/33', '::/129', '10.1.2.0/x', '10.1.2.0/']) {
      expect(() => new AddressAllowList([bad])).toThrow(AllowListError);
      expect(() => new AddressAllowList([bad])).toThrow(JSON.stringify(bad));
    }
  });

  it('normalizes addresses', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toEqual({ address: '127.0.0.1', family: 'ipv4' });
    expect(normalizeAddress('FE80::1%eth0')).toEqual({ address: 'fe80::1', family: 'ipv6' });
    expect(normalizeAddress('')).toBeNull();
  });
});

describe('RateLimiter (token bucket per source)', () => {
  it('allows a burst, then the sustained rate, per key, on the injected clock', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ ratePerSecond: 20, burst: 40, clock });
    for (let i = 0; i < 40; i++) expect(limiter.take('10.0.0.1')).toEqual({ allowed: true });
    expect(limiter.take('10.0.0.1')).toEqual({ allowed: false, retryAfterMs: 50 });
    expect(limiter.take('10.0.0.2')).toEqual({ allowed: true });
    clock.advance(49);
    expect(limiter.take('10.0.0.1').allowed).toBe(false);
    clock.advance(1);
    expect(limiter.take('10.0.0.1').allowed).toBe(true);
    expect(limiter.take('10.0.0.1').allowed).toBe(false);
    clock.advance(10_000);
    for (let i = 0; i < 40; i++) expect(limiter.take('10.0.0.1').allowed).toBe(true);
    expect(limiter.take('10.0.0.1').allowed).toBe(false);
  });

  it('keeps its table bounded: full buckets are forgotten, and without room a new key is refused', () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, clock, maxKeys: 3 });
    for (const k of ['a', 'b', 'c']) expect(limiter.take(k).allowed).toBe(true);
    expect(limiter.take('d')).toEqual({ allowed: false, retryAfterMs: 1000 });
    clock.advance(1000);
    expect(limiter.take('d').allowed).toBe(true);
    expect(limiter.size).toBe(1);
  });

  it('refuses nonsense limits', () => {
    const clock = new ManualClock();
    expect(() => new RateLimiter({ ratePerSecond: 0, burst: 1, clock })).toThrow(RangeError);
    expect(() => new RateLimiter({ ratePerSecond: 1, burst: 0, clock })).toThrow(RangeError);
  });
});

describe('LogThrottle', () => {
  it('lets one line per key per interval through', () => {
    const clock = new ManualClock();
    const t = new LogThrottle(clock, 60_000, 2);
    expect(t.allow('a')).toBe(true);
    expect(t.allow('a')).toBe(false);
    expect(t.allow('b')).toBe(true);
    expect(t.allow('c')).toBe(false);
    clock.advance(60_000);
    expect(t.allow('c')).toBe(true);
    expect(t.allow('a')).toBe(true);
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['0.0.0.0:9470', { host: '0.0.0.0', port: 9470 }],
    ['[::]:9470', { host: '::', port: 9470 }],
    ['10.1.2.5:0', { host: '10.1.2.5', port: 0 }],
    ['gw-a.corp.local:514', { host: 'gw-a.corp.local', port: 514 }],
  ])('%s', (text, want) => {
    expect(parseListenAddress(text)).toEqual(want);
    expect(formatListenAddress(want)).toBe(text);
  });

  it.each([':9470', '9470', '::1:9470', '[::1]', '[nope]:1', 'a:70000', 'a b:1'])('refuses %s', (text) => expect(() => parseListenAddress(text)).toThrow());
});
