import { readFileSync } from 'node:fs';
import { compileConfig, ConfigError, startingConfig, validateConfig, type RawConfig } from '../../../src/config/index.js';
import * as D from '../../../src/config/defaults.js';

const PIN = 'sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
const opts = { hostname: 'host-1' };

function vault(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'pmp-prod', url: 'https://pmp.corp.local:7272', token: 'credential://pmp-prod', ...extra };
}

function full(): RawConfig {
  return {
    gatewayId: 'gw-a',
    clusterId: 'site-1',
    priority: 100,
    controller: {
      url: 'wss://cloud.example.com/gateway',
      token: 'file:///etc/credgw/controller.token',
      insecure: false,
      caFile: null,
      pinSha256: null,
      certFile: null,
      keyFile: null,
      proxy: null,
    },
    vaults: [
      {
        name: 'pmp-prod',
        url: 'https://pmp.corp.local:7272',
        token: 'credential://pmp-prod',
        resourceIdAttribute: 'PMP Resource ID',
        includeAccountNotes: true,
        requireTicketId: false,
        caFile: '/etc/credgw/pmp-prod.pem',
        pinSha256: null,
        timeoutMs: 10000,
      },
    ],
    policy: { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null },
    limits: { maxInFlight: 256 },
    telemetry: { listen: '127.0.0.1:9469', logLevel: 'info', audit: 'stdout' },
  };
}

function problems(raw: unknown): string[] {
  return validateConfig(raw, opts);
}

describe('compileConfig', () => {
  it('compiles the config of issue 2/4 with every default filled in', () => {
    const c = compileConfig(full(), opts);
    expect(c.gatewayId).toBe('gw-a');
    expect(c.controller).toEqual({
      url: 'wss://cloud.example.com/gateway',
      token: 'file:///etc/credgw/controller.token',
      insecure: false,
      caFile: null,
      pinSha256: null,
      certFile: null,
      keyFile: null,
      proxy: null,
      proxyPassword: null,
    });
    expect(c.vaults[0]).toEqual({
      name: 'pmp-prod',
      url: 'https://pmp.corp.local:7272',
      token: 'credential://pmp-prod',
      tokenKind: 'apiUser',
      appName: 'credgw',
      orgName: null,
      orgNameAttribute: null,
      accountPaging: 'auto',
      resourceIdAttribute: 'PMP Resource ID',
      includeAccountNotes: true,
      requireTicketId: false,
      caFile: '/etc/credgw/pmp-prod.pem',
      pinSha256: null,
      timeoutMs: 10000,
      maxConnections: D.DEFAULT_VAULT_MAX_CONNECTIONS,
      metadataTtlMs: D.DEFAULT_METADATA_TTL_MS,
      notesConcurrency: D.DEFAULT_NOTES_CONCURRENCY,
      healthIntervalMs: D.DEFAULT_HEALTH_INTERVAL_MS,
      maxResponseBytes: D.DEFAULT_MAX_RESPONSE_BYTES,
      rotationNotices: false,
      resourceMatch: ['attribute'],
      dnsIndex: { maxCallsPerMinute: 120, refreshIntervalMs: 15 * 60_000 },
    });
    expect(c.limits).toEqual({ maxInFlight: 256, maxQueued: D.DEFAULT_MAX_QUEUED, drainTimeoutMs: D.DEFAULT_DRAIN_TIMEOUT_MS });
  });

  it('fills defaults for an empty file (vault-only use: ids from the host name)', () => {
    const c = compileConfig({}, opts);
    expect(c).toEqual({
      gatewayId: 'host-1',
      clusterId: 'host-1',
      priority: D.DEFAULT_PRIORITY,
      controller: null,
      vaults: [],
      policy: { allowResources: null, denyAccounts: [], maxFetchesPerAccountPerMinute: null },
      limits: { maxInFlight: D.DEFAULT_MAX_IN_FLIGHT, maxQueued: D.DEFAULT_MAX_QUEUED, drainTimeoutMs: D.DEFAULT_DRAIN_TIMEOUT_MS },
      telemetry: { listen: D.DEFAULT_TELEMETRY_LISTEN, logLevel: D.DEFAULT_LOG_LEVEL, audit: D.DEFAULT_AUDIT },
      stateDir: null,
      events: { maxStored: D.DEFAULT_EVENTS_MAX_STORED, mergeWindowMs: D.DEFAULT_EVENTS_MERGE_WINDOW_MS },
      notices: {
        listen: null,
        certFile: null,
        keyFile: null,
        altNames: [],
        token: null,
        allowFrom: [],
        ratePerSecond: D.DEFAULT_NOTICES_RATE_PER_SECOND,
        burst: D.DEFAULT_NOTICES_BURST,
        syslog: null,
      },
    });
    const v = compileConfig({ vaults: [vault()] }, opts).vaults[0]!;
    expect(v).toMatchObject({
      tokenKind: D.DEFAULT_TOKEN_KIND,
      appName: D.DEFAULT_APP_NAME,
      orgName: null,
      orgNameAttribute: null,
      accountPaging: D.DEFAULT_ACCOUNT_PAGING,
      resourceIdAttribute: D.DEFAULT_RESOURCE_ID_ATTRIBUTE,
      includeAccountNotes: false,
      requireTicketId: false,
      caFile: null,
      pinSha256: null,
      timeoutMs: D.DEFAULT_VAULT_TIMEOUT_MS,
    });
  });

  it('returns a deep-frozen config and leaves the raw input unfrozen', () => {
    const raw = full();
    const c = compileConfig(raw, opts);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.controller)).toBe(true);
    expect(Object.isFrozen(c.vaults)).toBe(true);
    expect(Object.isFrozen(c.vaults[0])).toBe(true);
    expect(Object.isFrozen(c.policy.denyAccounts)).toBe(true);
    expect(Object.isFrozen(c.telemetry)).toBe(true);
    expect(Object.isFrozen(raw.policy!.denyAccounts)).toBe(false);
    expect(() => {
      (c.vaults as unknown as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('normalises the vault URL to its origin and the pin without sha256//', () => {
    const c = compileConfig({ vaults: [vault({ url: 'https://PMP.corp.local:7272/', pinSha256: PIN })] }, opts);
    expect(c.vaults[0]!.url).toBe('https://pmp.corp.local:7272');
    expect(c.vaults[0]!.pinSha256).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('ignores "//" comment keys at every level', () => {
    expect(problems({ '//': 'x', vaults: [vault({ '//url': 'y' })], telemetry: { '//': 'z' }, controller: null })).toEqual([]);
  });

  it('throws ConfigError with every problem, each naming its key path', () => {
    let err: unknown;
    try {
      compileConfig({ vaults: [vault({ url: 'http://x' }), vault({ name: 'PMP-prod', timeoutMs: 5 })], limits: { maxInFlight: 0 } }, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.code).toBe('CONFIG_INVALID');
    expect([...ce.problems].sort()).toEqual(
      [
        'vaults[0].url: must be https://host[:port]',
        'vaults[1].timeoutMs: must be at least 100',
        'limits.maxInFlight: must be at least 1',
        'vaults[1].name: "PMP-prod" is already used by vaults[0] (names are case-insensitive)',
      ].sort(),
    );
    expect(ce.message).toContain('4 problems');
  });
});

describe('schema rules (key path of each problem)', () => {
  const cases: Array<[string, unknown, string]> = [
    ['unknown top-level key', { gatewayid: 'x' }, 'gatewayid: is not a known key (did you mean gatewayId?)'],
    ['unknown vault key', { vaults: [vault({ pinSHA256: null })] }, 'vaults[0].pinSHA256: is not a known key (did you mean pinSha256?)'],
    ['root not an object', [], '(root): must be an object'],
    ['bad gatewayId', { gatewayId: 'gw a' }, 'gatewayId: must be 1-128 characters of A-Z a-z 0-9 . _ : -'],
    ['empty clusterId', { clusterId: '' }, 'clusterId: must be 1-128 characters of A-Z a-z 0-9 . _ : -'],
    ['priority not integer', { priority: 1.5 }, 'priority: must be an integer'],
    ['priority negative', { priority: -1 }, 'priority: must be at least 0'],
    ['vault missing name', { vaults: [{ url: 'https://x', token: 'env://T' }] }, 'vaults[0].name: is required'],
    ['vault missing token', { vaults: [{ name: 'a', url: 'https://x' }] }, 'vaults[0].token: is required'],
    ['vault name charset', { vaults: [vault({ name: '../x' })] }, 'vaults[0].name: must be 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit'],
    ['vault url scheme', { vaults: [vault({ url: 'http://pmp:7272' })] }, 'vaults[0].url: must be https://host[:port]'],
    ['includeAccountNotes type', { vaults: [vault({ includeAccountNotes: 'yes' })] }, 'vaults[0].includeAccountNotes: must be true or false'],
    ['orgName empty', { vaults: [vault({ orgName: '' })] }, 'vaults[0].orgName: must not be empty'],
    ['orgNameAttribute empty', { vaults: [vault({ orgNameAttribute: '' })] }, 'vaults[0].orgNameAttribute: must not be empty'],
    ['tokenKind unknown', { vaults: [vault({ tokenKind: 'app' })] }, 'vaults[0].tokenKind: must be one of "apiUser", "integration"'],
    ['appName empty', { vaults: [vault({ tokenKind: 'integration', appName: '' })] }, 'vaults[0].appName: must be 1-64 visible ASCII characters (inner spaces allowed): it is sent as the APP_NAME header'],
    ['appName non-ASCII', { vaults: [vault({ tokenKind: 'integration', appName: 'crédgw' })] }, 'vaults[0].appName: must be 1-64 visible ASCII characters (inner spaces allowed): it is sent as the APP_NAME header'],
    ['appName with a line break', { vaults: [vault({ tokenKind: 'integration', appName: 'credgw\r\nX-Evil: 1' })] }, 'vaults[0].appName: must be 1-64 visible ASCII characters (inner spaces allowed): it is sent as the APP_NAME header'],
    ['accountPaging unknown', { vaults: [vault({ accountPaging: 'on' })] }, 'vaults[0].accountPaging: must be one of "auto", "off"'],
    ['caFile relative', { vaults: [vault({ caFile: 'pmp.pem' })] }, 'vaults[0].caFile: must be an absolute path'],
    ['timeoutMs too big', { vaults: [vault({ timeoutMs: 600_001 })] }, 'vaults[0].timeoutMs: must be at most 600000'],
    ['maxConnections zero', { vaults: [vault({ maxConnections: 0 })] }, 'vaults[0].maxConnections: must be at least 1'],
    ['notesConcurrency', { vaults: [vault({ notesConcurrency: 65 })] }, 'vaults[0].notesConcurrency: must be at most 64'],
    ['healthIntervalMs', { vaults: [vault({ healthIntervalMs: 10 })] }, 'vaults[0].healthIntervalMs: must be at least 1000'],
    ['maxResponseBytes too small', { vaults: [vault({ maxResponseBytes: 65_535 })] }, 'vaults[0].maxResponseBytes: must be at least 65536'],
    ['maxResponseBytes too big', { vaults: [vault({ maxResponseBytes: 256 * 1024 * 1024 + 1 })] }, 'vaults[0].maxResponseBytes: must be at most 268435456'],
    ['metadataTtlMs type', { vaults: [vault({ metadataTtlMs: '30s' })] }, 'vaults[0].metadataTtlMs: must be an integer'],
    ['vaults not array', { vaults: {} }, 'vaults: must be an array'],
    ['controller url scheme', { gatewayId: 'a', clusterId: 'b', controller: { url: 'https://x', token: 'env://T' } }, 'controller.url: must be wss://host[:port]/path (ws:// only with controller.insecure true)'],
    ['controller token missing', { gatewayId: 'a', clusterId: 'b', controller: { url: 'wss://x' } }, 'controller.token: is required'],
    ['controller wrong type', { controller: 'wss://x' }, 'controller: must be an object or null'],
    ['proxy scheme', { gatewayId: 'a', clusterId: 'b', controller: { url: 'wss://x', token: 'env://T', proxy: 'socks5://p:1080' } }, 'controller.proxy: must be http://[user@]host:port'],
    ['allowResources type', { policy: { allowResources: 'all' } }, 'policy.allowResources: must be an array or null'],
    ['denyAccounts item', { policy: { denyAccounts: [''] } }, 'policy.denyAccounts[0]: must not be empty'],
    ['rate limit zero', { policy: { maxFetchesPerAccountPerMinute: 0 } }, 'policy.maxFetchesPerAccountPerMinute: must be at least 1'],
    ['drainTimeoutMs', { limits: { drainTimeoutMs: -1 } }, 'limits.drainTimeoutMs: must be at least 0'],
    ['logLevel', { telemetry: { logLevel: 'verbose' } }, 'telemetry.logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"'],
    ['audit relative', { telemetry: { audit: 'audit.log' } }, 'telemetry.audit: must be "stdout" or an absolute file path'],
  ];
  it.each(cases)('%s', (_name, raw, expected) => {
    expect(problems(raw)).toEqual([expected]);
  });
});

describe('secret references in the schema', () => {
  const literal = 'f3b1c0de-5ec7-4e7a-9c1a-6d1b2a3c4d5e';
  it.each(['file:///etc/credgw/pmp.token', 'env://PMP_TOKEN', 'credential://pmp-prod', 'credential://pmp.prod@x'])('accepts %s', (ref) => {
    expect(problems({ vaults: [vault({ token: ref })] })).toEqual([]);
  });
  it.each([literal, 'file://relative/path', 'file:/etc/x', 'env://', 'env://1ABC', 'credential://../x', 'credential://', 'FILE:///x', ''])(
    'refuses %j with a message that says how to fix it and never echoes the value',
    (value) => {
      const out = problems({ vaults: [vault({ token: value })], controller: { url: 'wss://x', token: value }, gatewayId: 'a', clusterId: 'b' }).sort().reverse();
      expect(out).toHaveLength(2);
      expect(out[0]).toMatch(/^vaults\[0\]\.token: must be a secret reference \(file:\/\/\/absolute\/path, env:\/\/NAME or credential:\/\/NAME\)/);
      expect(out[0]).toContain('credential://credgw_<name>');
      expect(out[0]).toContain('LoadCredential=');
      expect(out[1]).toMatch(/^controller\.token: must be a secret reference/);
      if (value === literal) for (const line of out) expect(line).not.toContain(value);
    },
  );
});

describe('cross-field rules', () => {
  const controller = (extra: Record<string, unknown> = {}) => ({
    gatewayId: 'gw-a',
    clusterId: 'site-1',
    controller: { url: 'wss://cloud.example.com/gateway', token: 'env://T', ...extra },
  });

  it('ws:// only with insecure true', () => {
    expect(problems(controller({ url: 'ws://127.0.0.1:8443/gateway' }))).toEqual([
      'controller.url: must be wss:// (ws:// is allowed only with controller.insecure true)',
    ]);
    expect(problems(controller({ url: 'ws://127.0.0.1:8443/gateway', insecure: true }))).toEqual([]);
    expect(problems(controller({ insecure: true }))).toEqual([]);
  });

  it('controller URL without credentials or fragment', () => {
    expect(problems(controller({ url: 'wss://u:p@cloud.example.com/gw' }))).toEqual([
      'controller.url: must not contain a user or password (use controller.token)',
    ]);
    expect(problems(controller({ url: 'wss://cloud.example.com/gw#x' }))).toEqual(['controller.url: must not contain a #fragment']);
  });

  it('certFile and keyFile together', () => {
    expect(problems(controller({ certFile: '/etc/credgw/gw.crt' }))).toEqual(['controller.keyFile: is required when controller.certFile is set']);
    expect(problems(controller({ keyFile: '/etc/credgw/gw.key' }))).toEqual(['controller.certFile: is required when controller.keyFile is set']);
    expect(problems(controller({ certFile: '/etc/credgw/gw.crt', keyFile: '/etc/credgw/gw.key' }))).toEqual([]);
  });

  it('gatewayId and clusterId are required once a controller is set', () => {
    const c = controller();
    delete (c as Partial<typeof c>).gatewayId;
    delete (c as Partial<typeof c>).clusterId;
    expect(problems(c)).toEqual(['gatewayId: is required when controller is set', 'clusterId: is required when controller is set']);
  });

  it('proxy without path', () => {
    expect(problems(controller({ proxy: 'http://user@proxy.corp:3128' }))).toEqual([]);
    expect(problems(controller({ proxy: 'http://proxy.corp:3128/x' }))).toEqual(['controller.proxy: must be http://[user@]host:port with no path']);
  });

  it('proxy password as a secret reference, never literal in the proxy URL', () => {
    const literal = 'Winter2024!-proxy';
    const refused = problems(controller({ proxy: `http://svc-credgw:${literal}@proxy.corp:3128` }));
    expect(refused).toEqual([
      'controller.proxy: must not contain a password: write http://user@host:port and put the password in controller.proxyPassword ' +
        '(file:///absolute/path, env://NAME or credential://NAME)',
    ]);
    expect(refused.join('')).not.toContain(literal);
    for (const ref of ['file:///etc/credgw/proxy.password', 'env://PROXY_PASSWORD', 'credential://proxy-password']) {
      expect(problems(controller({ proxy: 'http://svc-credgw@proxy.corp:3128', proxyPassword: ref }))).toEqual([]);
    }
    expect(compileConfig(controller({ proxy: 'http://svc-credgw@proxy.corp:3128', proxyPassword: 'credential://proxy-password' }), opts).controller).toMatchObject({
      proxy: 'http://svc-credgw@proxy.corp:3128',
      proxyPassword: 'credential://proxy-password',
    });
    const bad = problems(controller({ proxy: 'http://svc-credgw@proxy.corp:3128', proxyPassword: literal }));
    expect(bad).toEqual([expect.stringMatching(/^controller\.proxyPassword: must be a secret reference/)]);
    expect(bad.join('')).not.toContain(literal);
    expect(problems(controller({ proxyPassword: 'env://PROXY_PASSWORD' }))).toEqual(['controller.proxyPassword: needs controller.proxy (http://user@host:port)']);
    expect(problems(controller({ proxy: 'http://proxy.corp:3128', proxyPassword: 'env://PROXY_PASSWORD' }))).toEqual([
      'controller.proxyPassword: needs a user in controller.proxy (http://user@host:port)',
    ]);
  });

  it('vault URL without path, query, fragment or credentials', () => {
    for (const url of ['https://pmp:7272/restapi', 'https://pmp:7272/?a=1', 'https://pmp:7272/#x']) {
      expect(problems({ vaults: [vault({ url })] })).toEqual(['vaults[0].url: must be https://host[:port] with no path, query or fragment']);
    }
    expect(problems({ vaults: [vault({ url: 'https://u:p@pmp:7272' })] })).toEqual(['vaults[0].url: must not contain a user or password (use the token)']);
  });

  it('pins must be valid (base64 SHA-256, optional sha256// prefix)', () => {
    expect(problems({ vaults: [vault({ pinSha256: PIN })] })).toEqual([]);
    expect(problems({ vaults: [vault({ pinSha256: PIN.slice(8) })] })).toEqual([]);
    expect(problems({ vaults: [vault({ pinSha256: 'abc' })] })).toEqual([expect.stringMatching(/^vaults\[0\]\.pinSha256: must be a base64 SHA-256 SPKI pin/)]);
    expect(problems(controller({ pinSha256: 'Zm9v' }))).toEqual([expect.stringMatching(/^controller\.pinSha256: must be a base64 SHA-256 SPKI pin/)]);
  });

  it('tokenKind: an integration token with its APP_NAME; appName only with integration', () => {
    expect(compileConfig({ vaults: [vault({ tokenKind: 'integration' })] }, opts).vaults[0]).toMatchObject({ tokenKind: 'integration', appName: 'credgw' });
    expect(compileConfig({ vaults: [vault({ tokenKind: 'integration', appName: 'ITOM Gateway' })] }, opts).vaults[0]).toMatchObject({
      tokenKind: 'integration',
      appName: 'ITOM Gateway',
    });
    const onlyWith = 'vaults[0].appName: is used only with tokenKind "integration" (an API user\'s key is sent as AUTHTOKEN, without APP_NAME)';
    expect(problems({ vaults: [vault({ appName: 'credgw' })] })).toEqual([onlyWith]);
    expect(problems({ vaults: [vault({ tokenKind: 'apiUser', appName: 'x' })] })).toEqual([onlyWith]);
    // A tokenKind the schema refused already has its line: no second one about appName.
    expect(problems({ vaults: [vault({ tokenKind: 'app', appName: 'x' })] })).toEqual(['vaults[0].tokenKind: must be one of "apiUser", "integration"']);
  });

  it('orgName is a value the orgName header can carry: printable Latin-1, no surrounding spaces', () => {
    for (const ok of ['Acme', 'Acme Corp (EU)', 'Société Générale', 'Müller & Söhne GmbH', 'x'.repeat(256)]) {
      expect(problems({ vaults: [vault({ orgName: ok })] })).toEqual([]);
    }
    expect(compileConfig({ vaults: [vault({ orgName: 'Société Générale' })] }, opts).vaults[0]!.orgName).toBe('Société Générale');
    const cannot = 'vaults[0].orgName: cannot be sent as the orgName header: use printable ISO-8859-1 (Latin-1) characters, without leading or trailing spaces';
    for (const bad of ['Завод', '株式会社', 'Acme\r\nX-Injected: 1', 'tab\there', ' Acme', 'Acme ', 'Emoji 🙂', 'C1 \u0085 control']) {
      expect(problems({ vaults: [vault({ orgName: bad })] })).toEqual([cannot]);
    }
    expect(problems({ vaults: [vault({ orgName: 'x'.repeat(257) })] })).toEqual(['vaults[0].orgName: must be at most 256 characters']);
  });

  it('orgName and orgNameAttribute exclude each other', () => {
    expect(compileConfig({ vaults: [vault({ orgNameAttribute: 'PAM360 Organisation' })] }, opts).vaults[0]).toMatchObject({
      orgName: null,
      orgNameAttribute: 'PAM360 Organisation',
    });
    expect(problems({ vaults: [vault({ orgName: 'Acme', orgNameAttribute: 'PAM360 Organisation' })] })).toEqual([
      'vaults[0].orgNameAttribute: excludes orgName: set a fixed organisation or the attribute that names it, not both',
    ]);
    expect(problems({ vaults: [vault({ orgName: null, orgNameAttribute: 'PAM360 Organisation' })] })).toEqual([]);
  });

  it('vault names are unique, case-insensitively', () => {
    expect(problems({ vaults: [vault(), vault({ url: 'https://other' }), vault({ name: 'b' }), vault({ name: 'B' })] })).toEqual([
      'vaults[1].name: "pmp-prod" is already used by vaults[0] (names are case-insensitive)',
      'vaults[3].name: "B" is already used by vaults[2] (names are case-insensitive)',
    ]);
  });

  it('telemetry.listen is host:port on loopback (null disables it)', () => {
    for (const ok of ['127.0.0.1:9469', '127.0.0.2:1', '[::1]:9469', 'localhost:0', 'LOCALHOST:65535']) {
      expect(problems({ telemetry: { listen: ok } })).toEqual([]);
    }
    expect(problems({ telemetry: { listen: null } })).toEqual([]);
    expect(problems({ telemetry: { listen: '0.0.0.0:9469' } })).toEqual(['telemetry.listen: must be on loopback (127.0.0.1, [::1] or localhost)']);
    expect(problems({ telemetry: { listen: '10.0.0.1:9469' } })).toEqual(['telemetry.listen: must be on loopback (127.0.0.1, [::1] or localhost)']);
    expect(problems({ telemetry: { listen: '9469' } })).toEqual(['telemetry.listen: must be host:port, for example 127.0.0.1:9469 or [::1]:9469']);
    expect(problems({ telemetry: { listen: '127.0.0.1:70000' } })).toEqual(['telemetry.listen: port must be 0-65535']);
  });

  it('resourceMatch: an ordered list of attribute, hostName and ipAddress, each at most once', () => {
    const compiled = (v: Record<string, unknown>) => compileConfig({ vaults: [vault(v)] }, opts).vaults[0]!;
    expect(compiled({ resourceMatch: ['ipAddress', 'hostName', 'attribute'] }).resourceMatch).toEqual(['ipAddress', 'hostName', 'attribute']);
    expect(compiled({ resourceMatch: ['hostName'] }).resourceMatch).toEqual(['hostName']);
    expect(problems({ vaults: [vault({ resourceMatch: ['hostName', 'attribute', 'hostName'] })] })).toEqual([
      'vaults[0].resourceMatch: lists "hostName" more than once',
    ]);
    expect(problems({ vaults: [vault({ resourceMatch: [] })] })).toEqual(['vaults[0].resourceMatch: must not be empty']);
    expect(problems({ vaults: [vault({ resourceMatch: ['dnsName'] })] })).toEqual([
      'vaults[0].resourceMatch[0]: must be one of "attribute", "hostName", "ipAddress"',
    ]);
    expect(problems({ vaults: [vault({ resourceMatch: 'hostName' })] })).toEqual(['vaults[0].resourceMatch: must be an array']);
  });

  it('dnsIndex: a budget of 10-60000 calls a minute and a refresh interval of 1 min to 7 days, each defaulted alone', () => {
    const compiled = (v: Record<string, unknown>) => compileConfig({ vaults: [vault(v)] }, opts).vaults[0]!.dnsIndex;
    expect(compiled({ dnsIndex: { maxCallsPerMinute: 30 } })).toEqual({ maxCallsPerMinute: 30, refreshIntervalMs: D.DEFAULT_DNS_INDEX_REFRESH_INTERVAL_MS });
    expect(compiled({ dnsIndex: { refreshIntervalMs: 60_000, '//': 'note' } })).toEqual({ maxCallsPerMinute: 120, refreshIntervalMs: 60_000 });
    expect(problems({ vaults: [vault({ dnsIndex: { maxCallsPerMinute: 9, refreshIntervalMs: 59_999 } })] })).toEqual([
      'vaults[0].dnsIndex.maxCallsPerMinute: must be at least 10',
      'vaults[0].dnsIndex.refreshIntervalMs: must be at least 60000',
    ]);
    expect(problems({ vaults: [vault({ dnsIndex: { maxCallPerMinute: 5 } })] })).toEqual([
      'vaults[0].dnsIndex.maxCallPerMinute: is not a known key (did you mean maxCallsPerMinute?)',
    ]);
  });

  it('a value the schema faulted gets one line, not two', () => {
    expect(problems({ vaults: [vault({ url: 'http://pmp/restapi' })] })).toEqual(['vaults[0].url: must be https://host[:port]']);
  });
});

describe('shipped configs', () => {
  it('config init\'s starting point is valid', () => {
    expect(problems(startingConfig('vm-1.corp'))).toEqual([]);
    expect(compileConfig(startingConfig('vm 1'), opts).gatewayId).toBe('vm-1');
  });

  it('config/credgw.example.json is valid and names every key of the schema', () => {
    const raw = JSON.parse(readFileSync(new URL('../../../config/credgw.example.json', import.meta.url), 'utf8')) as RawConfig;
    expect(problems(raw)).toEqual([]);
    const keys = (o: object) => Object.keys(o).filter((k) => !k.startsWith('//'));
    expect(keys(raw).sort()).toEqual(['clusterId', 'controller', 'events', 'gatewayId', 'limits', 'notices', 'policy', 'priority', 'stateDir', 'telemetry', 'vaults']);
    expect(keys(raw.controller!)).toHaveLength(9);
    expect(keys(raw.vaults![0]!)).toHaveLength(20);
    expect(keys(raw.events!)).toHaveLength(2);
    expect(keys(raw.notices!)).toHaveLength(9);
    expect(keys(raw.notices!.syslog!)).toHaveLength(7);
  });
});
