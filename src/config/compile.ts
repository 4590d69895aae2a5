import { hostname as osHostname } from 'node:os';
import { isIPv4 } from 'node:net';
import { isValidPin, normalizePin } from '../tls/index.js';
import { isHeaderValue } from '../shared/index.js';
import { ConfigError } from './config-error.js';
import { compileEvents, compileNotices } from './compile-notices.js';
import * as D from './defaults.js';
import type { RawConfig, RawControllerConfig, RawVaultProfile } from './schema.js';
import { formatKeyPath, schemaProblems } from './schema-errors.js';
import type {
  ControllerConfig,
  GatewayConfig,
  LimitsConfig,
  LogLevel,
  PolicyConfig,
  ResourceMatch,
  TelemetryConfig,
  VaultProfile,
} from './types.js';

/**
 * Raw config → schema check → defaults → cross-field rules → one deep-frozen
 * GatewayConfig. Every problem is collected (not just the first) and each
 * names its key path, so an admin fixes a file in one pass.
 */

export interface CompileOptions {
  /**
   * Host name used for `gatewayId` (and `clusterId`) when the file has none
   * and no controller is configured. Default: `os.hostname()`.
   */
  hostname?: string;
}

/** Every problem of a raw config (empty when it compiles). */
export function validateConfig(raw: unknown, opts: CompileOptions = {}): string[] {
  return compile(raw, opts).problems;
}

/** The compiled, frozen config; throws ConfigError listing every problem. */
export function compileConfig(raw: unknown, opts: CompileOptions = {}): GatewayConfig {
  const { config, problems } = compile(raw, opts);
  if (problems.length > 0 || !config) throw new ConfigError(problems);
  return config;
}

function compile(raw: unknown, opts: CompileOptions): { config: GatewayConfig | undefined; problems: string[] } {
  const problems = schemaProblems(raw);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { config: undefined, problems };
  // Cross-field rules skip a value the schema already faulted, so one mistake gives one line.
  const faulted = new Set(problems.map((p) => p.slice(0, p.indexOf(': '))));
  const rules = new Rules(problems, faulted);
  const r = raw as RawConfig;

  const controller = compileController(r.controller, rules);
  const fallbackId = sanitizeHostname(opts.hostname ?? osHostname());
  let gatewayId = r.gatewayId;
  let clusterId = r.clusterId;
  if (controller) {
    // These identify the gateway to the cloud: never guessed once a controller is configured.
    if (gatewayId === undefined) rules.fail(['gatewayId'], 'is required when controller is set');
    if (clusterId === undefined) rules.fail(['clusterId'], 'is required when controller is set');
  }
  gatewayId ??= fallbackId;
  clusterId ??= gatewayId;

  const vaults = (Array.isArray(r.vaults) ? r.vaults : []).map((v, i) => compileVault(v, i, rules));
  const seen = new Map<string, number>();
  vaults.forEach((v, i) => {
    if (typeof v.name !== 'string') return;
    const key = v.name.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) rules.fail(['vaults', i, 'name'], `"${v.name}" is already used by vaults[${first}] (names are case-insensitive)`);
    else seen.set(key, i);
  });

  const policyRaw = r.policy ?? {};
  const policy: PolicyConfig = {
    // Copies: freezing must not reach into the caller's raw object.
    allowResources: Array.isArray(policyRaw.allowResources) ? [...policyRaw.allowResources] : null,
    denyAccounts: Array.isArray(policyRaw.denyAccounts) ? [...policyRaw.denyAccounts] : [],
    maxFetchesPerAccountPerMinute: policyRaw.maxFetchesPerAccountPerMinute ?? null,
  };
  const limits: LimitsConfig = {
    maxInFlight: r.limits?.maxInFlight ?? D.DEFAULT_MAX_IN_FLIGHT,
    maxQueued: r.limits?.maxQueued ?? D.DEFAULT_MAX_QUEUED,
    drainTimeoutMs: r.limits?.drainTimeoutMs ?? D.DEFAULT_DRAIN_TIMEOUT_MS,
  };
  const listen = r.telemetry?.listen === undefined ? D.DEFAULT_TELEMETRY_LISTEN : r.telemetry.listen;
  if (typeof listen === 'string' && rules.ok(['telemetry', 'listen'])) {
    const why = checkLoopbackListen(listen);
    if (why) rules.fail(['telemetry', 'listen'], why);
  }
  const telemetry: TelemetryConfig = {
    listen,
    logLevel: (r.telemetry?.logLevel ?? D.DEFAULT_LOG_LEVEL) as LogLevel,
    audit: r.telemetry?.audit ?? D.DEFAULT_AUDIT,
  };

  const config: GatewayConfig = {
    gatewayId,
    clusterId,
    priority: r.priority ?? D.DEFAULT_PRIORITY,
    controller,
    vaults,
    policy,
    limits,
    telemetry,
    stateDir: r.stateDir ?? null,
    events: compileEvents(r.events),
    notices: compileNotices(r.notices, vaults.map((v) => v.name), rules),
  };
  return { config: problems.length === 0 ? deepFreeze(config) : undefined, problems };
}

class Rules {
  constructor(
    readonly problems: string[],
    private readonly faulted: ReadonlySet<string>,
  ) {}

  /** True when the schema found nothing wrong at this path. */
  ok(path: ReadonlyArray<string | number>): boolean {
    return !this.faulted.has(formatKeyPath(path));
  }

  fail(path: ReadonlyArray<string | number>, message: string): void {
    const line = `${formatKeyPath(path)}: ${message}`;
    if (!this.problems.includes(line)) this.problems.push(line);
  }
}

function compileController(raw: RawControllerConfig | null | undefined, rules: Rules): ControllerConfig | null {
  if (raw === undefined || raw === null || typeof raw !== 'object') return null;
  const insecure = raw.insecure ?? false;
  if (typeof raw.url === 'string' && rules.ok(['controller', 'url'])) {
    const url = parseUrl(raw.url);
    if (!url) rules.fail(['controller', 'url'], 'is not a valid URL');
    else {
      if (url.protocol === 'ws:' && !insecure) {
        rules.fail(['controller', 'url'], 'must be wss:// (ws:// is allowed only with controller.insecure true)');
      }
      if (url.username || url.password) rules.fail(['controller', 'url'], 'must not contain a user or password (use controller.token)');
      if (url.hash) rules.fail(['controller', 'url'], 'must not contain a #fragment');
    }
  }
  checkPin(raw.pinSha256, ['controller', 'pinSha256'], rules);
  const certFile = raw.certFile ?? null;
  const keyFile = raw.keyFile ?? null;
  if (certFile !== null && keyFile === null) rules.fail(['controller', 'keyFile'], 'is required when controller.certFile is set');
  if (keyFile !== null && certFile === null) rules.fail(['controller', 'certFile'], 'is required when controller.keyFile is set');
  checkProxy(raw, rules);
  return {
    url: raw.url,
    token: raw.token,
    insecure,
    caFile: raw.caFile ?? null,
    pinSha256: typeof raw.pinSha256 === 'string' ? normalizePin(raw.pinSha256) : null,
    certFile,
    keyFile,
    proxy: raw.proxy ?? null,
    proxyPassword: raw.proxyPassword ?? null,
  };
}

/** controller.proxy is `http://[user@]host:port`; its password is a secret reference in controller.proxyPassword. */
function checkProxy(raw: RawControllerConfig, rules: Rules): void {
  const proxyPath = ['controller', 'proxy'];
  const url = typeof raw.proxy === 'string' && rules.ok(proxyPath) ? parseUrl(raw.proxy) : undefined;
  if (typeof raw.proxy === 'string' && rules.ok(proxyPath)) {
    if (!url || !url.hostname) rules.fail(proxyPath, 'is not a valid URL');
    else if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      rules.fail(proxyPath, 'must be http://[user@]host:port with no path');
    } else if (url.password) {
      // config.json is no place for a secret: the password is read like every other one.
      rules.fail(
        proxyPath,
        'must not contain a password: write http://user@host:port and put the password in controller.proxyPassword ' +
          '(file:///absolute/path, env://NAME or credential://NAME)',
      );
    }
  }
  if (typeof raw.proxyPassword === 'string' && rules.ok(['controller', 'proxyPassword'])) {
    if (typeof raw.proxy !== 'string') rules.fail(['controller', 'proxyPassword'], 'needs controller.proxy (http://user@host:port)');
    else if (url && !url.username) rules.fail(['controller', 'proxyPassword'], 'needs a user in controller.proxy (http://user@host:port)');
  }
}

function compileVault(raw: RawVaultProfile, i: number, rules: Rules): VaultProfile {
  const v = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<RawVaultProfile>;
  let url = v.url as string;
  if (typeof v.url === 'string' && rules.ok(['vaults', i, 'url'])) {
    const parsed = parseUrl(v.url);
    if (!parsed || !parsed.hostname) rules.fail(['vaults', i, 'url'], 'is not a valid URL');
    else if (parsed.username || parsed.password) rules.fail(['vaults', i, 'url'], 'must not contain a user or password (use the token)');
    else if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash) {
      // The client appends /restapi/json/v1/…; a path here would be doubled.
      rules.fail(['vaults', i, 'url'], 'must be https://host[:port] with no path, query or fragment');
    } else url = parsed.origin;
  }
  checkPin(v.pinSha256, ['vaults', i, 'pinSha256'], rules);
  const resourceMatch = Array.isArray(v.resourceMatch) ? ([...v.resourceMatch] as ResourceMatch[]) : [...D.DEFAULT_RESOURCE_MATCH];
  if (rules.ok(['vaults', i, 'resourceMatch'])) {
    const twice = resourceMatch.find((way, j) => resourceMatch.indexOf(way) !== j);
    if (twice !== undefined) rules.fail(['vaults', i, 'resourceMatch'], `lists "${twice}" more than once`);
  }
  checkVaultAuth(v, i, rules);
  return {
    name: v.name as string,
    url,
    token: v.token as string,
    tokenKind: v.tokenKind ?? D.DEFAULT_TOKEN_KIND,
    appName: v.appName ?? D.DEFAULT_APP_NAME,
    orgName: v.orgName ?? null,
    orgNameAttribute: v.orgNameAttribute ?? null,
    accountPaging: v.accountPaging ?? D.DEFAULT_ACCOUNT_PAGING,
    resourceIdAttribute: v.resourceIdAttribute ?? D.DEFAULT_RESOURCE_ID_ATTRIBUTE,
    includeAccountNotes: v.includeAccountNotes ?? false,
    requireTicketId: v.requireTicketId ?? false,
    caFile: v.caFile ?? null,
    pinSha256: typeof v.pinSha256 === 'string' ? normalizePin(v.pinSha256) : null,
    timeoutMs: v.timeoutMs ?? D.DEFAULT_VAULT_TIMEOUT_MS,
    maxConnections: v.maxConnections ?? D.DEFAULT_VAULT_MAX_CONNECTIONS,
    metadataTtlMs: v.metadataTtlMs ?? D.DEFAULT_METADATA_TTL_MS,
    notesConcurrency: v.notesConcurrency ?? D.DEFAULT_NOTES_CONCURRENCY,
    healthIntervalMs: v.healthIntervalMs ?? D.DEFAULT_HEALTH_INTERVAL_MS,
    maxResponseBytes: v.maxResponseBytes ?? D.DEFAULT_MAX_RESPONSE_BYTES,
    rotationNotices: v.rotationNotices ?? false,
    resourceMatch,
    dnsIndex: {
      maxCallsPerMinute: v.dnsIndex?.maxCallsPerMinute ?? D.DEFAULT_DNS_INDEX_MAX_CALLS_PER_MINUTE,
      refreshIntervalMs: v.dnsIndex?.refreshIntervalMs ?? D.DEFAULT_DNS_INDEX_REFRESH_INTERVAL_MS,
    },
  };
}

/** Token kind and organisation rules of a vault profile (protocol section 9). */
function checkVaultAuth(v: Partial<RawVaultProfile>, i: number, rules: Rules): void {
  // An appName beside an API user's key would be silently unused: the admin meant an integration token.
  if (v.appName !== undefined && (v.tokenKind ?? D.DEFAULT_TOKEN_KIND) !== 'integration' && rules.ok(['vaults', i, 'tokenKind'])) {
    rules.fail(['vaults', i, 'appName'], 'is used only with tokenKind "integration" (an API user\'s key is sent as AUTHTOKEN, without APP_NAME)');
  }
  if (typeof v.orgName === 'string' && rules.ok(['vaults', i, 'orgName']) && !isHeaderValue(v.orgName)) {
    rules.fail(
      ['vaults', i, 'orgName'],
      'cannot be sent as the orgName header: use printable ISO-8859-1 (Latin-1) characters, without leading or trailing spaces',
    );
  }
  // With the attribute, a resource without it is RESOURCE_NOT_MAPPED: a fixed orgName would never be used.
  if (typeof v.orgName === 'string' && typeof v.orgNameAttribute === 'string') {
    rules.fail(['vaults', i, 'orgNameAttribute'], 'excludes orgName: set a fixed organisation or the attribute that names it, not both');
  }
}

function checkPin(pin: unknown, path: Array<string | number>, rules: Rules): void {
  if (typeof pin === 'string' && rules.ok(path) && !isValidPin(pin)) {
    rules.fail(path, 'must be a base64 SHA-256 SPKI pin (44 characters ending in "=", optionally prefixed sha256//); see `credgw cert show`');
  }
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Why `host:port` is not a loopback listen address, or undefined when it is. */
export function checkLoopbackListen(listen: string): string | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  if (!m) return 'must be host:port, for example 127.0.0.1:9469 or [::1]:9469';
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  const port = Number(m[3]);
  if (port > 65535) return 'port must be 0-65535';
  const loopback = host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
  // The endpoint shows the gateway's state to anyone who can reach it: keep it on this machine.
  if (!loopback) return 'must be on loopback (127.0.0.1, [::1] or localhost)';
  return undefined;
}

function sanitizeHostname(name: string): string {
  const id = name.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128);
  return id === '' ? 'credgw' : id;
}

/** Freezes an object graph (plain objects and arrays). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
