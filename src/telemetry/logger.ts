import { hostname } from 'node:os';
import { pino, stdTimeFunctions, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import type { LogLevel } from '../config/index.js';

/**
 * The logger factories. JSON lines to stdout for journald; human-readable
 * (pino-pretty, in-process) only when stdout is a terminal. Every
 * field that could ever carry a secret is censored by pino's `redact`, so a
 * careless `log.debug({ req })` still cannot leak a token or a password.
 * Components never create loggers: they receive one (or a child).
 */

const CENSOR = '[redacted]';

/** Keys whose value is a secret wherever they appear (up to four levels deep). */
const SECRET_KEYS = [
  'token',
  'password',
  'passwd',
  'secret',
  'authtoken',
  'AUTHTOKEN',
  // PAM360 integration tokens (vault tokenKind "integration").
  'app_authtoken',
  'APP_AUTHTOKEN',
  'authorization',
  'Authorization',
  'proxyAuthorization',
  '"proxy-authorization"',
  '"Proxy-Authorization"',
  'cookie',
  'apiKey',
  'sealedPassword',
  'privateKey',
  'keyPem',
  // Not secret, but a PEM public key per command would drown the logs.
  'recipientKey',
] as const;

function at(prefix: string, key: string): string {
  return key.startsWith('"') ? `${prefix}[${key}]` : `${prefix}.${key}`;
}

/** Every path pino censors. Exported for tests and for anyone adding a field. */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_KEYS.map((k) => (k.startsWith('"') ? `[${k}]` : k)),
  ...SECRET_KEYS.map((k) => at('*', k)),
  ...SECRET_KEYS.map((k) => at('*.*', k)),
  ...SECRET_KEYS.map((k) => at('*.*.*', k)),
  // Headers hold names that mean "secret" only there.
  'req.headers.authorization',
  'req.headers.authtoken',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  '*.*.headers.authorization',
  '*.*.headers.authtoken',
  '*.*.headers.AUTHTOKEN',
  '*.*.headers["proxy-authorization"]',
  // PMP's password call answers {"operation":{"Details":{"PASSWORD":"…"}}}.
  'PASSWORD',
  '*.PASSWORD',
  '*.*.PASSWORD',
  '*.*.*.PASSWORD',
]);

export interface LoggerOptions {
  /** Lowest level written. Default "info". */
  level?: LogLevel;
  /** Where lines go (tests pass a capture stream). Default: stdout. */
  destination?: DestinationStream;
  /** Extra fields on every line (for example `{ gatewayId }`). Default none. */
  base?: Record<string, unknown>;
}

export interface StdoutLoggerOptions extends LoggerOptions {
  /**
   * Human-readable output through pino-pretty. Default: true when writing
   * to stdout and stdout is a TTY; false with a `destination`.
   */
  pretty?: boolean;
}

function pinoOptions(opts: LoggerOptions): PinoOptions<never, false> {
  return {
    level: opts.level ?? 'info',
    base: { service: 'credgw', pid: process.pid, hostname: hostname(), ...opts.base },
    timestamp: stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: CENSOR },
    formatters: {
      // "level":"info" reads better in journalctl than "level":30.
      level: (label: string) => ({ level: label }),
    },
  };
}

/** A JSON-lines logger, to `destination` or stdout. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  // pino's default stdout destination writes synchronously: no line is lost when the process dies.
  return opts.destination ? pino(pinoOptions(opts), opts.destination) : pino(pinoOptions(opts));
}

/**
 * The daemon's logger: {@link createLogger}, or human-readable lines when
 * `pretty` (by default: stdout is a terminal). pino-pretty is imported only
 * then, so the service under journald never loads it.
 */
export async function createStdoutLogger(opts: StdoutLoggerOptions = {}): Promise<Logger> {
  const pretty = opts.pretty ?? (opts.destination === undefined && process.stdout.isTTY === true);
  if (!pretty) return createLogger(opts);
  let build;
  try {
    build = (await import('pino-pretty')).default;
  } catch {
    // pino-pretty missing from a pruned install: JSON is still correct, only less pretty.
    return createLogger(opts);
  }
  // In this thread, not pino.transport's worker: the single-executable binary has no worker files on disk.
  const prettyStream = build({
    colorize: opts.destination === undefined,
    translateTime: 'SYS:standard',
    ignore: 'pid,hostname,service',
    destination: opts.destination ?? 1,
    sync: true,
  });
  // pino-pretty prints level labels itself from pino's numbers.
  const { formatters: _unused, ...prettyOptions } = pinoOptions(opts);
  return pino(prettyOptions, prettyStream);
}

export type { Logger };
