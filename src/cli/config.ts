import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import {
  compileConfig,
  ConfigError,
  CREDENTIAL_ID,
  CREDENTIALS_SUBDIR,
  describeSecretRef,
  KeyPathError,
  parseCliValue,
  parseKeyPath,
  readConfigFile,
  readSecret,
  SecretError,
  secretSource,
  secretUses,
  setAtPath,
  startingConfig,
  unsetAtPath,
  validateConfig,
} from '../config/index.js';
import type { GatewayConfig, RawConfig } from '../config/index.js';
import { CredgwError } from '../shared/index.js';
import { EXIT_FAILURE, UsageError, type CliContext } from './cli-context.js';
import { exampleConfigPath, exampleConfigText } from './example-config.js';

/** The annotated example shipped with the package (config/credgw.example.json; see example-config.ts). */
export const EXAMPLE_CONFIG_PATH = exampleConfigPath();

/** `credgw config init|validate|show|set|unset`. */
export function configCommand(ctx: CliContext): Command {
  const cmd = new Command('config').description('create, check, show and change config.json');

  cmd
    .command('init')
    .description('write a starting config.json (valid as is; explanations in "//" keys)')
    .option('--force', 'overwrite an existing config.json (its owner, group and mode are kept)')
    .action((opts: { force?: boolean }) => {
      const store = ctx.store();
      if (store.exists() && !opts.force) {
        throw new CredgwError('CONFIG_EXISTS', `${store.path} already exists; use --force to overwrite it`);
      }
      store.update(() => startingConfig());
      ctx.out(`wrote ${store.path}`);
      ctx.out(`annotated example of every key: ${EXAMPLE_CONFIG_PATH} (or: credgw config example)`);
      const credentials = join(ctx.configDir(), CREDENTIALS_SUBDIR);
      ctx.out(
        `next: put the API key in ${credentials}/NAME (root:credgw 0640), then: ` +
          `credgw vault add NAME --url https://pmp.example:7272 --token credential://${CREDENTIAL_ID}_NAME`,
      );
    });

  cmd
    .command('example')
    .description('print the annotated example config.json (every key, explained)')
    .action(() => {
      ctx.io.stdout.write(exampleConfigText());
    });

  cmd
    .command('validate')
    .description('check a config file; prints the key path of every problem')
    .argument('[file]', 'the file to check (default: config.json of --config-dir)')
    .option('--secrets', 'also read every token reference: it exists, is readable, not empty, not writable by group or others, not readable by others (values never shown)')
    .action(async (file: string | undefined, opts: { secrets?: boolean }) => {
      const path = file ?? ctx.store().path;
      let problems: readonly string[];
      try {
        problems = validateConfig(readConfigFile(path, { parseOnly: true }));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = err.problems;
      }
      if (problems.length === 0) {
        const config = compileConfig(readConfigFile(path));
        const controller = config.controller ? `controller ${config.controller.url}` : 'no controller';
        ctx.out(`${path}: valid (${config.vaults.length} vault${config.vaults.length === 1 ? '' : 's'}, ${controller})`);
        if (opts.secrets) await validateSecrets(ctx, config, path);
        return;
      }
      for (const p of problems) ctx.err(`${path}: ${p}`);
      ctx.err(`error: CONFIG_INVALID: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${path}`);
      ctx.exitCode = EXIT_FAILURE;
    });

  cmd
    .command('show')
    .description('print the effective config (defaults filled in); tokens are references, never values')
    .option('--raw', 'print the file as written instead')
    .action((opts: { raw?: boolean }) => {
      const store = ctx.store();
      const shown = opts.raw ? store.read() : store.load();
      ctx.out(JSON.stringify(maskForDisplay(shown), null, 2));
    });

  cmd
    .command('set')
    .description('set one key, e.g. `config set telemetry.logLevel debug` or `config set vaults.pmp-prod.timeoutMs 20000`')
    .argument('<key>', 'dot path: telemetry.logLevel, vaults[0].caFile, vaults.NAME.pinSha256')
    .argument('<value>', 'JSON (numbers, true, false, null, "text", [..]) or plain text')
    .action((key: string, value: string) => {
      const segments = keyPathOrUsage(key);
      const store = ctx.store();
      store.update((draft) => {
        wrapKeyPathErrors(() => setAtPath(draft, segments, parseCliValue(value)));
      });
      ctx.out(`set ${key} in ${store.path}`);
    });

  cmd
    .command('unset')
    .description('remove one key so that its default applies')
    .argument('<key>', 'dot path, as for `config set`')
    .action((key: string) => {
      const segments = keyPathOrUsage(key);
      const store = ctx.store();
      let removed = false;
      store.update((draft) => {
        removed = wrapKeyPathErrors(() => unsetAtPath(draft, segments));
      });
      ctx.out(removed ? `removed ${key} from ${store.path}` : `${key} was not set in ${store.path}`);
    });

  return cmd;
}

/**
 * `config validate --secrets`: reads each reference as the daemon would
 * (credential://credgw_FILE from the credentials folder next to the file
 * outside systemd) and also refuses a token file its group may rewrite.
 * One line per problem with its key path; never a value.
 */
async function validateSecrets(ctx: CliContext, config: GatewayConfig, path: string): Promise<void> {
  const options = { configDir: dirname(path) };
  const problems: string[] = [];
  const refs = secretUses(config);
  for (const { key, ref } of refs) {
    try {
      await readSecret(ref, ctx.io.env, options);
      const source = secretSource(ref, ctx.io.env, options);
      if (source.kind !== 'file' || source.private) continue;
      const mode = (await stat(source.path)).mode & 0o777;
      if ((mode & 0o020) !== 0) {
        const shown = mode.toString(8).padStart(4, '0');
        problems.push(`${key}: ${describeSecretRef(ref)}: ${source.path} is writable by its group (mode ${shown}); run: chmod g-w ${source.path}`);
      }
    } catch (err) {
      if (!(err instanceof SecretError)) throw err;
      problems.push(`${key}: ${err.message}`);
    }
  }
  if (problems.length === 0) {
    ctx.out(`${path}: secrets: ${refs.length} readable${refs.length > 0 ? ` (${refs.map((r) => r.key).join(', ')})` : ''}`);
    return;
  }
  for (const p of problems) ctx.err(`${path}: ${p}`);
  ctx.err(`error: SECRET_UNAVAILABLE: ${problems.length} problem${problems.length === 1 ? '' : 's'} with the secrets of ${path}`);
  ctx.exitCode = EXIT_FAILURE;
}

function keyPathOrUsage(key: string): ReturnType<typeof parseKeyPath> {
  try {
    return parseKeyPath(key);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function wrapKeyPathErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KeyPathError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * A copy safe to print: tokens are references already, but a proxy URL may
 * carry a password (`http://user:pass@proxy:3128`).
 */
export function maskForDisplay<T extends object>(config: T | RawConfig): unknown {
  return JSON.parse(JSON.stringify(config), (key, value: unknown) => {
    if (key === 'proxy' && typeof value === 'string') return maskUrlPassword(value);
    return value;
  });
}

export function maskUrlPassword(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}
