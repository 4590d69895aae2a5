import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../config/index.js';
import { runArgs, writeConfigDir } from '../sim/index.js';
import { SAMPLE_TOKEN } from '../sim/pmp/index.js';
import { ControllerApi, SimAdmin } from './demo-api.js';
import {
  DEMO_ATTRIBUTE,
  DEMO_CLUSTER,
  DEMO_VAULT,
  GATEWAYS,
  describeRole,
  pollCluster,
  writeSecret,
  type DemoContext,
  type GatewaySpec,
  type Started,
} from './demo-context.js';
import { gatewayNotices, prepareNotices, simNoticeArgs } from './demo-notices.js';
import { DemoFailure } from './demo-step-runner.js';
import type { ManagedProcess } from './demo-supervisor.js';

/**
 * The demo's first steps: the PMP simulator (running the reset listener
 * and sending syslog to both gateways on a password change), the
 * reference controller (TLS, a token per gateway, a state file) and the
 * two gateways (rotation notices on), each a real process started from
 * embedded defaults.
 */

/** The gateways' own drain bound (limits.drainTimeoutMs), below the clean-up's SIGTERM → SIGKILL grace. */
const GATEWAY_DRAIN_MS = 2_000;

export async function startAll(ctx: DemoContext, dir: string): Promise<Started> {
  const { runner } = ctx;
  const procs = new Map<string, ManagedProcess>();
  const simCert = join(dir, 'pmp-simulator.crt');
  const notices = await prepareNotices(dir, ctx.opts.cliEntry, ctx.opts.env);
  const simUrl = await runner.step('PMP simulator', async (signal) => {
    const p = ctx.spawn(procs, 'pmp-sim', ['sim', 'pmp', '--port', '0', '--cert-out', simCert, ...simNoticeArgs(notices)]);
    const url = (await p.waitForLine(/listening on (https:\/\/\S+)/, signal))[1]!;
    await p.waitForLine(/^Stop with Ctrl-C/, signal);
    const onChange = notices.script ? 'reset listener and syslog to both gateways' : 'syslog to both gateways';
    return { value: url, summary: `${url}, built-in sample data, on a password change: ${onChange} · pid ${p.pid}` };
  });
  const sim = new SimAdmin(simUrl, readFileSync(simCert, 'utf8'));
  ctx.useClient(sim);

  const ctlCert = join(dir, 'controller.crt');
  const gatewayTokens = new Map(GATEWAYS.map((g) => [g.id, writeSecret(join(dir, `${g.id}-controller.token`), randomBytes(24).toString('base64url'))]));
  const ctl = await runner.step('reference controller', async (signal) => {
    const p = ctx.spawn(procs, 'controller', [
      'sim',
      'controller',
      '--port',
      '0',
      '--tls',
      ...[...gatewayTokens.values()].flatMap((ref) => ['--token', ref]),
      '--state-file',
      join(dir, 'controller-state.json'),
      '--cert-out',
      ctlCert,
    ]);
    const wsUrl = (await p.waitForLine(/gateway URL\s*:\s*(wss:\/\/\S+)/, signal))[1]!;
    const apiUrl = (await p.waitForLine(/HTTP API\s*:\s*(https:\/\/\S+?)\/api\/v1\/clusters/, signal))[1]!;
    await p.waitForLine(/^Stop with Ctrl-C/, signal);
    return { value: { wsUrl, httpUrl: apiUrl }, summary: `${wsUrl} (TLS, own certificate) · pid ${p.pid}` };
  });
  const api = new ControllerApi(ctl.httpUrl, readFileSync(ctlCert, 'utf8'));
  ctx.useClient(api);
  const started: Started = { dir, simUrl, simCert, ctlWsUrl: ctl.wsUrl, ctlHttpUrl: ctl.httpUrl, ctlCert, api, sim, notices, procs, tokens: gatewayTokens };

  // One after the other: the first gateway of a cluster is made active, and
  // a better one that joins later stays standby (no flapping), so starting
  // gw-a first makes the roles of the story certain.
  for (const g of GATEWAYS) {
    const wanted = g === GATEWAYS[0] ? 'active' : 'standby';
    await runner.step(`gateway ${g.id}`, async (signal) => {
      const p = startGateway(ctx, started, g);
      const snap = await pollCluster(api, ctx.opts.clock, signal, (c) => {
        const gw = c?.gateways.find((x) => x.gatewayId === g.id);
        return gw && gw.role === wanted && gw.healthy ? gw : undefined;
      });
      return { value: snap, summary: `${describeRole(snap)}, priority ${g.priority}, vault ${DEMO_VAULT} healthy · pid ${p.pid}` };
    });
  }
  return started;
}

/** Writes gateway `g`'s config directory and starts `credgw --config-dir DIR run`. */
export function startGateway(ctx: DemoContext, s: Started, g: GatewaySpec): ManagedProcess {
  const configDir = join(s.dir, g.id);
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const pmpToken = writeSecret(join(configDir, 'pmp.token'), SAMPLE_TOKEN);
  const raw = {
    gatewayId: g.id,
    clusterId: DEMO_CLUSTER,
    priority: g.priority,
    controller: { url: s.ctlWsUrl, token: s.tokens.get(g.id)!, caFile: s.ctlCert },
    vaults: [
      {
        name: DEMO_VAULT,
        url: s.simUrl,
        token: pmpToken,
        resourceIdAttribute: DEMO_ATTRIBUTE,
        // The attribute first; a resource that carries none is found by host name (protocol section 9).
        resourceMatch: ['attribute', 'hostName'],
        includeAccountNotes: true,
        caFile: s.simCert,
        rotationNotices: true,
      },
    ],
    limits: { drainTimeoutMs: GATEWAY_DRAIN_MS },
    // No health endpoint: two gateways on one host would want the same port.
    telemetry: { listen: null, logLevel: 'info', audit: 'stdout' },
    // The outbox and the listener's made certificate (its pin is what the script checks), kept across a --keep restart.
    stateDir: join(s.dir, `${g.id}-state`),
    notices: gatewayNotices(s.notices, g.id),
  };
  const problems = validateConfig(raw);
  if (problems.length > 0) throw new DemoFailure('DEMO_CONFIG_INVALID', `the demo's config for ${g.id} is invalid: ${problems.join('; ')}`);
  writeConfigDir(configDir, raw);
  return ctx.spawn(s.procs, g.id, runArgs(configDir));
}
