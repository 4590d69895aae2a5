import { Command } from 'commander';
import { CredgwError, stripBrackets } from '../shared/index.js';
import { type CertificateInfo, describeCertificate, fetchPresentedCertificate, type PresentedCertificate } from '../tls/index.js';
import { UsageError, type CliContext } from './cli-context.js';
import { findProfile } from './vault.js';

/** How long `cert show` / `cert trust` wait for a handshake. */
export const CERT_FETCH_TIMEOUT_MS = 10_000;

/** `credgw cert show|trust`. */
export function certCommand(ctx: CliContext): Command {
  const cmd = new Command('cert').description('inspect and pin TLS certificates');

  cmd
    .command('show')
    .description("print a server's certificate: subject, issuer, validity, SHA-256 fingerprint and SPKI pin")
    .argument('<url>', 'https://host:port, wss://host/path or host:port')
    .action(async (url: string) => {
      const target = parseTarget(url);
      const presented = await fetchCertificate(target);
      printCertificate(ctx, target, presented, describeCertificate(presented.certPem));
    });

  cmd
    .command('trust')
    .description('pin a vault profile to the certificate its server presents now (after showing it)')
    .argument('<name>', 'vault profile name')
    .option('--yes', 'do not ask for confirmation')
    .action(async (name: string, opts: { yes?: boolean }) => {
      // Decided before any network call: a script without --yes must fail fast and plainly.
      if (!opts.yes && !ctx.io.stdin.isTTY) {
        throw new UsageError('--yes is required when standard input is not a terminal');
      }
      const store = ctx.store();
      const profile = findProfile(store.load(), name);
      const target = parseTarget(profile.url);
      const presented = await fetchCertificate(target);
      const info = describeCertificate(presented.certPem);
      printCertificate(ctx, target, presented, info);
      if (profile.pinSha256 === info.spkiPinSha256) {
        ctx.out(`vault "${name}" is already pinned to this certificate; nothing changed`);
        return;
      }
      if (!opts.yes && !(await ctx.confirm(`Pin vault "${name}" to this certificate?`))) {
        throw new CredgwError('ABORTED', 'not confirmed; nothing changed');
      }
      store.update((draft) => {
        const entry = (draft.vaults ?? []).find((v) => v?.name === name);
        if (!entry) throw new CredgwError('UNKNOWN_VAULT', `vault "${name}" disappeared from ${store.path}`);
        entry.pinSha256 = info.spkiPinSha256;
      });
      ctx.out(`pinned vault "${name}" to ${info.spkiPinSha256} in ${store.path}`);
      ctx.out(`check it with: credgw vault test ${name}`);
    });

  return cmd;
}

interface Target {
  host: string;
  port: number;
}

/** `https://h:p/…`, `wss://h/…`, `h:p`, `[::1]:p` or `h` (port 443). */
export function parseTarget(text: string): Target {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`"${text}" is not a URL or host:port`);
  }
  if (!url.hostname) throw new UsageError(`"${text}" has no host`);
  const defaultPort = url.protocol === 'http:' || url.protocol === 'ws:' ? 80 : 443;
  return { host: stripBrackets(url.hostname), port: url.port ? Number(url.port) : defaultPort };
}

async function fetchCertificate(target: Target): Promise<PresentedCertificate> {
  try {
    return await fetchPresentedCertificate({ host: target.host, port: target.port, timeoutMs: CERT_FETCH_TIMEOUT_MS });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const reason = code === 'ETIMEDOUT' ? 'VAULT_TIMEOUT' : 'VAULT_UNREACHABLE';
    throw new CredgwError(reason, `cannot get the certificate of ${target.host}:${target.port}: ${(err as Error).message}`, { cause: err });
  }
}

function printCertificate(ctx: CliContext, target: Target, presented: PresentedCertificate, info: CertificateInfo): void {
  const trusted = presented.authorized ? 'yes' : `no (${presented.authorizationError ?? 'not verified'})`;
  const lines: Array<[string, string]> = [
    ['server', `${target.host}:${target.port}`],
    ['subject', info.subject],
    ['issuer', info.issuer],
    ['valid from', info.validFrom],
    ['valid to', info.validTo],
    ['SHA-256', info.fingerprintSha256],
    ['SPKI pin', info.spkiPinSha256],
    ['self-signed', info.selfSigned ? 'yes' : 'no'],
    ['alt names', info.subjectAltName ?? '-'],
    ['chain', `${presented.chainPem.length} certificate${presented.chainPem.length === 1 ? '' : 's'}`],
    ['system trust', trusted],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) ctx.out(`${k.padEnd(width)} : ${v}`);
}
