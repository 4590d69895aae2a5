import { resolve } from 'node:path';
import { Command } from 'commander';
import { DEFAULT_APP_NAME, describeSecretRef, isSecretRef, validateConfig } from '../config/index.js';
import type { GatewayConfig, RawVaultProfile, VaultProfile } from '../config/index.js';
import { CredgwError, GatewayError, isHeaderValue } from '../shared/index.js';
import { isValidPin, normalizePin, readCaFile } from '../tls/index.js';
import type { PmpAccount, ResourceDirectory, VaultClient } from '../vault/index.js';
import { testVaultConnection } from '../diagnose/index.js';
import { createVaultClient } from '../vault/index.js';
import { EXIT_FAILURE, UsageError, type CliContext } from './cli-context.js';
import { table } from './table.js';
import { intOption } from './cli-options.js';
import { buildDnsIndex, printDnsIndex } from './vault-resources.js';

/** `credgw vault add|list|remove|test|accounts|password|resources`. */
export function vaultCommand(ctx: CliContext): Command {
  const cmd = new Command('vault').description('PMP / PAM360 connections (vault profiles)');

  cmd
    .command('add')
    .description('add a vault profile')
    .argument('<name>', 'profile name, as commands from the cloud name it')
    .requiredOption('--url <url>', 'https://host[:port] of PMP / PAM360 (no path)')
    .requiredOption('--token <ref>', 'where the token is: file:///path, env://NAME or credential://NAME (never the token itself)')
    .option('--token-kind <kind>', 'apiUser: an API user\'s key, sent as AUTHTOKEN (default); integration: a PAM360 integration token, sent as APP_AUTHTOKEN with APP_NAME')
    .option('--app-name <name>', 'APP_NAME sent with an integration token (default "credgw"; only with --token-kind integration)')
    .option('--org-name <name>', 'PAM360 / MSP organisation of every call (orgName header)')
    .option('--org-name-attribute <attr>', "custom attribute of a command's resource that names its PAM360 / MSP organisation (instead of --org-name)")
    .option('--resource-id-attribute <attr>', 'custom attribute holding the PMP resource ID or name (default "PMP Resource ID")')
    .option('--include-account-notes', 'add account notes to listAccounts')
    .option('--require-ticket-id', 'refuse getPassword without a ticket ID')
    .option('--ca-file <file>', "PEM file with the vault's certificate or its CA")
    .option('--pin <sha256>', "base64 SHA-256 SPKI pin of the vault's certificate (see `credgw cert show`)")
    .action((name: string, opts: VaultAddOptions) => {
      const profile = vaultFromOptions(name, opts);
      const store = ctx.store();
      store.update((draft) => {
        const vaults = (draft.vaults ??= []);
        if (vaults.some((v) => typeof v?.name === 'string' && v.name.toLowerCase() === name.toLowerCase())) {
          throw new CredgwError('VAULT_EXISTS', `vault "${name}" already exists in ${store.path}; remove it first or change it with credgw config set`);
        }
        vaults.push(profile);
      });
      ctx.out(`added vault "${name}" to ${store.path}`);
      ctx.out(`check it with: credgw vault test ${name}`);
    });

  cmd
    .command('list')
    .description('list the vault profiles')
    .option('--json', 'as JSON')
    .action((opts: { json?: boolean }) => {
      const vaults = ctx.store().read().vaults ?? [];
      if (opts.json) {
        ctx.out(JSON.stringify(vaults, null, 2));
        return;
      }
      if (vaults.length === 0) {
        ctx.out('no vaults; add one with: credgw vault add NAME --url URL --token REF');
        return;
      }
      const rows = vaults.map((v) => [
        v.name,
        v.url,
        `${describeSecretRef(v.token)}${v.tokenKind === 'integration' ? ` (integration, APP_NAME ${v.appName ?? DEFAULT_APP_NAME})` : ''}`,
        trustOf(v),
        v.orgName ?? (v.orgNameAttribute ? `from attribute "${v.orgNameAttribute}"` : '-'),
        v.resourceIdAttribute ?? 'PMP Resource ID',
      ]);
      ctx.out(table(['NAME', 'URL', 'TOKEN', 'TRUST', 'ORG', 'RESOURCE ATTRIBUTE'], rows));
    });

  cmd
    .command('remove')
    .description('remove a vault profile')
    .argument('<name>', 'profile name')
    .action((name: string) => {
      const store = ctx.store();
      store.update((draft) => {
        const index = (draft.vaults ?? []).findIndex((v) => v?.name === name);
        if (index < 0) throw new GatewayError('UNKNOWN_VAULT', `no vault named "${name}" in ${store.path}`);
        draft.vaults!.splice(index, 1);
      });
      ctx.out(`removed vault "${name}" from ${store.path}`);
    });

  cmd
    .command('test')
    .description('test DNS, TCP, TLS and the token of a vault profile (and which kind the vault accepted), one line per check')
    .argument('<name>', 'profile name')
    .action(async (name: string) => {
      const profile = findProfile(ctx.store().load(), name);
      const checks = await testVaultConnection(profile, () => ctx.readSecret(profile.token), { logger: ctx.logger() });
      const width = Math.max(...checks.map((c) => c.check.length));
      for (const c of checks) ctx.out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.check.padEnd(width)}  ${c.detail}`);
      const passed = checks.length > 0 && checks.every((c) => c.ok) && checks.some((c) => c.check === 'auth');
      if (!passed) ctx.exitCode = EXIT_FAILURE;
    });

  cmd
    .command('accounts')
    .description('list the accounts of a PMP resource')
    .argument('<name>', 'profile name')
    .argument('<resource>', 'PMP resource ID (digits) or name')
    .option('--notes', "fetch notes even when the profile's includeAccountNotes is off")
    .option('--org-name <name>', "PAM360 / MSP organisation to ask in (default: the profile's orgName)")
    .option('--json', 'as JSON')
    .action(async (name: string, resourceRef: string, opts: { json?: boolean; notes?: boolean; orgName?: string }) => {
      await withClient(ctx, name, async (client, profile) => {
        const org = orgOption(opts.orgName);
        const resource = await client.resolveResource(resourceRef, org);
        const list = await client.listAccounts(resource.id, { ...org, includeNotes: profile.includeAccountNotes || opts.notes === true });
        if (opts.json) {
          ctx.out(JSON.stringify(list, null, 2));
          return;
        }
        ctx.out(`resource ${list.resourceId} ${list.resourceName}: ${list.accounts.length} account${list.accounts.length === 1 ? '' : 's'}`);
        if (list.accounts.length === 0) return;
        const rows = list.accounts.map((a) => [a.id, a.name, accountFlags(a), a.notes ?? '']);
        ctx.out(table(['ID', 'NAME', 'FLAGS', 'NOTES'], rows));
      });
    });

  cmd
    .command('password')
    .description('fetch an account password (shown only with --reveal); PMP audits every fetch')
    .argument('<name>', 'profile name')
    .argument('<resource>', 'PMP resource ID (digits) or name')
    .argument('<account>', 'account ID (digits) or account name')
    .option('--ticket-id <id>', 'ticket ID passed to PMP')
    .option('--reason <text>', 'reason passed to PMP')
    .option('--org-name <name>', "PAM360 / MSP organisation to ask in (default: the profile's orgName)")
    .option('--reveal', 'print the password (alone on one line, for scripts)')
    .action(async (name: string, resourceRef: string, accountRef: string, opts: { ticketId?: string; reason?: string; reveal?: boolean; orgName?: string }) => {
      await withClient(ctx, name, async (client) => {
        const org = orgOption(opts.orgName);
        const resource = await client.resolveResource(resourceRef, org);
        const list = await client.listAccounts(resource.id, org);
        const account = findAccount(list.accounts, accountRef, list.resourceName);
        const fetched = await client.getPassword(list.resourceId, account.id, { ticketId: opts.ticketId, reason: opts.reason }, org);
        if (opts.reveal) {
          ctx.out(fetched.password);
          return;
        }
        ctx.out(
          `fetched the password of ${fetched.accountName} (account ${fetched.accountId}) on ${list.resourceName} ` +
            `(resource ${fetched.resourceId}); not shown: add --reveal to print it`,
        );
      });
    });

  cmd
    .command('resources')
    .description("list the vault's resources with their DNS names, read within the profile's budget of vault calls")
    .argument('<name>', 'profile name')
    .option('--by-address', 'the index by normalised address (as commands are matched) and every DNS name shared by several resources')
    .option('--max-calls-per-minute <n>', "vault calls a minute (default: the profile's dnsIndex.maxCallsPerMinute)")
    .option('--json', 'as JSON')
    .action(async (name: string, opts: { byAddress?: boolean; json?: boolean; maxCallsPerMinute?: string }) => {
      let rate: number | undefined;
      if (opts.maxCallsPerMinute !== undefined) {
        try {
          rate = intOption(opts.maxCallsPerMinute, '--max-calls-per-minute', 10, 60_000);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }
      await withClient(ctx, name, async (client, profile) => {
        const index = await buildDnsIndex(ctx, client, profile, rate ?? profile.dnsIndex.maxCallsPerMinute);
        printDnsIndex(ctx, index, { byAddress: opts.byAddress === true, json: opts.json === true });
      });
    });

  return cmd;
}

interface VaultAddOptions {
  url: string;
  token: string;
  tokenKind?: string;
  appName?: string;
  orgName?: string;
  orgNameAttribute?: string;
  resourceIdAttribute?: string;
  includeAccountNotes?: boolean;
  requireTicketId?: boolean;
  caFile?: string;
  pin?: string;
}

/** The raw profile for `vault add`, with argument mistakes as usage errors (exit 2). */
function vaultFromOptions(name: string, opts: VaultAddOptions): RawVaultProfile {
  if (!isSecretRef(opts.token)) {
    throw new UsageError(
      '--token must be a secret reference (file:///path, env://NAME or credential://NAME), never the key itself: ' +
        'a key on the command line is visible to every user in the process list and stays in shell history',
    );
  }
  let pin: string | undefined;
  if (opts.pin !== undefined) {
    if (!isValidPin(opts.pin)) throw new UsageError('--pin must be a base64 SHA-256 SPKI pin (44 characters), as `credgw cert show URL` prints it');
    pin = normalizePin(opts.pin);
  }
  let caFile: string | undefined;
  if (opts.caFile !== undefined) {
    caFile = resolve(opts.caFile);
    try {
      readCaFile(caFile);
    } catch (err) {
      throw new UsageError(`--ca-file: ${(err as Error).message}`);
    }
  }
  if (opts.tokenKind !== undefined && opts.tokenKind !== 'apiUser' && opts.tokenKind !== 'integration') {
    throw new UsageError('--token-kind must be apiUser (an API user\'s key, sent as AUTHTOKEN) or integration (a PAM360 integration token, sent as APP_AUTHTOKEN)');
  }
  const profile: RawVaultProfile = { name, url: opts.url, token: opts.token };
  // Written only when given, so the file keeps following the defaults.
  if (opts.tokenKind !== undefined) profile.tokenKind = opts.tokenKind;
  if (opts.appName !== undefined) profile.appName = opts.appName;
  if (opts.orgName !== undefined) profile.orgName = opts.orgName;
  if (opts.orgNameAttribute !== undefined) profile.orgNameAttribute = opts.orgNameAttribute;
  if (opts.resourceIdAttribute !== undefined) profile.resourceIdAttribute = opts.resourceIdAttribute;
  if (opts.includeAccountNotes) profile.includeAccountNotes = true;
  if (opts.requireTicketId) profile.requireTicketId = true;
  if (caFile !== undefined) profile.caFile = caFile;
  if (pin !== undefined) profile.pinSha256 = pin;
  // Check the new entry alone, so a mistake names the option rather than vaults[N].
  const problems = validateConfig({ vaults: [profile] }).filter((p) => p.startsWith('vaults[0].'));
  if (problems.length > 0) {
    throw new UsageError(
      problems
        .map((p) => {
          const key = /^vaults\[0\]\.([A-Za-z]+)/.exec(p)?.[1] ?? '';
          return p.replace(/^vaults\[0\]\.[A-Za-z]+/, OPTION_OF_KEY[key] ?? key);
        })
        .join('; '),
    );
  }
  return profile;
}

const OPTION_OF_KEY: Record<string, string> = {
  name: 'NAME',
  url: '--url',
  token: '--token',
  tokenKind: '--token-kind',
  appName: '--app-name',
  orgName: '--org-name',
  orgNameAttribute: '--org-name-attribute',
  resourceIdAttribute: '--resource-id-attribute',
  caFile: '--ca-file',
  pinSha256: '--pin',
};

export function findProfile(config: GatewayConfig, name: string): VaultProfile {
  const profile = config.vaults.find((v) => v.name === name);
  if (!profile) {
    const known = config.vaults.map((v) => v.name).join(', ') || 'none';
    throw new GatewayError('UNKNOWN_VAULT', `no vault named "${name}" (known: ${known})`);
  }
  return profile;
}

async function withClient(
  ctx: CliContext,
  name: string,
  fn: (client: VaultClient & ResourceDirectory, profile: VaultProfile) => Promise<void>,
): Promise<void> {
  const profile = findProfile(ctx.store().load(), name);
  const client = createVaultClient(profile, { readToken: () => ctx.readSecret(profile.token), logger: ctx.logger() });
  try {
    await fn(client, profile);
  } finally {
    await client.close();
  }
}

/** An account by ID (digits, when one has it) or else by name (exact, then case-insensitive if unique). */
export function findAccount(accounts: readonly PmpAccount[], ref: string, resourceName: string): PmpAccount {
  const byId = /^\d+$/.test(ref) ? accounts.find((a) => a.id === ref) : undefined;
  if (byId) return byId;
  const exact = accounts.filter((a) => a.name === ref);
  if (exact.length === 1) return exact[0]!;
  const folded = accounts.filter((a) => a.name.toLowerCase() === ref.toLowerCase());
  if (exact.length === 0 && folded.length === 1) return folded[0]!;
  if (exact.length > 1 || folded.length > 1) {
    throw new GatewayError('ACCOUNT_NOT_FOUND', `more than one account named "${ref}" on ${resourceName}; give the account ID`);
  }
  throw new GatewayError('ACCOUNT_NOT_FOUND', `no account "${ref}" on ${resourceName}`);
}

/** `--org-name` as call options; a value a header cannot carry is a usage error here, not a vault refusal. */
function orgOption(orgName: string | undefined): { orgName?: string } {
  if (orgName === undefined) return {};
  if (!isHeaderValue(orgName)) {
    throw new UsageError('--org-name must be printable ISO-8859-1 (Latin-1) characters without leading or trailing spaces: it is sent as the orgName header');
  }
  return { orgName };
}

function accountFlags(a: PmpAccount): string {
  const flags = [a.ticketIdRequired ? 'ticket-id' : '', a.reasonRequired ? 'reason' : '', a.accessDenied ? 'no-access' : ''].filter(Boolean);
  return flags.length > 0 ? flags.join(',') : '-';
}

function trustOf(v: RawVaultProfile): string {
  const parts = [v.caFile ? `ca ${v.caFile}` : '', v.pinSha256 ? `pin ${v.pinSha256.slice(0, 12)}…` : ''].filter(Boolean);
  return parts.length > 0 ? parts.join(' + ') : 'system roots';
}
