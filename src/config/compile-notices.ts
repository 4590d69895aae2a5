import { isIP } from 'node:net';
import * as D from './defaults.js';
import type { RawConfig, RawNoticesConfig, RawSyslogConfig } from './schema.js';
import type { EventsConfig, NoticesConfig, SyslogConfig } from './types.js';

/**
 * Compiles `stateDir`, `events` and `notices` (protocol sections 11 and 12):
 * defaults and the rules that relate fields (a listener needs a token,
 * certificate and key go together, a syslog source names a vault profile,
 * addresses are addresses). The schema has checked each field alone.
 */

/** What compile.ts's rule collector offers (a problem per key path; a path the schema faulted is skipped). */
export interface RuleSink {
  ok(path: ReadonlyArray<string | number>): boolean;
  fail(path: ReadonlyArray<string | number>, message: string): void;
}

export function compileEvents(raw: RawConfig['events']): EventsConfig {
  return {
    maxStored: raw?.maxStored ?? D.DEFAULT_EVENTS_MAX_STORED,
    mergeWindowMs: raw?.mergeWindowMs ?? D.DEFAULT_EVENTS_MERGE_WINDOW_MS,
  };
}

export function compileNotices(raw: RawNoticesConfig | undefined, vaultNames: readonly string[], rules: RuleSink): NoticesConfig {
  const n = raw ?? {};
  const listen = n.listen ?? null;
  const token = n.token ?? null;
  checkListen(listen, ['notices', 'listen'], rules);
  if (listen !== null && token === null) rules.fail(['notices', 'token'], 'is required when notices.listen is set (a secret reference to the token the reset-listener script sends)');
  checkPair(n.certFile, n.keyFile, ['notices'], rules);
  const allowFrom = [...(n.allowFrom ?? [])];
  checkAddresses(allowFrom, ['notices', 'allowFrom'], rules);
  return {
    listen,
    certFile: n.certFile ?? null,
    keyFile: n.keyFile ?? null,
    altNames: [...(n.altNames ?? [])],
    token,
    allowFrom,
    ratePerSecond: n.ratePerSecond ?? D.DEFAULT_NOTICES_RATE_PER_SECOND,
    burst: n.burst ?? D.DEFAULT_NOTICES_BURST,
    syslog: n.syslog ? compileSyslog(n.syslog, vaultNames, rules) : null,
  };
}

function compileSyslog(s: RawSyslogConfig, vaultNames: readonly string[], rules: RuleSink): SyslogConfig {
  const at = ['notices', 'syslog'];
  // TCP unless the admin named a transport: UDP is unauthenticated and comes only when asked.
  const named = s.tcp !== undefined || s.udp !== undefined || s.tls !== undefined;
  const tcp = named ? (s.tcp ?? null) : D.DEFAULT_SYSLOG_TCP;
  const udp = s.udp ?? null;
  const tlsRaw = s.tls ?? null;
  if (tcp === null && udp === null && tlsRaw === null) rules.fail(at, 'names no transport: set tcp, tls or udp');
  checkListen(tcp, [...at, 'tcp'], rules);
  checkListen(udp, [...at, 'udp'], rules);
  if (tlsRaw) {
    checkListen(tlsRaw.listen, [...at, 'tls', 'listen'], rules);
    checkPair(tlsRaw.certFile, tlsRaw.keyFile, [...at, 'tls'], rules);
  }
  const sources = (Array.isArray(s.sources) ? s.sources : []).map((src, i) => {
    const path = [...at, 'sources', i];
    if (typeof src.vault === 'string' && rules.ok([...path, 'vault']) && !vaultNames.includes(src.vault)) {
      rules.fail([...path, 'vault'], `names no vault profile (${vaultNames.length > 0 ? `profiles: ${vaultNames.join(', ')}` : 'there are none'})`);
    }
    const from = Array.isArray(src.from) ? [...src.from] : [];
    checkAddresses(from, [...path, 'from'], rules);
    return { vault: src.vault, from };
  });
  const pattern = s.pattern ?? null;
  if (pattern !== null && rules.ok([...at, 'pattern'])) {
    const why = patternProblem(pattern);
    if (why) rules.fail([...at, 'pattern'], why);
  }
  const timeZone = s.timeZone ?? D.DEFAULT_SYSLOG_TIME_ZONE;
  if (rules.ok([...at, 'timeZone']) && !validTimeZone(timeZone)) rules.fail([...at, 'timeZone'], 'is not an IANA time zone (for example "UTC" or "Europe/Berlin")');
  return {
    tcp,
    udp,
    tls: tlsRaw ? { listen: tlsRaw.listen, certFile: tlsRaw.certFile ?? null, keyFile: tlsRaw.keyFile ?? null, clientCaFile: tlsRaw.clientCaFile ?? null } : null,
    sources,
    operations: s.operations ? [...s.operations] : null,
    pattern,
    timeZone,
  };
}

/** `host:port` with an IPv6 host in brackets, as the notice servers parse it. */
function checkListen(listen: string | null | undefined, path: string[], rules: RuleSink): void {
  if (typeof listen !== 'string' || !rules.ok(path)) return;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  if (!m) rules.fail(path, 'must be host:port, for example 0.0.0.0:9470 or [::]:9470');
  else if (Number(m[3]) > 65_535) rules.fail(path, 'port must be 0-65535');
  else if (m[1] !== undefined && isIP(m[1]) !== 6) rules.fail(path, 'the bracketed host must be an IPv6 address');
}

function checkPair(certFile: string | null | undefined, keyFile: string | null | undefined, at: string[], rules: RuleSink): void {
  const cert = certFile ?? null;
  const key = keyFile ?? null;
  if (cert !== null && key === null) rules.fail([...at, 'keyFile'], `is required when ${at.join('.')}.certFile is set`);
  if (key !== null && cert === null) rules.fail([...at, 'certFile'], `is required when ${at.join('.')}.keyFile is set`);
}

/** Each entry an IPv4 or IPv6 address, or one with a `/prefix`. */
function checkAddresses(list: readonly string[], path: Array<string | number>, rules: RuleSink): void {
  list.forEach((entry, i) => {
    if (typeof entry !== 'string' || !rules.ok([...path, i])) return;
    const [address = '', prefix, extra] = entry.trim().split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) rules.fail([...path, i], 'must be an IP address or a CIDR (10.1.2.5, 10.1.2.0/24, fd00::/8)');
  });
}

function patternProblem(pattern: string): string | undefined {
  try {
    // The receiver compiles it with the u flag (src/notices/pam360-audit.ts).
    new RegExp(pattern, 'u');
  } catch (err) {
    return `is not a regular expression (${(err as Error).message})`;
  }
  const missing = ['resource', 'account'].filter((g) => !pattern.includes(`(?<${g}>`));
  return missing.length > 0 ? `needs the named group${missing.length > 1 ? 's' : ''} ${missing.map((g) => `(?<${g}>…)`).join(' and ')}` : undefined;
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
