// Chaos scenario "reload-race": an active/standby pair at the reference
// controller, `workers` clients sending getPassword back to back through
// its HTTP API, while the active gets SIGHUP every `intervalMs`, `reloads`
// times, with its config unchanged and with a changed vault profile
// (the vault's timeoutMs) in turn. A reload must fail no command (the
// simulator causes no failure here, so every non-ok result counts) and
// must not move the role (a reload that reports the vault unhealthy for a
// moment hands the role to the healthy standby): the controller's cluster
// snapshot is polled for changes of the active or its epoch.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { secretFile, startSimProcess } from '../env.mjs';
import { controllerApi, startControllerProcess } from '../ref-controller.mjs';
import { SIM_RESOURCE } from './frames.mjs';
import { count, startWatchedGateway, until } from './watched-gateway.mjs';

const CLUSTER = 'chaos-reload';
const POLL_MS = 20;

/**
 * @param {{ dir: string, reloads?: number, workers?: number, intervalMs?: number, simLatencyMs?: number,
 *           log?: (line: string) => void }} o
 */
export async function runReloadRace(o) {
  const log = o.log ?? (() => undefined);
  const reloads = o.reloads ?? 50;
  const workers = o.workers ?? 16;
  const intervalMs = o.intervalMs ?? 100;
  const sim = await startSimProcess(o.dir, { latencyMs: o.simLatencyMs ?? 20 });
  const token = `chaos-reload-${process.pid}-token`;
  const ctl = await startControllerProcess({ token });
  const api = controllerApi(ctl.httpUrl, { connections: workers + 4, requestTimeoutMs: 30_000 });
  const snapshot = async () => (await api.cluster(CLUSTER)).body;
  const base = {
    clusterId: CLUSTER,
    controllerUrl: ctl.wsUrl,
    controllerTokenRef: secretFile(o.dir, 'reload-controller.token', token),
    vault: { url: sim.url, tokenRef: secretFile(o.dir, 'reload-pmp.token', sim.token), caFile: sim.caFile },
    logLevel: 'warn',
  };
  const activeIs = (id) => async () => (await snapshot().catch(() => ({}))).activeGatewayId === id;
  const active = await startWatchedGateway(o.dir, { ...base, gatewayId: 'chaos-reload-a', priority: 200 }, {
    waitReady: () => until(activeIs('chaos-reload-a'), 15_000),
  });
  const standby = await startWatchedGateway(o.dir, { ...base, gatewayId: 'chaos-reload-b', priority: 100 }, {
    waitReady: () => until(async () => (await snapshot().catch(() => ({}))).gateways?.length === 2, 15_000),
  });

  const f = { reloads: 0, workers, commands: 0, ok: 0, failed: 0, codes: {}, firstFailure: null, roleMoves: 0, moves: [], healthFlaps: 0 };
  // The role and health as the controller sees them, polled while the reloads run.
  const first = await snapshot();
  let last = { active: first.activeGatewayId, epoch: first.epoch };
  let healthy = first.gateways?.find((g) => g.gatewayId === 'chaos-reload-a')?.healthy;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const s = await snapshot().catch(() => null);
      if (s) {
        if (s.activeGatewayId !== last.active || s.epoch !== last.epoch) {
          f.roleMoves++;
          f.moves.push({ from: last, to: { active: s.activeGatewayId, epoch: s.epoch }, reload: f.reloads });
          last = { active: s.activeGatewayId, epoch: s.epoch };
        }
        const h = s.gateways?.find((g) => g.gatewayId === 'chaos-reload-a')?.healthy;
        if (h !== undefined && h !== healthy) {
          f.healthFlaps++;
          healthy = h;
        }
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();

  let loading = true;
  const params = { vault: 'pmp', resource: SIM_RESOURCE, accountId: '902', ticketId: 'CHAOS-R', reason: 'reload race' };
  const worker = async () => {
    while (loading) {
      f.commands++;
      try {
        const r = await api.command(CLUSTER, { name: 'getPassword', params, timeoutMs: 10_000 });
        if (r.status === 200 && r.body?.ok === true) {
          f.ok++;
          continue;
        }
        f.failed++;
        const code = r.body?.error?.code ?? `HTTP ${r.status}`;
        count(f.codes, code);
        f.firstFailure ??= { code, message: r.body?.error?.message, reload: f.reloads };
      } catch (err) {
        f.failed++;
        count(f.codes, 'transport');
        f.firstFailure ??= { code: 'transport', message: String(err?.message ?? err), reload: f.reloads };
      }
    }
  };
  const load = Promise.all(Array.from({ length: workers }, worker));

  // Unchanged config and a changed vault profile in turn; the file is replaced whole (rename), as an editor or `credgw config set` would.
  const configFile = join(active.configDir, 'config.json');
  const original = readFileSync(configFile, 'utf8');
  const changed = JSON.parse(original);
  changed.vaults[0].timeoutMs = changed.vaults[0].timeoutMs === 9000 ? 10_000 : 9000;
  const texts = [original, JSON.stringify(changed, null, 2) + '\n'];
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  for (let i = 0; i < reloads && active.alive; i++) {
    const tmp = `${configFile}.tmp`;
    writeFileSync(tmp, texts[i % 2 === 0 ? 0 : 1], { mode: 0o600 });
    renameSync(tmp, configFile);
    process.kill(active.proc.pid, 'SIGHUP');
    f.reloads++;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  f.reloadSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  loading = false;
  await load;
  polling = false;
  await poller;
  f.failuresPerReload = f.reloads > 0 ? f.failed / f.reloads : null;
  log(`  reload-race: ${f.reloads} reloads, ${f.commands} commands, ${f.failed} failed, ${f.roleMoves} role moves`);
  const ga = await active.figures();
  const gb = await standby.figures();
  await api.close();
  await active.stop();
  await standby.stop();
  await ctl.close();
  await sim.close();
  return { ...f, crashes: ga.crashes + gb.crashes, exits: [...ga.exits, ...gb.exits], rssPeakMiB: ga.rssPeakMiB, loopDelayMaxMs: ga.loopDelayMaxMs };
}
