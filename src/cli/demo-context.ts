import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { GetPasswordData } from '../protocol/index.js';
import { sleep, type Clock } from '../shared/index.js';
import type { ClusterSnapshot, CommandResultBody, GatewaySnapshot } from '../sim/controller/index.js';
import type { ApiAnswer, ApiCommand, ControllerApi, SimAdmin } from './demo-api.js';
import { maskSecret } from './demo-output.js';
import { DemoFailure, type StepRunner } from './demo-step-runner.js';
import type { ManagedProcess } from './demo-supervisor.js';

/**
 * What the demo's step groups (demo-start.ts, demo-console-launch.ts,
 * demo-lifecycle.ts, demo-failover.ts) share: the scenario's names and bounds, what start-up
 * hands to the later steps, and the run they are steps of (DemoRun in
 * demo-steps.ts).
 */

export const DEMO_CLUSTER = 'demo-site';
export const DEMO_VAULT = 'pmp-demo';
/** The custom attribute the cloud resource carries (the vault profile's default resourceIdAttribute). */
export const DEMO_ATTRIBUTE = 'PMP Resource ID';
/** The simulator's sample resource, given by name so the gateway resolves it. */
export const DEMO_RESOURCE_NAME = 'Windows_Jump_Box';
/** Sample accounts of that resource: a plain one and one that needs a ticket ID. */
export const DEMO_ACCOUNT_PLAIN = { id: '902', name: 'administrator' } as const;
export const DEMO_ACCOUNT_TICKET = { id: '903', name: 'svc_backup' } as const;
export const DEMO_TICKET_ID = 'INC-1042';
/** A sample resource the cloud knows only by its host name (the simulator's DNS NAME of Linux_Web_01, 302), and its plain account. */
export const DEMO_HOST_NAME = 'web01.corp.example';
export const DEMO_HOST_ACCOUNT = { id: '912', name: 'deploy' } as const;
/** The rotation: that same account of Linux_Web_01, by the names PAM360's listener and audit line carry. */
export const DEMO_ROTATED = { resourceId: '302', resourceName: 'Linux_Web_01', accountId: '912', accountName: 'deploy' } as const;
/** The sample account behind access control (exclusive check-out), and who approves its request in the simulator. */
export const DEMO_ACCOUNT_APPROVAL = { id: '905', name: 'breakglass' } as const;
export const DEMO_APPROVER = 'approver@example.com';
/** The longest a step may take before the demo gives up. */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
/** The controller's own deadline for each demo command. */
export const COMMAND_TIMEOUT_MS = 10_000;
/** How often readiness and takeover are polled through the controller's API. */
const POLL_MS = 25;

export interface GatewaySpec {
  id: string;
  priority: number;
}
/** gw-a is preferred (higher priority) and started first, so it is the active. */
export const GATEWAYS: readonly GatewaySpec[] = [
  { id: 'gw-a', priority: 200 },
  { id: 'gw-b', priority: 100 },
];

export interface DemoOptions {
  /** The built CLI entry point (dist/cli/main.js) the children run. */
  cliEntry: string;
  /** Keep everything running at the end until `stop` aborts. Default false. */
  keep?: boolean;
  /** Print passwords in full. Default false: masked. */
  reveal?: boolean;
  /** Default {@link DEFAULT_STEP_TIMEOUT_MS}. */
  stepTimeoutMs?: number;
  /** One line to the user. */
  out: (line: string) => void;
  /** One line of failure detail. */
  err: (line: string) => void;
  clock: Clock;
  /** The environment the children start from (proxy settings and CREDGW_CONFIG_DIR removed). */
  env: NodeJS.ProcessEnv;
  /** Aborted by Ctrl-C/SIGTERM (reason {@link DemoInterrupted}); with --keep it ends the keep phase. */
  stop: AbortSignal;
}

export interface GatewayNoticePorts {
  listener: number;
  syslog: number;
}

/** The demo's rotation notices (demo-notices.ts sets them up). */
export interface DemoNotices {
  /** file:// reference of the notices token: one for both gateways, as the script sends one. */
  tokenRef: string;
  ports: ReadonlyMap<string, GatewayNoticePorts>;
  /** The copy the simulator runs and where it came from; null when the script is not used. */
  script: { path: string; from: string } | null;
  /** Why the script is not used (null when it is). */
  scriptWhyNot: string | null;
}

/** What start-up hands to the later steps. */
export interface Started {
  dir: string;
  simUrl: string;
  simCert: string;
  ctlWsUrl: string;
  ctlHttpUrl: string;
  ctlCert: string;
  api: ControllerApi;
  /** The simulator's loopback admin calls. */
  sim: SimAdmin;
  /** Each gateway's notice listener and syslog ports, the token, the reset-listener script (or why not). */
  notices: DemoNotices;
  procs: Map<string, ManagedProcess>;
  /** file:// references of each gateway's controller token. */
  tokens: Map<string, string>;
}

/** The run, as its steps use it. */
export interface DemoContext {
  readonly opts: DemoOptions;
  readonly runner: StepRunner;
  readonly stepTimeoutMs: number;
  /** Aborted when a child ends on its own: anything waiting fails at once. */
  readonly crashed: AbortSignal;
  /** Every child started so far. */
  readonly processes: readonly ManagedProcess[];
  /** Starts `node <cli> …args` as `name`, logging to `<dir>/logs/<name>.log`. */
  spawn(procs: Map<string, ManagedProcess>, name: string, args: string[]): ManagedProcess;
  /** An HTTP client of the demo (the controller's API, the simulator's admin calls): closed at clean-up. */
  useClient(client: { close(): Promise<void> }): void;
  /** Children that end from now on are reported, not failures (--keep). */
  keeping(): void;
}

/** Writes a secret file (0600) and returns its file:// reference. */
export function writeSecret(path: string, value: string): string {
  writeFileSync(path, value, { mode: 0o600 });
  return pathToFileURL(path).href;
}

/** A password as the demo prints it: masked unless --reveal. */
export function shown(opts: DemoOptions, password: string): string {
  return opts.reveal ? password : maskSecret(password);
}

/** Polls the cluster through the API until `until` returns a value. */
export async function pollCluster<T>(
  api: ControllerApi,
  clock: Clock,
  signal: AbortSignal,
  until: (c: ClusterSnapshot | null) => T | undefined,
): Promise<T> {
  for (;;) {
    const c = await api.cluster(DEMO_CLUSTER, signal);
    const v = until(c);
    if (v !== undefined) return v;
    await sleep(clock, POLL_MS, signal);
  }
}

/** A command that must succeed. */
export async function command(api: ControllerApi, cmd: ApiCommand, signal: AbortSignal): Promise<CommandResultBody & { ok: true }> {
  const answer = await api.submit(DEMO_CLUSTER, cmd, COMMAND_TIMEOUT_MS, signal);
  if (answer.kind !== 'result') throw apiFailure(answer);
  if (!answer.body.ok) {
    throw new DemoFailure(answer.body.error.code, `${cmd.name} failed: ${answer.body.error.message} (from ${answer.body.gatewayId})`);
  }
  return answer.body as CommandResultBody & { ok: true };
}

export function describeRole(g: GatewaySnapshot): string {
  return `${g.role} at epoch ${g.epoch}`;
}

export function passwordOf(body: CommandResultBody): string {
  const pw = body.ok ? (body.data as Partial<GetPasswordData>).password : undefined;
  if (typeof pw !== 'string') throw new DemoFailure('DEMO_UNEXPECTED_RESULT', 'the answer carries no password');
  return pw;
}

export function apiFailure(answer: ApiAnswer): DemoFailure {
  const e = (answer.body as { error?: { code?: string; message?: string } }).error;
  return new DemoFailure(e?.code ?? 'CONTROLLER_API_ERROR', `the controller answered HTTP ${answer.status}: ${e?.message ?? 'no error body'}`);
}
