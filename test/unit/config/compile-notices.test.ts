import { compileConfig, secretUses, validateConfig } from '../../../src/config/index.js';
import * as D from '../../../src/config/defaults.js';
import { DEFAULT_NOTICE_BURST, DEFAULT_NOTICE_RATE_PER_SECOND } from '../../../src/notices/index.js';
import { DEFAULT_MAX_STORED, DEFAULT_MERGE_WINDOW_MS } from '../../../src/events/index.js';

const opts = { hostname: 'host-1' };
const vault = { name: 'pmp-prod', url: 'https://pmp.corp.local:7272', token: 'credential://pmp-prod' };
const problems = (raw: unknown): string[] => validateConfig(raw, opts);
const withNotices = (notices: Record<string, unknown>): Record<string, unknown> => ({ vaults: [vault], notices });
const syslog = (s: Record<string, unknown>): Record<string, unknown> => withNotices({ syslog: { sources: [{ vault: 'pmp-prod', from: ['10.1.2.5'] }], ...s } });

describe('config: stateDir, events, notices', () => {
  it('defaults agree with the components they configure', () => {
    expect(D.DEFAULT_EVENTS_MAX_STORED).toBe(DEFAULT_MAX_STORED);
    expect(D.DEFAULT_EVENTS_MERGE_WINDOW_MS).toBe(DEFAULT_MERGE_WINDOW_MS);
    expect(D.DEFAULT_NOTICES_RATE_PER_SECOND).toBe(DEFAULT_NOTICE_RATE_PER_SECOND);
    expect(D.DEFAULT_NOTICES_BURST).toBe(DEFAULT_NOTICE_BURST);
  });

  it('compiles a listener and syslog with every default filled in', () => {
    const c = compileConfig(
      {
        stateDir: '/srv/credgw',
        vaults: [{ ...vault, rotationNotices: true }],
        events: { maxStored: 500 },
        notices: { listen: '[::]:9470', token: 'credential://credgw_notices', allowFrom: ['10.1.2.0/24', 'fd00::/8'], syslog: { sources: [{ vault: 'pmp-prod', from: ['10.1.2.5'] }] } },
      },
      opts,
    );
    expect(c.stateDir).toBe('/srv/credgw');
    expect(c.vaults[0]!.rotationNotices).toBe(true);
    expect(c.events).toEqual({ maxStored: 500, mergeWindowMs: 120_000 });
    expect(c.notices).toEqual({
      listen: '[::]:9470',
      certFile: null,
      keyFile: null,
      altNames: [],
      token: 'credential://credgw_notices',
      allowFrom: ['10.1.2.0/24', 'fd00::/8'],
      ratePerSecond: 20,
      burst: 40,
      syslog: { tcp: '0.0.0.0:1514', udp: null, tls: null, sources: [{ vault: 'pmp-prod', from: ['10.1.2.5'] }], operations: null, pattern: null, timeZone: 'UTC' },
    });
    expect(Object.isFrozen(c.notices.syslog!.sources[0]!.from)).toBe(true);
  });

  it('syslog is TCP unless a transport is named; UDP only when asked', () => {
    expect(compileConfig(syslog({ udp: '0.0.0.0:1514' }), opts).notices.syslog).toMatchObject({ tcp: null, udp: '0.0.0.0:1514' });
    expect(compileConfig(syslog({ tls: { listen: '0.0.0.0:6514' } }), opts).notices.syslog).toMatchObject({
      tcp: null,
      tls: { listen: '0.0.0.0:6514', certFile: null, keyFile: null, clientCaFile: null },
    });
    expect(problems(syslog({ tcp: null }))).toEqual(['notices.syslog: names no transport: set tcp, tls or udp']);
  });

  it('a listener needs a token, and the token is a reference checked by config validate --secrets', () => {
    expect(problems(withNotices({ listen: '0.0.0.0:9470' }))).toEqual([
      'notices.token: is required when notices.listen is set (a secret reference to the token the reset-listener script sends)',
    ]);
    expect(problems(withNotices({ listen: '0.0.0.0:9470', token: 's3cret-token' }))[0]).toMatch(/^notices\.token: must be a secret reference/);
    expect(problems(withNotices({ listen: '0.0.0.0:9470', token: 's3cret-token' })).join('\n')).not.toContain('s3cret-token');
    const c = compileConfig(withNotices({ listen: '0.0.0.0:9470', token: 'env://NOTICES_TOKEN' }), opts);
    expect(secretUses(c).map((u) => [u.key, u.subject])).toEqual([
      ['vaults[0].token', 'vault pmp-prod'],
      ['notices.token', 'notices'],
    ]);
  });

  it('refuses what the listener and the receiver would refuse, with key paths', () => {
    expect(
      problems({
        vaults: [vault],
        stateDir: 'var/lib/credgw',
        events: { maxStored: 0, mergeWindowMs: -1 },
        notices: {
          listen: '9470',
          token: 'env://T',
          certFile: '/etc/credgw/n.crt',
          allowFrom: ['10.1.2.0/33', 'pmp.corp.local', '::1'],
          ratePerSecond: 0,
          syslog: {
            tcp: '[10.0.0.1]:514',
            udp: '0.0.0.0:70000',
            tls: { listen: '0.0.0.0:6514', keyFile: '/k.pem' },
            sources: [{ vault: 'pmp-dr', from: ['10.1.2.5/'] }],
            pattern: '(?<resource>[^:]+)',
            timeZone: 'Mars/Olympus',
          },
        },
      }).sort(),
    ).toEqual(
      [
        'stateDir: must be an absolute path',
        'events.maxStored: must be at least 1',
        'events.mergeWindowMs: must be at least 0',
        'notices.ratePerSecond: must be at least 1',
        'notices.listen: must be host:port, for example 0.0.0.0:9470 or [::]:9470',
        'notices.keyFile: is required when notices.certFile is set',
        'notices.allowFrom[0]: must be an IP address or a CIDR (10.1.2.5, 10.1.2.0/24, fd00::/8)',
        'notices.allowFrom[1]: must be an IP address or a CIDR (10.1.2.5, 10.1.2.0/24, fd00::/8)',
        'notices.syslog.tcp: the bracketed host must be an IPv6 address',
        'notices.syslog.udp: port must be 0-65535',
        'notices.syslog.tls.certFile: is required when notices.syslog.tls.keyFile is set',
        'notices.syslog.sources[0].vault: names no vault profile (profiles: pmp-prod)',
        'notices.syslog.sources[0].from[0]: must be an IP address or a CIDR (10.1.2.5, 10.1.2.0/24, fd00::/8)',
        'notices.syslog.pattern: needs the named group (?<account>…)',
        'notices.syslog.timeZone: is not an IANA time zone (for example "UTC" or "Europe/Berlin")',
      ].sort(),
    );
  });

  it('a syslog pattern must compile', () => {
    expect(problems(syslog({ pattern: '(?<resource>(?<account>' }))[0]).toMatch(/^notices\.syslog\.pattern: is not a regular expression/);
  });
});
