import type { Writable } from 'node:stream';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { serveUntilStopped, systemCode, writeSimCertificate } from './sim-support.js';
import { intOption } from './cli-options.js';
import { addLifecycleOptions, lifecycleOptions, readAccessAnswers, type LifecycleFlags } from './sim-pmp-lifecycle.js';
import {
  loadSimData,
  PMP_VARIANTS,
  PmpSimError,
  resolveBehaviour,
  SAMPLE_DATA,
  startPmpSimulator,
  type AccessControlOptions,
  type GenerateOptions,
  type PmpSimBehaviour,
  type PmpSimulator,
  type PmpVariant,
  type RotationOptions,
  type SyslogOptions,
} from '../sim/pmp/index.js';

/**
 * `credgw sim pmp`: runs the PMP simulator in the foreground until SIGINT
 * or SIGTERM. The command is named `pmp`; main.ts hangs it under `sim`.
 */

/** PMP's own default port. */
export const SIM_PMP_DEFAULT_PORT = 7272;

export interface SimPmpCliOptions {
  /** Default {@link SIM_PMP_DEFAULT_PORT}. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Data file (docs/pmp-simulator.md). Default: the built-in sample. */
  data?: string;
  /** Where to write the certificate PEM. Default: a fresh temporary directory, removed on close. */
  certOut?: string;
  /** Default 0. */
  latencyMs?: number;
  /** Default 'pmp-new'. */
  variant?: PmpVariant;
  /** Generated resources added to the data (docs/pmp-simulator.md "Generated data"). Default: none. */
  generate?: GenerateOptions;
  /** Switches for unconfirmed behaviour. Default: the simulator's defaults. */
  behaviour?: Partial<PmpSimBehaviour>;
  /** Access control (sim-pmp-lifecycle.ts). Default: the simulator's defaults. */
  accessControl?: AccessControlOptions;
  /** JSON file of replacement access-control answers. Default none. */
  accessAnswersFile?: string;
  /** Reset listener, syslog, operation names. Default: audit rows only. */
  rotation?: RotationOptions;
}

export interface RunningSimPmp {
  sim: PmpSimulator;
  /** Where the certificate PEM was written. */
  certFile: string;
  close(): Promise<void>;
}

/**
 * Starts the simulator and prints how to reach it: URL, certificate file,
 * SPKI pin and the API tokens. The tokens are the simulator's own sample
 * data (they open nothing else), which is why they may be printed.
 */
export async function runSimPmp(options: SimPmpCliOptions, out: Writable, logger?: Logger): Promise<RunningSimPmp> {
  const data = options.data === undefined ? SAMPLE_DATA : loadSimData(options.data);
  const answers = options.accessAnswersFile === undefined ? undefined : readAccessAnswers(options.accessAnswersFile);
  const sim = await startPmpSimulator({
    port: options.port ?? SIM_PMP_DEFAULT_PORT,
    host: options.host ?? '127.0.0.1',
    data,
    latencyMs: options.latencyMs ?? 0,
    variant: options.variant ?? 'pmp-new',
    logger: logger ?? pino({ level: 'warn' }, process.stderr),
    ...(options.generate ? { generate: options.generate } : {}),
    ...(options.behaviour ? { behaviour: options.behaviour } : {}),
    accessControl: { ...options.accessControl, ...(answers ? { answers } : {}) },
    rotation: options.rotation ?? {},
  });
  const written = await writeSimCertificate(sim.certPem, options.certOut, 'credgw-sim-pmp-', 'pmp-simulator.crt', () => sim.close());
  const certFile = written.path;

  const accounts = sim.data.resources.reduce((n, r) => n + r.accounts.length, 0);
  const lines = [
    `credgw PMP simulator (${sim.variant}) listening on ${sim.url}`,
    `  certificate : ${certFile}${written.temporary ? ' (temporary; --cert-out FILE to keep it)' : ''}`,
    `  SPKI pin    : ${sim.pin}`,
    `  data        : ${options.data ?? 'built-in sample'}${generated(options.generate)} (${sim.data.resources.length} resources, ${accounts} accounts)`,
    `  latency     : ${options.latencyMs ?? 0} ms`,
    '  API tokens (simulator sample data, not secrets of any real system):',
    ...sim.data.apiUsers.map((u) => {
      const who = [u.name, `hosts ${u.allowedHosts.join(', ')}`, u.orgName ? `orgName "${u.orgName}"` : ''].filter(Boolean);
      return `    ${u.token}  (${who.join('; ')})`;
    }),
    ...(sim.data.integrations.length === 0
      ? []
      : [
          '  integration tokens (APP_AUTHTOKEN with APP_NAME; simulator sample data too):',
          ...sim.data.integrations.map((g) => `    ${g.token}  (${g.name}; APP_NAME ${g.appName}; hosts ${g.allowedHosts.join(', ')})`),
        ]),
    `  admin       : ${sim.url}/__sim/stats, /__sim/faults, /__sim/latency (loopback only)`,
    `  lifecycle   : ${sim.url}/__sim/requests, /__sim/requests/approve, /__sim/requests/reject, /__sim/rotate, /__sim/audit (loopback only)`,
    ...lifecycleLines(options.rotation),
    `  try         : credgw vault add sim --url ${sim.url} --token env://PMP_SIM_TOKEN --ca-file ${certFile}`,
    'Stop with Ctrl-C.',
  ];
  out.write(lines.join('\n') + '\n');

  return { sim, certFile, close: written.closer(() => sim.close()) };
}

function generated(g: GenerateOptions | undefined): string {
  if (!g) return '';
  const bulk = g.bulkAccounts ? ` + one resource of ${g.bulkAccounts} accounts` : '';
  return ` + ${g.resources} generated resources${bulk} (seed ${g.seed ?? 1})`;
}

interface RawFlags {
  port: string;
  host: string;
  data?: string;
  certOut?: string;
  latencyMs: string;
  variant: string;
  generateResources?: string;
  generateAccounts?: string;
  accountsPerResource?: string;
  seed?: string;
  behaviour?: string;
}

/** --generate-* and --seed as GenerateOptions; undefined when nothing is to be generated. */
function generateFlags(raw: RawFlags): GenerateOptions | undefined {
  if (raw.generateResources === undefined && raw.generateAccounts === undefined) {
    if (raw.accountsPerResource !== undefined || raw.seed !== undefined) throw new Error('--accounts-per-resource and --seed need --generate-resources or --generate-accounts');
    return undefined;
  }
  return {
    resources: raw.generateResources === undefined ? 0 : intOption(raw.generateResources, '--generate-resources', 0, 200_000),
    ...(raw.generateAccounts === undefined ? {} : { bulkAccounts: intOption(raw.generateAccounts, '--generate-accounts', 0, 1_000_000) }),
    ...(raw.accountsPerResource === undefined ? {} : { accountsPerResource: intOption(raw.accountsPerResource, '--accounts-per-resource', 0, 50) }),
    ...(raw.seed === undefined ? {} : { seed: intOption(raw.seed, '--seed', 0, 0xffffffff) }),
  };
}

/** --behaviour '{"startIndexBase":1}' checked as the simulator checks it. */
function behaviourFlag(raw: string | undefined): Partial<PmpSimBehaviour> | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`--behaviour must be a JSON object (got "${raw}")`);
  }
  resolveBehaviour(parsed);
  return parsed as Partial<PmpSimBehaviour>;
}

/** Where the banner says a password change goes (no line when nowhere). */
function lifecycleLines(rotation: RotationOptions | undefined): string[] {
  const lines: string[] = [];
  if (rotation?.listener) lines.push(`  listener    : ${rotation.listener.command} (${rotation.listener.mode ?? 'post'}-reset)`);
  const collectors = rotation?.syslog === undefined ? [] : Array.isArray(rotation.syslog) ? rotation.syslog : [rotation.syslog as SyslogOptions];
  if (collectors.length > 0) lines.push(`  syslog      : ${collectors.map((c) => c.target).join(', ')}`);
  return lines;
}

export interface SimPmpCommandIo {
  /** Where the banner goes. Default process.stdout. */
  out?: Writable;
  /** Where a failure line goes. Default process.stderr. */
  err?: Writable;
  /** Resolves when the simulator should stop. Default: SIGINT or SIGTERM. */
  waitForStop?: () => Promise<void>;
  /** Records the exit status. Default: sets process.exitCode. */
  setExitCode?: (code: number) => void;
  /** The simulator's logger. Default: pino at warn level on stderr. */
  logger?: Logger;
}

export function simPmpCommand(io: SimPmpCommandIo = {}): Command {
  const cmd = new Command('pmp')
    .description('run a ManageEngine PMP/PAM360 REST API simulator (HTTPS, self-signed) for tests, benchmarks and demos')
    .option('--port <port>', 'TCP port (0 picks a free one)', String(SIM_PMP_DEFAULT_PORT))
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--data <file>', 'JSON data file (API users, resources, accounts); default: built-in sample')
    .option('--cert-out <file>', 'write the certificate PEM here (default: a temporary file)')
    .option('--latency-ms <ms>', 'delay before every answer', '0')
    .option('--variant <variant>', `answer shapes of: ${PMP_VARIANTS.join(', ')}`, 'pmp-new')
    .option('--generate-resources <n>', 'add n generated resources with DNS names (some shared on purpose)')
    .option('--generate-accounts <n>', 'add one generated resource with n accounts (paging)')
    .option('--accounts-per-resource <n>', 'accounts of each generated resource (default 2)')
    .option('--seed <n>', 'seed of the generated data (default 1)')
    .option('--behaviour <json>', 'switches for unconfirmed behaviour, e.g. \'{"startIndexBase":1}\'');
  addLifecycleOptions(cmd);
  cmd.action(async (raw: RawFlags & LifecycleFlags) => {
    const out = io.out ?? process.stdout;
    const errOut = io.err ?? process.stderr;
    const setExitCode = io.setExitCode ?? ((code: number) => void (process.exitCode = code));
    let options: SimPmpCliOptions;
    try {
      if (!(PMP_VARIANTS as readonly string[]).includes(raw.variant)) {
        throw new Error(`--variant must be one of ${PMP_VARIANTS.join(', ')} (got "${raw.variant}")`);
      }
      options = {
        port: intOption(raw.port, '--port', 0, 65535),
        host: raw.host,
        data: raw.data,
        certOut: raw.certOut,
        latencyMs: intOption(raw.latencyMs, '--latency-ms', 0, 600_000),
        variant: raw.variant as PmpVariant,
        ...lifecycleOptions(raw),
        accessAnswersFile: raw.accessAnswers,
      };
      const generate = generateFlags(raw);
      if (generate) options.generate = generate;
      const behaviour = behaviourFlag(raw.behaviour);
      if (behaviour) options.behaviour = behaviour;
    } catch (err) {
      return cmd.error(`error: ${(err as Error).message} (BAD_REQUEST)`, { exitCode: 2, code: 'credgw.usage' });
    }
    await serveUntilStopped(
      () => runSimPmp(options, out, io.logger),
      (err) => (err instanceof PmpSimError ? err.code : systemCode(err)),
      { errOut, setExitCode, waitForStop: io.waitForStop },
    );
  });
  return cmd;
}
