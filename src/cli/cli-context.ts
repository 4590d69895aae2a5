import type { Readable, Writable } from 'node:stream';
import { CommanderError, type Command } from 'commander';
import { pino, type Logger } from 'pino';
import { configFile, type ConfigFile, loadConfigStoreModule, readSecret, resolveConfigDir } from '../config/index.js';
import type { ConfigStore, SecretRef } from '../config/index.js';
import { CredgwError, errorWithCode, GatewayError } from '../shared/index.js';
import { createLogger } from '../telemetry/index.js';

/**
 * What every subcommand gets: its streams and environment (injectable, so
 * tests run the program in-process), the config store of `--config-dir`,
 * and the error conventions: exit 0 ok, 1 failure, 2 usage (by the error's
 * code, EXIT_STATUS_BY_CODE); failures are one line `error: CODE: message`.
 * A command fails with a CredgwError: a subclass of its domain, a
 * UsageError, or the base with a code of its own.
 */

export interface CliIo {
  /** Default process.stdout. */
  stdout: Writable;
  /** Default process.stderr. */
  stderr: Writable;
  /** Default process.stdin (read only to confirm `cert trust` on a terminal). */
  stdin: Readable & { isTTY?: boolean };
  /** Default process.env (CREDGW_CONFIG_DIR, env:// secrets, CREDENTIALS_DIRECTORY). */
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Exit status of a command that failed, by the code of its error; every code not listed exits EXIT_FAILURE. */
export const EXIT_STATUS_BY_CODE: ReadonlyMap<string, number> = new Map([['USAGE', EXIT_USAGE]]);

/** A mistake in how the command was called (code USAGE: exit 2). */
export class UsageError extends errorWithCode('USAGE') {
  override readonly name = 'UsageError';
}

let storeModule: Awaited<ReturnType<typeof loadConfigStoreModule>> | undefined;

/** Loads the conf-backed config store module (once) for commands that write config.json. */
export async function loadConfigStore(): Promise<void> {
  storeModule ??= await loadConfigStoreModule();
}

export class CliContext {
  /** The exit status a command asked for without throwing (for example a failed check). */
  exitCode = EXIT_OK;
  private cachedLogger: Logger | undefined;

  constructor(
    readonly io: CliIo,
    private readonly program: Command,
  ) {}

  private globals(): { configDir?: string; verbose?: boolean } {
    return this.program.opts<{ configDir?: string; verbose?: boolean }>();
  }

  configDir(): string {
    return resolveConfigDir(this.globals().configDir, this.io.env);
  }

  /**
   * The conf-backed store of `--config-dir`, for commands that write
   * config.json. Its module (conf and its dependencies) is loaded by
   * `loadConfigStore()` before such a command runs; `credgw run` only reads
   * (`configFile()`) and never loads it.
   */
  store(): ConfigStore {
    if (!storeModule) throw new Error('the config store is not loaded (loadConfigStore() first)');
    return storeModule.openConfigStore(this.configDir());
  }

  /** config.json of `--config-dir`, read-only (no conf). */
  configFile(): ConfigFile {
    return configFile(this.configDir());
  }

  /**
   * Reads a secret reference now; outside systemd `credential://credgw_FILE`
   * comes from `<config dir>/credentials/FILE`, as the unit would load it.
   */
  readSecret(ref: SecretRef): Promise<string> {
    return readSecret(ref, this.io.env, { configDir: this.configDir() });
  }

  /** Silent unless `--verbose`, then debug lines (redacted) on stderr. */
  logger(): Logger {
    this.cachedLogger ??= this.globals().verbose
      ? createLogger({ level: 'debug', destination: this.io.stderr })
      : pino({ level: 'silent' });
    return this.cachedLogger;
  }

  out(line = ''): void {
    this.io.stdout.write(`${line}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /** Asks a yes/no question on the terminal; never called when stdin is not a TTY. */
  async confirm(question: string): Promise<boolean> {
    // Loaded here: only interactive commands prompt, and readline would cost the daemon's start (docs/benchmarks.md).
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: this.io.stdin, output: this.io.stderr, terminal: true });
    try {
      const answer = await rl.question(`${question} [y/N] `);
      return /^y(es)?$/i.test(answer.trim());
    } finally {
      rl.close();
    }
  }
}

/**
 * A reader that leaves early (`credgw diagnose | head -1`) ends the command
 * at once, quietly and with status 0: it asked for no more output. Any
 * other failure of the stream stays fatal.
 */
export function endQuietlyOnBrokenPipe(stream: Writable, exit: (code: number) => void): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    exit(EXIT_OK);
  });
}

/** The stable code shown for an error: a CredgwError's, a foreign error's errno-style one, else INTERNAL. */
export function errorCode(err: unknown): string {
  if (err instanceof CredgwError) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : 'INTERNAL';
}

/** One line, `error: CODE: message (detail)`, never more. */
export function formatError(err: unknown): string {
  const code = errorCode(err);
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof GatewayError && err.detail && !message.includes(err.detail)) message += ` (${err.detail})`;
  return `error: ${code}: ${message.replace(/\s*\n\s*/g, ' ')}`;
}

/** Exit status for anything a command threw: by its code (errorCode), Commander's errors aside. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version end with 0; Commander's own parse errors (unknown option, missing argument, …)
    // are usage errors; a command's cmd.error() carries the status it asked for.
    if (err.exitCode === 0) return EXIT_OK;
    return err.code.startsWith('commander.') ? EXIT_USAGE : err.exitCode;
  }
  return EXIT_STATUS_BY_CODE.get(errorCode(err)) ?? EXIT_FAILURE;
}
