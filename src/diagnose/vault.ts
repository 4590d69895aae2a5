import { lookup } from 'node:dns/promises';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { VaultProfile } from '../config/index.js';
import { type Clock, GatewayError, stripBrackets, systemClock } from '../shared/index.js';
import { derToPem, describeCertificate, fetchPresentedCertificate } from '../tls/index.js';
import { createVaultClient, describeError, describeTokenKind, otherTokenKindHint, VaultTrust } from '../vault/index.js';

/**
 * "Test the connection" for one vault profile, as an admin reads it: one
 * line per check (dns, tcp connect, tls, auth), stopping at the first
 * failure. Nothing secret is shown: the key is sent only in the auth
 * check, over a connection verified as the client verifies it.
 */

export interface VaultCheck {
  check: 'dns' | 'tcp connect' | 'tls' | 'auth';
  ok: boolean;
  detail: string;
}

export interface TestVaultConnectionOptions {
  /** Default: systemClock. */
  clock?: Clock;
  /** Passed to the client of the auth check. Default: silent. */
  logger?: Logger;
  /** Time-out of each network check. Default: the profile's timeoutMs. */
  timeoutMs?: number;
}

export async function testVaultConnection(
  profile: VaultProfile,
  readToken: () => Promise<string>,
  opts: TestVaultConnectionOptions = {},
): Promise<VaultCheck[]> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.timeoutMs ?? profile.timeoutMs;
  const checks: VaultCheck[] = [];
  const add = (check: VaultCheck['check'], ok: boolean, detail: string): boolean => {
    checks.push({ check, ok, detail });
    return ok;
  };

  let url: URL;
  try {
    url = new URL(profile.url);
    if (url.protocol !== 'https:') throw new Error('the URL must start with https://');
  } catch (err) {
    add('dns', false, `bad vault URL: ${(err as Error).message}`);
    return checks;
  }
  const host = stripBrackets(url.hostname);
  const port = url.port ? Number(url.port) : 443;

  // dns
  if (isIP(host)) {
    add('dns', true, `${host} is an address, no lookup needed`);
  } else {
    try {
      const all = await lookup(host, { all: true });
      add('dns', true, `${host} resolves to ${all.map((a) => a.address).join(', ')}`);
    } catch (err) {
      add('dns', false, `${host} does not resolve (${describeError(err)})`);
      return checks;
    }
  }

  // tcp connect: by name, so every resolved address is tried as the client's pool does
  try {
    const started = clock.monotonic();
    let remote = '';
    await onSocket(
      clock,
      timeoutMs,
      () => {
        const s = netConnect({ host, port });
        s.once('connect', () => (remote = `${s.remoteAddress ?? host}:${s.remotePort ?? port}`));
        return s;
      },
      'connect',
    );
    add('tcp connect', true, `connected to ${remote} in ${Math.round(clock.monotonic() - started)} ms`);
  } catch (err) {
    add('tcp connect', false, `cannot connect to ${host}:${port} (${describeError(err)})`);
    return checks;
  }

  // tls
  const trust = new VaultTrust({ caFile: profile.caFile, pinSha256: profile.pinSha256, host, port, timeoutMs });
  const how = trust.mode === 'ca' ? 'CA file' : trust.mode === 'pin' ? 'pin' : 'system roots';
  try {
    const connect = await trust.connectOptions();
    let leafPem = '';
    await onSocket(
      clock,
      timeoutMs,
      () => {
        const s: TLSSocket = tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...connect });
        s.once('secureConnect', () => {
          leafPem = derToPem(s.getPeerCertificate().raw);
        });
        return s;
      },
      'secureConnect',
    );
    const info = describeCertificate(leafPem);
    add('tls', true, `trusted by ${how}; subject ${info.subject}; pin ${info.spkiPinSha256}; valid to ${info.validTo}`);
  } catch (err) {
    const why = err instanceof GatewayError ? (err.detail ?? err.message) : describeError(err);
    let presented = '';
    try {
      const cert = await fetchPresentedCertificate({ host, port, timeoutMs });
      const info = describeCertificate(cert.certPem);
      presented = `; presented subject ${info.subject}, issuer ${info.issuer}, pin ${info.spkiPinSha256}`;
    } catch {
      // The reason above is what matters; the presented certificate is a courtesy.
    }
    add('tls', false, `not trusted by ${how} (${why})${presented}`);
    return checks;
  }

  // auth
  const client = createVaultClient(profile, { readToken, clock, ...(opts.logger ? { logger: opts.logger } : {}) });
  try {
    await client.probe();
    add('auth', true, `API key accepted as ${describeTokenKind(profile)}${orgScope(profile)}`);
  } catch (err) {
    const ge = err instanceof GatewayError ? err : new GatewayError('INTERNAL', 'probe failed', { cause: err });
    // Only a refusal of the token itself hints at the other kind; the token is never tried in another form.
    const hint = ge.code === 'ACCESS_DENIED' ? `; sent as ${describeTokenKind(profile)}: ${otherTokenKindHint(profile)}` : '';
    add('auth', false, `${ge.code}: ${ge.message}${ge.detail ? ` (${ge.detail})` : ''}${hint}`);
  } finally {
    await client.close();
  }
  return checks;
}

/** Which organisation the auth check spoke for. */
function orgScope(profile: VaultProfile): string {
  if (profile.orgName) return ` for organisation ${profile.orgName}`;
  if (profile.orgNameAttribute) return ` in the API user's own organisation (commands name theirs in "${profile.orgNameAttribute}")`;
  return '';
}

/** Opens a socket, waits for `event`, closes it; rejects on error or time-out. */
function onSocket(clock: Clock, timeoutMs: number, open: () => Socket, event: 'connect' | 'secureConnect'): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = open();
    const timer = clock.setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no ${event} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once(event, () => {
      clock.clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clock.clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
