import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CredgwError, type CredgwErrorOptions } from '../shared/index.js';
import { CREDENTIAL_ID, CREDENTIALS_SUBDIR } from './defaults.js';
import type { GatewayConfig, SecretRef } from './types.js';

/**
 * Secret references. A token in the config is never the token: it says
 * where to read it when it is needed (each call, no cache, so a rotated
 * file or credential takes effect without a restart):
 *
 * - `file:///abs/path` — a file holding the token. Surrounding whitespace
 *   (the trailing newline of `echo … > file`) is trimmed. The file must not
 *   be readable or writable by "other" (like ssh with private keys): a
 *   world-readable token is refused with the chmod that fixes it. Group
 *   read is fine: the installer gives the service's group read access.
 * - `env://NAME` — an environment variable of the process.
 * - `credential://NAME` — systemd's `LoadCredential=NAME:…`, read from
 *   `$CREDENTIALS_DIRECTORY/NAME` (systemd already makes that private).
 *   Without it (the CLI in an admin's shell), `credential://credgw_FILE` is
 *   read from `<config dir>/credentials/FILE`, the very file the unit's
 *   `LoadCredential=credgw:<config dir>/credentials` loads under that name,
 *   with the same mode rule as `file://`.
 *
 * Errors name the reference, never the value.
 */

/** Most bytes a secret file may hold: a token is short; a large file is the wrong file. */
export const MAX_SECRET_BYTES = 64 * 1024;

export type SecretErrorReason =
  | 'INVALID_REFERENCE'
  | 'NOT_FOUND'
  | 'UNREADABLE'
  | 'INSECURE_PERMISSIONS'
  | 'EMPTY'
  | 'MALFORMED'
  | 'NO_CREDENTIALS_DIRECTORY';

/** A secret reference that cannot be read; `reason` says why, `code` is the same for all (the CLI shows it). */
export class SecretError extends CredgwError<'SECRET_UNAVAILABLE'> {
  override readonly name = 'SecretError';
  constructor(
    /** The reference (safe to show: it is where the secret is, not the secret). */
    readonly ref: string,
    readonly reason: SecretErrorReason,
    message: string,
    options?: CredgwErrorOptions,
  ) {
    super('SECRET_UNAVAILABLE', `${describeSecretRef(ref)}: ${message}`, options);
  }
}

export type ParsedSecretRef =
  | { kind: 'file'; path: string }
  | { kind: 'env'; name: string }
  | { kind: 'credential'; name: string };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CREDENTIAL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;

/** Parses a reference; undefined when it is not one (for example a literal token). */
export function parseSecretRef(ref: string): ParsedSecretRef | undefined {
  if (ref.startsWith('file:///')) {
    try {
      const path = fileURLToPath(ref);
      return path.includes('\0') ? undefined : { kind: 'file', path };
    } catch {
      return undefined;
    }
  }
  if (ref.startsWith('env://')) {
    const name = ref.slice('env://'.length);
    return ENV_NAME.test(name) ? { kind: 'env', name } : undefined;
  }
  if (ref.startsWith('credential://')) {
    const name = ref.slice('credential://'.length);
    return CREDENTIAL_NAME.test(name) ? { kind: 'credential', name } : undefined;
  }
  return undefined;
}

export function isSecretRef(ref: string): boolean {
  return parseSecretRef(ref) !== undefined;
}

/**
 * How to show a reference: the reference itself when it is one; when it is
 * not (a literal token pasted by mistake) only that, never the text.
 */
export function describeSecretRef(ref: string): string {
  const parsed = parseSecretRef(ref);
  if (!parsed) return '<not a secret reference>';
  switch (parsed.kind) {
    case 'file':
      return `file://${parsed.path}`;
    case 'env':
      return `env://${parsed.name}`;
    case 'credential':
      return `credential://${parsed.name}`;
  }
}

export interface ReadSecretOptions {
  /**
   * The config directory, where `credential://credgw_FILE` is found outside
   * systemd (`<configDir>/credentials/FILE`). Default: none (then
   * `credential://` needs $CREDENTIALS_DIRECTORY).
   */
  configDir?: string | undefined;
}

/**
 * The file systemd loads as `credential://NAME` through the unit's
 * `LoadCredential=credgw:<configDir>/credentials`: `<configDir>/credentials/FILE`
 * for NAME `credgw_FILE`; undefined for any other name.
 */
export function credentialSourcePath(name: string, configDir: string): string | undefined {
  const prefix = `${CREDENTIAL_ID}_`;
  if (!name.startsWith(prefix)) return undefined;
  const file = name.slice(prefix.length);
  if (file === '' || file === '.' || file === '..') return undefined;
  return join(configDir, CREDENTIALS_SUBDIR, file);
}

/** Reads a secret now. Rejects with SecretError (naming the reference, never the value). */
export async function readSecret(
  ref: SecretRef,
  env: NodeJS.ProcessEnv = process.env,
  options: ReadSecretOptions = {},
): Promise<string> {
  const source = secretSource(ref, env, options);
  if (source.kind === 'env') {
    const value = env[source.name];
    if (value === undefined) throw new SecretError(ref, 'NOT_FOUND', `environment variable ${source.name} is not set`);
    return checkValue(ref, value);
  }
  return checkValue(ref, await readSecretFile(ref, source.path, source.private));
}

/**
 * Where a reference is read from: an environment variable, or a file, which
 * is `private` when systemd made it so ($CREDENTIALS_DIRECTORY) and must
 * otherwise keep "other" users out. Throws SecretError when there is no such place.
 */
export function secretSource(
  ref: SecretRef,
  env: NodeJS.ProcessEnv = process.env,
  options: ReadSecretOptions = {},
): { kind: 'env'; name: string } | { kind: 'file'; path: string; private: boolean } {
  const parsed = parseSecretRef(ref);
  if (!parsed) {
    throw new SecretError(ref, 'INVALID_REFERENCE', 'must be file:///absolute/path, env://NAME or credential://NAME');
  }
  switch (parsed.kind) {
    case 'env':
      return parsed;
    case 'file':
      return { kind: 'file', path: parsed.path, private: false };
    case 'credential': {
      const dir = env['CREDENTIALS_DIRECTORY'];
      if (dir) return { kind: 'file', path: join(dir, parsed.name), private: true };
      const source = options.configDir === undefined ? undefined : credentialSourcePath(parsed.name, options.configDir);
      if (source) return { kind: 'file', path: source, private: false };
      throw new SecretError(ref, 'NO_CREDENTIALS_DIRECTORY', noCredentialsDirectory(parsed.name, options.configDir));
    }
  }
}

async function readSecretFile(ref: string, path: string, isPrivate: boolean): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw fileError(ref, path, err);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new SecretError(ref, 'UNREADABLE', `${path} is not a regular file`);
    if (!isPrivate && (st.mode & 0o007) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new SecretError(
        ref,
        'INSECURE_PERMISSIONS',
        `${path} is accessible to other users (mode ${mode}); run: chmod o-rwx ${path}`,
      );
    }
    if (st.size > MAX_SECRET_BYTES) throw new SecretError(ref, 'MALFORMED', `${path} is larger than ${MAX_SECRET_BYTES} bytes`);
    return await handle.readFile('utf8');
  } catch (err) {
    if (err instanceof SecretError) throw err;
    throw fileError(ref, path, err);
  } finally {
    await handle.close();
  }
}

function fileError(ref: string, path: string, err: unknown): SecretError {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return new SecretError(ref, 'NOT_FOUND', `${path} does not exist`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM') {
    return new SecretError(ref, 'UNREADABLE', `${path} is not readable by this user (uid ${process.getuid?.() ?? '?'})`, { cause: err });
  }
  if (code === 'EISDIR') return new SecretError(ref, 'UNREADABLE', `${path} is not a regular file`, { cause: err });
  return new SecretError(ref, 'UNREADABLE', `cannot read ${path} (${code ?? 'error'})`, { cause: err });
}

/** Why credential://NAME cannot be read here, and what would make it readable. */
function noCredentialsDirectory(name: string, configDir: string | undefined): string {
  const folder = configDir === undefined ? `<config dir>/${CREDENTIALS_SUBDIR}` : join(configDir, CREDENTIALS_SUBDIR);
  const convention = `CREDENTIALS_DIRECTORY is not set (not started by systemd); credgw.service loads ${folder}/FILE as credential://${CREDENTIAL_ID}_FILE`;
  if (credentialSourcePath(name, folder) !== undefined) return convention;
  return `${convention}, and this name only with a drop-in line LoadCredential=${name}:/path/to/token`;
}

function checkValue(ref: string, raw: string): string {
  const value = raw.trim();
  if (value === '') throw new SecretError(ref, 'EMPTY', 'is empty');
  // A line break inside would end up in an HTTP header: refuse rather than send half a token.
  if (/[\r\n\0]/.test(value)) throw new SecretError(ref, 'MALFORMED', 'holds more than one line');
  return value;
}

/** One place a config names a secret: its key path, and who and what it is for (as diagnose reports it). */
export interface SecretUse {
  /** Key path in config.json, e.g. `vaults[0].token`. */
  key: string;
  ref: SecretRef;
  /** `controller`, `vault NAME` or `notices`. */
  subject: string;
  /** `token` or `proxyPassword`. */
  field: 'token' | 'proxyPassword';
}

/** Every secret reference of a compiled config, in config order. */
export function secretUses(config: GatewayConfig): SecretUse[] {
  const uses: SecretUse[] = [];
  const c = config.controller;
  if (c) {
    uses.push({ key: 'controller.token', ref: c.token, subject: 'controller', field: 'token' });
    if (c.proxyPassword) uses.push({ key: 'controller.proxyPassword', ref: c.proxyPassword, subject: 'controller', field: 'proxyPassword' });
  }
  config.vaults.forEach((v, i) => uses.push({ key: `vaults[${i}].token`, ref: v.token, subject: `vault ${v.name}`, field: 'token' }));
  if (config.notices.token) uses.push({ key: 'notices.token', ref: config.notices.token, subject: 'notices', field: 'token' });
  return uses;
}
