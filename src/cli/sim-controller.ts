import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { describeSecretRef, readSecret, SecretError } from '../config/index.js';
import { DEFAULT_HEARTBEAT_MS } from '../protocol/index.js';
import { EpochStoreError, EventJournalError, type ReferenceController, startReferenceController } from '../sim/controller/index.js';
import { createLogger } from '../telemetry/index.js';
import { makeSelfSignedCertificate } from '../tls/index.js';
import { serveUntilStopped, systemCode, writeSimCertificate } from './sim-support.js';
import { intOption } from './cli-options.js';

/**
 * `credgw sim controller`: runs the reference controller (the cloud side
 * of the protocol, docs/reference-controller.md) in the foreground until
 * SIGINT or SIGTERM. The command is named `controller`; program.ts hangs it
 * under `sim`.
 */

export const SIM_CONTROLLER_DEFAULT_PORT = 8443;

export interface SimControllerCliOptions {
  /** Default {@link SIM_CONTROLLER_DEFAULT_PORT}. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Secret references (file:///…, env://NAME, credential://NAME) of accepted gateway tokens. At least one. */
  tokenRefs: string[];
  /** Secret references of HTTP API bearer tokens. Default none: the API is open. */
  apiTokenRefs?: string[];
  /** Serve wss/https with a fresh self-signed certificate (true) or plain ws/http (false). Default true. */
  tls?: boolean;
  /** Default 1000. */
  heartbeatMs?: number;
  /** Epoch state file (kept across restarts, with the events beside it). Default null: in memory. */
  stateFile?: string | null;
  /** Where to write the certificate PEM. Default: a fresh temporary directory, removed on close. */
  certOut?: string;
  /** Environment for env:// and credential:// references. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningSimController {
  controller: ReferenceController;
  /** Where the certificate PEM was written (with TLS). */
  certFile: string | undefined;
  close(): Promise<void>;
}

async function readAll(refs: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const out: string[] = [];
  for (const ref of refs) out.push(await readSecret(ref, env));
  return out;
}

/**
 * Reads the tokens, starts the controller and prints how to reach it. The
 * private key stays in memory; tokens are never printed, only their
 * references.
 */
export async function runSimController(options: SimControllerCliOptions, out: Writable, logger?: Logger): Promise<RunningSimController> {
  if (options.tokenRefs.length === 0) throw new TypeError('at least one gateway token reference is required');
  const env = options.env ?? process.env;
  const tokens = await readAll(options.tokenRefs, env);
  const apiTokens = await readAll(options.apiTokenRefs ?? [], env);
  const host = options.host ?? '127.0.0.1';
  const useTls = options.tls ?? true;
  // The listen address goes into the certificate too, unless it is a wildcard or already there.
  const altNames = ['localhost', '127.0.0.1', '::1', ...(NOT_A_NAME.has(host) ? [] : [host])];
  const cert = useTls ? await makeSelfSignedCertificate({ commonName: 'credgw reference controller', altNames }) : null;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const controller = await startReferenceController({
    port: options.port ?? SIM_CONTROLLER_DEFAULT_PORT,
    host,
    tokens,
    apiTokens: apiTokens.length > 0 ? apiTokens : null,
    tls: cert ? { certPem: cert.certPem, keyPem: cert.keyPem } : null,
    heartbeatMs,
    stateFile: options.stateFile ?? null,
    logger: logger ?? createLogger({ level: 'info', destination: process.stderr }),
  });
  const written = cert
    ? await writeSimCertificate(cert.certPem, options.certOut, 'credgw-sim-controller-', 'controller.crt', () => controller.close())
    : null;
  const certFile = written?.path;
  const curlTls = certFile ? `--cacert ${certFile} ` : '';
  const eventsUrl = `${controller.httpUrl}/api/v1/clusters/{clusterId}/events`;
  const lines = [
    `credgw reference controller listening (${cert ? 'TLS' : 'INSECURE: plain ws/http, loopback development only'})`,
    `  gateway URL : ${controller.wsUrl}`,
    `  HTTP API    : ${controller.httpUrl}/api/v1/clusters`,
    ...(cert
      ? [
          `  certificate : ${certFile}${written?.temporary ? ' (temporary; --cert-out FILE to keep it)' : ''}`,
          `  SPKI pin    : ${controller.pin}`,
        ]
      : []),
    `  heartbeat   : ${heartbeatMs} ms`,
    `  events      : ${eventsUrl}?after=SEQ`,
    `  event stream: ${eventsUrl}/stream (Server-Sent Events, Last-Event-ID resumes)`,
    `  epochs      : ${options.stateFile ? `kept in ${resolve(options.stateFile)}` : 'in memory (--state-file FILE keeps them across restarts)'}`,
    `  events kept : ${controller.eventsFile ? `in ${resolve(controller.eventsFile)}` : 'in memory (--state-file FILE keeps them across restarts)'}`,
    `  tokens      : ${options.tokenRefs.map(describeSecretRef).join(', ')} (values never printed)`,
    `  API access  : ${apiTokens.length > 0 ? 'bearer token required' : 'open (no --api-token)'}`,
    `  try         : curl ${curlTls}${controller.httpUrl}/api/v1/clusters`,
    'Stop with Ctrl-C.',
  ];
  out.write(lines.join('\n') + '\n');

  let closed: Promise<void> | undefined;
  return {
    controller,
    certFile,
    close: written ? written.closer(() => controller.close()) : () => (closed ??= controller.close()),
  };
}

const NOT_A_NAME = new Set(['0.0.0.0', '::', 'localhost', '127.0.0.1', '::1']);

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export interface SimControllerCommandIo {
  /** Where the banner goes. Default process.stdout. */
  out?: Writable;
  /** Where a failure line and the logs go. Default process.stderr. */
  err?: Writable;
  /** Environment for env:// and credential:// token references. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Resolves when the controller should stop. Default: SIGINT or SIGTERM. */
  waitForStop?: () => Promise<void>;
  /** Records the exit status. Default: sets process.exitCode. */
  setExitCode?: (code: number) => void;
  /** The controller's logger. Default: JSON lines (redacted) on `err`, level from --log-level. */
  logger?: Logger;
}

interface RawOptions {
  port: string;
  host: string;
  token?: string[];
  apiToken?: string[];
  tls?: boolean;
  insecure?: boolean;
  heartbeatMs: string;
  stateFile?: string;
  certOut?: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function simControllerCommand(io: SimControllerCommandIo = {}): Command {
  const cmd = new Command('controller')
    .description('run the reference cloud controller (gateway WebSocket + HTTP API) for tests, benchmarks and demos')
    .option('--port <port>', 'TCP port (0 picks a free one)', String(SIM_CONTROLLER_DEFAULT_PORT))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--token <ref>', 'accepted gateway token: file:///path, env://NAME or credential://NAME (repeatable)', collect)
    .option('--api-token <ref>', 'require this bearer token on the HTTP API (repeatable; default: API open)', collect)
    .option('--tls', 'serve wss/https with a fresh self-signed certificate (the default)')
    .option('--insecure', 'serve plain ws/http (loopback development only)')
    .option('--heartbeat-ms <ms>', 'heartbeat announced to gateways', String(DEFAULT_HEARTBEAT_MS))
    .option('--state-file <file>', 'keep the last epoch per cluster in this JSON file, and the events in FILE.events, across restarts')
    .option('--cert-out <file>', 'write the certificate PEM here (default: a temporary file)')
    .option('--log-level <level>', `log level on stderr: ${LOG_LEVELS.join(', ')}`, 'info');
  cmd.action(async (raw: RawOptions) => {
    const out = io.out ?? process.stdout;
    const errOut = io.err ?? process.stderr;
    const setExitCode = io.setExitCode ?? ((code: number) => void (process.exitCode = code));
    let options: SimControllerCliOptions;
    let level: (typeof LOG_LEVELS)[number];
    try {
      if (raw.tls && raw.insecure) throw new Error('--tls and --insecure exclude each other');
      if (!raw.token || raw.token.length === 0) throw new Error('--token REF is required (file:///path, env://NAME or credential://NAME)');
      if (!(LOG_LEVELS as readonly string[]).includes(raw.logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
      level = raw.logLevel as (typeof LOG_LEVELS)[number];
      options = {
        port: intOption(raw.port, '--port', 0, 65535),
        host: raw.host,
        tokenRefs: raw.token,
        apiTokenRefs: raw.apiToken ?? [],
        tls: raw.insecure !== true,
        heartbeatMs: intOption(raw.heartbeatMs, '--heartbeat-ms', 50, 600_000),
        stateFile: raw.stateFile ?? null,
        env: io.env ?? process.env,
        ...(raw.certOut === undefined ? {} : { certOut: raw.certOut }),
      };
      if (!options.tls && raw.certOut !== undefined) throw new Error('--cert-out needs TLS (drop --insecure)');
    } catch (err) {
      return cmd.error(`error: ${(err as Error).message} (BAD_REQUEST)`, { exitCode: 2, code: 'credgw.usage' });
    }
    const logger = io.logger ?? createLogger({ level, destination: errOut });
    await serveUntilStopped(
      () => runSimController(options, out, logger),
      (err) => (err instanceof SecretError || err instanceof EpochStoreError || err instanceof EventJournalError ? err.code : systemCode(err)),
      { errOut, setExitCode, waitForStop: io.waitForStop },
    );
  });
  return cmd;
}
