import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DestinationStream } from 'pino';
import { openConfigStore } from '../../src/config/store.js';
import type { Gateway, GatewayDeps } from '../../src/daemon/gateway.js';
import { startDaemon, type Daemon } from '../../src/daemon/run.js';
import type { CommandOutcome, ReferenceController } from '../../src/sim/controller/index.js';
import { writeConfigDir } from '../../src/sim/gateway-process.js';
import { SAMPLE_DATA, SAMPLE_TOKEN, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { testPki, type TestPki } from './pki.js';
import type { RawConnection, RawController } from './raw-controller.js';
import { waitFor } from './wait-for.js';

export { waitFor } from './wait-for.js';

/**
 * Shared set-up of the gateway integration suites: temporary config
 * directories with secret files, raw configs pointing at the simulators,
 * an in-process daemon (startDaemon, as `credgw run` builds it) whose pino
 * output is captured, started until it is active behind a reference or a
 * raw controller, and the secret check every suite ends with. A
 * spawned `credgw run` is gateway-process.ts; a gated simulator is
 * gated-simulator.ts.
 */

/** The gateways' bearer token to the controllers. Must never show in a log. */
export const CONTROLLER_TOKEN = 'ctl-tok-7c2e91f04b3d-SECRET';
/** An API key PMP does not know (ACCESS_DENIED). Must never show in a log either. */
export const WRONG_PMP_TOKEN = 'pmp-wrong-key-5a1f0c77-SECRET';
/** The built-in sample's passwords: none may reach a log line or the audit trail. */
export const SAMPLE_PASSWORDS: string[] = SAMPLE_DATA.resources.flatMap((r) => r.accounts.map((a) => a.password));
/** Secrets the suites look for in every captured line. */
export const KNOWN_SECRETS: string[] = [CONTROLLER_TOKEN, WRONG_PMP_TOKEN, SAMPLE_TOKEN, ...SAMPLE_PASSWORDS];

/** A resource as the cloud sends it, mapped to PMP resource `ref` (ID or name). */
export function resource(ref: string, attribute = 'PMP Resource ID'): { id: string; customAttributes: Record<string, string> } {
  return { id: `cloud-${ref}`, customAttributes: { [attribute]: ref } };
}

// ---- workspace ------------------------------------------------------------------

export interface Workspace {
  readonly dir: string;
  readonly pki: TestPki;
  /** `<pki>/ca.crt`: trusts the simulators and controllers started with pki.server. */
  readonly caFile: string;
  /** pki.server as simulators and controllers take it: the identity caFile trusts. */
  readonly tls: { certPem: string; keyPem: string };
  /** Writes `name` (mode 0600) and returns its path. */
  file(name: string, content: string): string;
  /** Writes a secret file and returns its `file://` reference. */
  secret(name: string, value: string): string;
  /** Writes `<dir>/<sub>/config.json` and returns the config directory. */
  writeConfig(raw: unknown, sub?: string): string;
  cleanup(): void;
}

export function makeWorkspace(prefix: string): Workspace {
  const pki = testPki();
  const dir = mkdtempSync(join(tmpdir(), `credgw-${prefix}-`));
  const file = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  return {
    dir,
    pki,
    caFile: join(pki.dir, 'ca.crt'),
    tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
    file,
    secret: (name, value) => `file://${file(name, value)}`,
    writeConfig: (raw, sub = 'etc') => writeConfigDir(join(dir, sub), raw),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// ---- configs --------------------------------------------------------------------

export interface VaultOverrides {
  [key: string]: unknown;
}

/** A raw vault profile for `sim`, trusting it through the test CA. */
export function simVault(ws: Workspace, name: string, sim: Pick<PmpSimulator, 'url'>, overrides: VaultOverrides = {}): Record<string, unknown> {
  return {
    name,
    url: sim.url,
    token: ws.secret(`pmp-${name}.token`, SAMPLE_TOKEN),
    caFile: ws.caFile,
    ...overrides,
  };
}

export interface GatewayRawOptions {
  gatewayId: string;
  clusterId: string;
  controllerUrl: string;
  /** Defaults to CONTROLLER_TOKEN in a secret file. */
  controllerToken?: string;
  controller?: Record<string, unknown>;
  vaults: Record<string, unknown>[];
  policy?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  logLevel?: string;
  /** telemetry.listen (for /metrics, /readyz); default null, no listener. */
  telemetryListen?: string;
}

/** A raw config.json for a gateway of the suite (no telemetry listener unless asked; audit to a file in the workspace). */
export function gatewayConfig(ws: Workspace, o: GatewayRawOptions): Record<string, unknown> {
  return {
    gatewayId: o.gatewayId,
    clusterId: o.clusterId,
    controller: {
      url: o.controllerUrl,
      token: ws.secret(`${o.gatewayId}-controller.token`, o.controllerToken ?? CONTROLLER_TOKEN),
      caFile: ws.caFile,
      ...o.controller,
    },
    vaults: o.vaults,
    ...(o.policy ? { policy: o.policy } : {}),
    ...(o.limits ? { limits: o.limits } : {}),
    telemetry: { listen: o.telemetryListen ?? null, logLevel: o.logLevel ?? 'debug', audit: join(ws.dir, `${o.gatewayId}-audit.log`) },
  };
}

/** The audit file gatewayConfig() points `o.gatewayId` at ('' while it does not exist). */
export function auditText(ws: Workspace, gatewayId: string): string {
  const path = join(ws.dir, `${gatewayId}-audit.log`);
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

// ---- in-process daemon ----------------------------------------------------------

/** A pino destination that keeps every line. */
export class LogCapture implements DestinationStream {
  readonly lines: string[] = [];
  write(msg: string): void {
    this.lines.push(msg);
  }
  text(): string {
    return this.lines.join('');
  }
  /** Parsed lines with `msg` equal to `message`. */
  find(message: string): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === message);
  }
}

export interface InProcessGateway {
  readonly daemon: Daemon;
  readonly gateway: Gateway;
  readonly logs: LogCapture;
  readonly configDir: string;
  stop(): Promise<void>;
}

/**
 * Writes `raw` to a config directory and starts it with startDaemon exactly
 * as `credgw run` does (store, compile, Gateway), without process signal
 * handlers, logging through the product's redacting logger into a capture.
 * Reconnects use a small jitter (random 0.01) so a restarted controller is
 * found at once. `env` is the daemon's environment (NOTIFY_SOCKET…); empty by default.
 */
export async function startInProcess(
  ws: Workspace,
  raw: Record<string, unknown>,
  deps: Partial<GatewayDeps> = {},
  env: NodeJS.ProcessEnv = {},
): Promise<InProcessGateway> {
  const configDir = ws.writeConfig(raw, `etc-${String(raw['gatewayId'])}`);
  const store = openConfigStore(configDir);
  const config = store.load();
  const logs = new LogCapture();
  const logger = createLogger({ level: config.telemetry.logLevel, destination: logs });
  const daemon = await startDaemon({
    config,
    store,
    logger,
    env,
    handleSignals: false,
    exit: (code) => {
      throw new Error(`the daemon tried to exit with ${code}`);
    },
    gatewayDeps: { random: () => 0.01, ...deps },
  });
  return { daemon, gateway: daemon.gateway, logs, configDir, stop: () => daemon.stop('test done') };
}

/** startInProcess, returned once the reference controller `ctl` and the gateway agree it is active (waitActive). */
export async function startActive(
  ws: Workspace,
  ctl: ReferenceController,
  raw: Record<string, unknown>,
  deps: Partial<GatewayDeps> = {},
): Promise<InProcessGateway> {
  const gw = await startInProcess(ws, raw, deps);
  await waitActive(ctl, String(raw['clusterId']), String(raw['gatewayId']), gw);
  return gw;
}

/** startInProcess behind a raw controller that grants the active role: the gateway and its connection, once active. */
export async function startActiveBehindRaw(
  ws: Workspace,
  controller: RawController,
  raw: Record<string, unknown>,
): Promise<{ gw: InProcessGateway; conn: RawConnection }> {
  const gw = await startInProcess(ws, raw);
  const conn = await controller.current();
  await waitFor(() => gw.gateway.roles.snapshot.state === 'active', `${String(raw['gatewayId'])} active`);
  return { gw, conn };
}

// ---- waiting --------------------------------------------------------------------

/**
 * Resolves once the reference controller shows `gatewayId` active in
 * `clusterId` and, for an in-process gateway, once the gateway itself has
 * taken the grant (the controller marks a gateway active before its welcome
 * has been read).
 */
export function waitActive(ctl: ReferenceController, clusterId: string, gatewayId: string, gw?: InProcessGateway): Promise<boolean> {
  return waitFor(() => {
    if (ctl.cluster(clusterId)?.activeGatewayId !== gatewayId) return false;
    if (!gw) return true;
    const link = gw.gateway.link;
    return link?.state === 'up' && link.current !== null && gw.gateway.roles.snapshot.state === 'active';
  }, `${gatewayId} active in ${clusterId}`);
}

/** A command through the reference controller; returns the gateway's result body (fails on a controller error). */
export async function submit(
  ctl: ReferenceController,
  clusterId: string,
  name: string,
  params: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<{ ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string; retryable: boolean }; id: string; epoch: number }> {
  const outcome: CommandOutcome = await ctl.submit(clusterId, { name, params, timeoutMs });
  if (outcome.status !== 200) throw new Error(`controller answered ${outcome.status}: ${JSON.stringify(outcome.body)}`);
  return outcome.body as never;
}

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

// ---- secrets --------------------------------------------------------------------

/** Fails naming the secret (not the line) when any of `secrets` occurs in `text`. */
export function expectNoSecrets(where: string, text: string, secrets: readonly string[] = KNOWN_SECRETS): void {
  const leaked = secrets.filter((s) => s.length > 0 && text.includes(s));
  if (leaked.length > 0) throw new Error(`${where} contains ${leaked.length} secret(s): ${leaked.map((s) => `${s.slice(0, 4)}…`).join(', ')}`);
}
