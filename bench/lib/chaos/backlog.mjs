// Chaos scenario "backlog": `commands` getPassword commands sent in one
// burst (one write, as a controller re-sends a backlog after a failover) to
// a gateway whose vault holds every call `vaultLatencyMs`. The admission
// queue must absorb the burst: no OVERLOADED while the queue has room, every
// command answered, and the time until the last answer is measured.

import { performance } from 'node:perf_hooks';
import { secretFile, startSimProcess } from '../env.mjs';
import { startBenchCloud } from '../cloud.mjs';
import { SIM_RESOURCE } from './frames.mjs';
import { count, startWatchedGateway } from './watched-gateway.mjs';

/**
 * @param {{ dir: string, commands?: number, maxInFlight?: number, vaultLatencyMs?: number,
 *           timeoutMs?: number, log?: (line: string) => void }} o
 *   `maxInFlight` undefined: the gateway's own default (writeGatewayConfig writes 256).
 */
export async function runBacklog(o) {
  const log = o.log ?? (() => undefined);
  const n = o.commands ?? 400;
  const timeoutMs = o.timeoutMs ?? 60_000;
  const sim = await startSimProcess(o.dir, { latencyMs: 0 });
  const token = `chaos-backlog-${process.pid}-token`;
  const cloud = await startBenchCloud({ token, heartbeatMs: 1000, role: 'active', epoch: 1 });
  const gw = await startWatchedGateway(
    o.dir,
    {
      gatewayId: 'chaos-backlog',
      clusterId: 'chaos',
      controllerUrl: cloud.url,
      controllerTokenRef: secretFile(o.dir, 'backlog-controller.token', token),
      vault: { url: sim.url, tokenRef: secretFile(o.dir, 'backlog-pmp.token', sim.token), caFile: sim.caFile },
      ...(o.maxInFlight !== undefined ? { maxInFlight: o.maxInFlight } : {}),
      logLevel: 'warn',
    },
    { waitReady: (p) => cloud.waitForHello(15_000, p.startedAt) },
  );
  const params = { vault: 'pmp', resource: SIM_RESOURCE, accountId: '902', ticketId: 'CHAOS-B', reason: 'backlog' };
  // One command first, at full speed: the resource's account list is cached, so the burst holds only password calls.
  await cloud.send('getPassword', params, 10_000);
  await sim.setLatency(o.vaultLatencyMs ?? 1000);

  const f = { commands: n, maxInFlight: o.maxInFlight ?? 256, vaultLatencyMs: o.vaultLatencyMs ?? 1000, ok: 0, overloaded: 0, codes: {}, unanswered: 0, drainMs: null };
  const t0 = performance.now();
  let lastAnswer = t0;
  const giveUpMs = timeoutMs + 10_000;
  const outcomes = await Promise.all(
    Array.from({ length: n }, () => {
      const answer = cloud.send('getPassword', params, timeoutMs).then(
        () => 'ok',
        (err) => err.code ?? 'NO_RESULT',
      );
      const giveUp = new Promise((resolve) => setTimeout(() => resolve('NO_RESULT'), giveUpMs).unref());
      return Promise.race([answer, giveUp]).then((code) => {
        if (code !== 'NO_RESULT') lastAnswer = performance.now();
        return code;
      });
    }),
  );
  for (const code of outcomes) {
    count(f.codes, code);
    if (code === 'ok') f.ok++;
    else if (code === 'OVERLOADED') f.overloaded++;
    else if (code === 'NO_RESULT') f.unanswered++;
  }
  f.drainMs = lastAnswer - t0;
  log(`  backlog: ${n} commands, ${f.ok} ok, ${f.overloaded} OVERLOADED, ${f.unanswered} unanswered, drained in ${Math.round(f.drainMs)} ms`);
  await sim.setLatency(0);
  const g = await gw.figures();
  await gw.stop();
  await cloud.close();
  await sim.close();
  return { ...f, crashes: g.crashes, exits: g.exits, rssPeakMiB: g.rssPeakMiB, loopDelayMaxMs: g.loopDelayMaxMs };
}
