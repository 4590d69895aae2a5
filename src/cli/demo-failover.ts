import { sleep, withSignal } from '../shared/index.js';
import type { GetPasswordParams } from '../protocol/index.js';
import type { ClusterSnapshot, CommandResultBody } from '../sim/controller/index.js';
import type { ApiAnswer } from './demo-api.js';
import {
  DEMO_ACCOUNT_PLAIN,
  DEMO_ATTRIBUTE,
  DEMO_CLUSTER,
  DEMO_RESOURCE_NAME,
  DEMO_TICKET_ID,
  DEMO_VAULT,
  GATEWAYS,
  describeRole,
  passwordOf,
  pollCluster,
  shown,
  type DemoContext,
  type Started,
} from './demo-context.js';
import { formatMs } from './demo-output.js';
import { startGateway } from './demo-start.js';
import { DemoFailure } from './demo-step-runner.js';
import { describeExit, type ManagedProcess } from './demo-supervisor.js';

/**
 * The demo's failover: kill -9 the active, then measure from that moment
 * until the standby is promoted and until it serves the first password
 * (getPassword sent in a loop); with --keep, restart the killed gateway
 * (it rejoins as standby) and leave everything running for exploring.
 */

/** Pause after a failed request of the takeover loop, so a refusing controller is not hammered. */
const RETRY_PAUSE_MS = 20;
/** Each request of the takeover loop: short, so a lost one is followed by the next soon. */
const TAKEOVER_COMMAND_TIMEOUT_MS = 5_000;

interface KillTarget {
  /** The active gateway's process. */
  victim: ManagedProcess;
  /** The standby expected to take over. */
  standbyId: string;
  /** The epoch before the kill: the takeover is a grant above it. */
  oldEpoch: number;
  /** The password the standby must serve (as the active did). */
  password: string;
}

interface Takeover {
  killedAt: number;
  killedWallAt: number;
  promotion: Promise<ClusterSnapshot>;
  firstServed: Promise<{ answer: CommandResultBody; requests: number; at: number }>;
  stopBackground: AbortController;
}

export async function failover(ctx: DemoContext, s: Started, password: string): Promise<void> {
  const { runner, opts } = ctx;
  let takeover: Takeover | undefined;
  try {
    const { before, standby } = await runner.step('kill -9 the active', async (signal) => {
      const before = await s.api.cluster(DEMO_CLUSTER, signal);
      const activeId = before?.activeGatewayId;
      const victim = activeId ? s.procs.get(activeId) : undefined;
      const standby = before?.gateways.find((g) => g.gatewayId !== activeId && g.role === 'standby');
      if (!before || !victim?.running || !standby) throw new DemoFailure('DEMO_NOT_READY', 'the cluster has no active and standby pair to fail over');
      const t = kill(ctx, s, { victim, standbyId: standby.gatewayId, oldEpoch: before.epoch, password });
      takeover = t;
      const exit = await withSignal(victim.exited, signal);
      return {
        value: { before, standby },
        summary: `${victim.name} (pid ${victim.pid}) ${describeExit(exit)} at epoch ${before.epoch}; getPassword sent in a loop from now on`,
        ms: opts.clock.monotonic() - t.killedAt,
      };
    });
    const t = takeover!;
    await runner.step('standby promoted', async (signal) => {
      const c = await withSignal(t.promotion, signal);
      const at = c.lastChange ? Date.parse(c.lastChange.at) : NaN;
      const ms = Number.isFinite(at) ? Math.max(0, at - t.killedWallAt) : opts.clock.monotonic() - t.killedAt;
      return {
        value: undefined,
        summary: `${standby.gatewayId} active at epoch ${c.epoch} (was ${before.epoch}); controller: "${c.lastChange?.reason ?? 'promoted'}" · time after the kill`,
        ms,
      };
    });
    await runner.step('standby serves', async (signal) => {
      const first = await withSignal(t.firstServed, signal);
      const pw = passwordOf(first.answer);
      if (pw !== password) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `${standby.gatewayId} returned a different password for ${DEMO_ACCOUNT_PLAIN.name}`);
      const sent = first.answer.attempts > 1 ? `, re-sent by the controller ${first.answer.attempts - 1}×` : '';
      return {
        value: undefined,
        summary: `getPassword ${DEMO_ACCOUNT_PLAIN.name} → ${shown(opts, pw)} by ${first.answer.gatewayId} at epoch ${first.answer.epoch} (${first.requests} request${first.requests === 1 ? '' : 's'}${sent}) · time from the kill`,
        ms: first.at - t.killedAt,
      };
    });
  } finally {
    takeover?.stopBackground.abort();
  }
}

/**
 * SIGKILL the active, then at once start polling the cluster and sending
 * getPassword in a loop: the figures are measured from this moment.
 */
function kill(ctx: DemoContext, s: Started, target: KillTarget): Takeover {
  const { opts } = ctx;
  const { victim, standbyId, oldEpoch, password } = target;
  const stopBackground = new AbortController();
  const timeout = opts.clock.setTimeout(
    () => stopBackground.abort(new DemoFailure('STEP_TIMEOUT', `${standbyId} did not take over within ${formatMs(ctx.stepTimeoutMs)}`)),
    ctx.stepTimeoutMs,
  );
  const signal = AbortSignal.any([stopBackground.signal, opts.stop, ctx.crashed]);
  signal.addEventListener('abort', () => opts.clock.clearTimeout(timeout), { once: true });
  const killedWallAt = opts.clock.now();
  const killedAt = opts.clock.monotonic();
  victim.kill('SIGKILL');
  const promotion = pollCluster(s.api, opts.clock, signal, (c) => (c && c.activeGatewayId === standbyId && c.epoch > oldEpoch ? c : undefined));
  const firstServed = (async () => {
    const params: GetPasswordParams = {
      vault: DEMO_VAULT,
      resource: { customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } },
      accountId: DEMO_ACCOUNT_PLAIN.id,
      ticketId: DEMO_TICKET_ID,
      reason: 'Remote console launch during failover (credgw demo)',
      requestedBy: 'demo.user@example.com',
    };
    for (let requests = 1; ; requests++) {
      let answer: ApiAnswer | null = null;
      try {
        answer = await s.api.submit(DEMO_CLUSTER, { name: 'getPassword', params }, TAKEOVER_COMMAND_TIMEOUT_MS, signal);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        void err; // A request lost in the turmoil: the next one follows.
      }
      if (answer?.kind === 'result' && answer.body.ok && answer.body.gatewayId === standbyId && passwordOf(answer.body) === password) {
        return { answer: answer.body, requests, at: opts.clock.monotonic() };
      }
      await sleep(opts.clock, RETRY_PAUSE_MS, signal);
    }
  })();
  // Awaited only by later steps; until then a rejection (abort) must not count as unhandled.
  promotion.catch(() => undefined);
  firstServed.catch(() => undefined);
  return { killedAt, killedWallAt, promotion, firstServed, stopBackground };
}

export async function keep(ctx: DemoContext, s: Started): Promise<void> {
  const { runner, opts } = ctx;
  const killed = GATEWAYS.map((g) => g.id).find((id) => !s.procs.get(id)?.running);
  if (killed) {
    const spec = GATEWAYS.find((g) => g.id === killed)!;
    await runner.step(`${killed} restarted`, async (signal) => {
      const p = startGateway(ctx, s, spec);
      const snap = await pollCluster(s.api, opts.clock, signal, (c) => {
        const gw = c?.gateways.find((x) => x.gatewayId === killed);
        return gw && gw.role === 'standby' && gw.healthy ? gw : undefined;
      });
      return { value: undefined, summary: `rejoined as ${describeRole(snap)} despite its higher priority (no move back) · pid ${p.pid}` };
    });
  }
  const { out } = opts;
  const cacert = `--cacert ${s.ctlCert}`;
  const commands = `${s.ctlHttpUrl}/api/v1/clusters/${DEMO_CLUSTER}/commands`;
  const resource = JSON.stringify({ customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } });
  out('');
  out('Everything keeps running (--keep). Try, from another terminal:');
  out(`  curl ${cacert} -sS ${s.ctlHttpUrl}/api/v1/clusters/${DEMO_CLUSTER}`);
  out(`  curl ${cacert} -sS ${commands} -H 'content-type: application/json' \\`);
  out(`    -d '{"name":"listAccounts","params":{"vault":"${DEMO_VAULT}","resource":${resource}}}'`);
  out(`  curl ${cacert} -sS ${commands} -H 'content-type: application/json' \\`);
  out(`    -d '{"name":"getPassword","params":{"vault":"${DEMO_VAULT}","resource":${resource},"accountId":"${DEMO_ACCOUNT_PLAIN.id}","ticketId":"${DEMO_TICKET_ID}"}}'`);
  out(`  curl ${cacert} -sSN ${s.ctlHttpUrl}/api/v1/clusters/${DEMO_CLUSTER}/events/stream    # rotations as they happen; then, elsewhere:`);
  out(`  curl --cacert ${s.simCert} -sS ${s.simUrl}/__sim/rotate -d '{"resourceName":"Linux_Web_01","accountName":"deploy"}'`);
  for (const p of ctx.processes) if (p.running) out(`  ${p.name.padEnd(10)} pid ${p.pid}  log ${p.logFile}`);
  out('  kill -9 the active gateway\'s pid to see another failover (the demo does not restart it).');
  out(`Press Ctrl-C to stop everything and remove ${s.dir}.`);
  ctx.keeping();
  await new Promise<void>((resolve) => {
    if (opts.stop.aborted) resolve();
    else opts.stop.addEventListener('abort', () => resolve(), { once: true });
  });
}
