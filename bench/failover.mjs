#!/usr/bin/env node
// Benchmark (issue 3/4): failover of an active/standby pair under steady
// load through the reference controller's HTTP API. Two real `credgw run`
// processes of one cluster, the reference controller and the PMP simulator
// each in their own process. N cycles of: find the active, kill it
// (kill -9, then — second half — SIGTERM for a graceful handover), measure
// the time to the first successful result from the other gateway, restart
// the killed one, wait until it is back as standby, next cycle (so the kills
// alternate between the two gateways).
//
// Per cycle and as median/max: kill → first success from the other
// gateway; commands sent / ok / error / lost / answered twice; moments with
// two actives at one epoch.
//   - sent: HTTP submissions whose send time falls in the cycle's window
//     (from its kill to the next cycle's kill);
//   - ok / error: HTTP 200 with ok:true / anything else that was answered;
//   - lost: no HTTP answer at all (transport failure, or none within
//     --request-timeout, or still unanswered when the run ends);
//   - answered twice: ids with more than one final result — in the
//     controller's own log ("command final" lines) or as seen by the client;
//   - two actives at one epoch: controller snapshots polled every
//     --poll-ms with two gateways `active` at the same epoch, plus epochs
//     at which both gateways' audit trails show a served command.
// Targets: crash → first success ≤ 1 s (median); graceful ≤ 100 ms (median)
// with 0 failed commands; lost, answered twice, two actives: 0.

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchArgs, numberArg, runBench, secretFile, startSimProcess, stopChild, tempDir } from './lib/env.mjs';
import { daemonUnavailableReason, spawnGateway, writeGatewayConfig } from './lib/gateway-proc.mjs';
import { fmtMs, fmtNum, machineLine, median, printTable, printTargets, target, writeResults } from './lib/load.mjs';
import { controllerApi, controllerUnavailableReason, startControllerProcess } from './lib/ref-controller.mjs';

const NAME = 'failover';
const USAGE = `
node bench/failover.mjs [--cycles N] [--modes crash,graceful] [--rate R] [--settle S]
                        [--budget S] [--poll-ms MS] [--request-timeout S] [--json]

Kill / restart cycles of an active/standby credgw pair under steady load through
the reference controller's HTTP API.
  --cycles N            cycles per mode (default 20)
  --modes L             crash (kill -9), graceful (SIGTERM) or both (default crash,graceful)
  --rate R              commands per second through the HTTP API (default 100)
  --settle S            seconds to wait after the restarted gateway is back as standby (default 0.3)
  --budget S            stop starting new cycles after this many seconds (default 100)
  --poll-ms MS          cluster snapshot polling interval (default 25)
  --request-timeout S   an HTTP submission with no answer after this is lost (default 30)
  --json                also write bench/results/${NAME}.json
Needs the build ($CREDGW_DIST, default <repo>/dist) with \`credgw run\` and the reference controller.`;

const args = benchArgs(
  {
    cycles: { type: 'string', default: '20' },
    modes: { type: 'string', default: 'crash,graceful' },
    rate: { type: 'string', default: '100' },
    settle: { type: 'string', default: '0.3' },
    budget: { type: 'string', default: '100' },
    'poll-ms': { type: 'string', default: '25' },
    'request-timeout': { type: 'string', default: '30' },
  },
  USAGE,
);
const cycles = numberArg(args, 'cycles', { min: 1, integer: true });
const modes = args.modes.split(',').map((s) => s.trim());
if (modes.some((m) => m !== 'crash' && m !== 'graceful')) {
  process.stderr.write('--modes lists crash and/or graceful\n');
  process.exit(2);
}
const rate = numberArg(args, 'rate', { min: 1 });
const settleMs = numberArg(args, 'settle') * 1000;
const budgetMs = numberArg(args, 'budget', { min: 1 }) * 1000;
const pollMs = numberArg(args, 'poll-ms', { min: 1 });
const requestTimeoutMs = numberArg(args, 'request-timeout', { min: 1 }) * 1000;

const CLUSTER = 'bench-ha';
const GATEWAYS = ['bench-gw-1', 'bench-gw-2'];
const COMMAND_TIMEOUT_MS = 10_000;
const FIRST_SUCCESS_WAIT_MS = 15_000;
const REJOIN_WAIT_MS = 15_000;
const PARAMS = Object.freeze({
  vault: 'pmp',
  resource: { id: 'bench-resource', customAttributes: { 'PMP Resource ID': '301' } },
  accountId: '902',
  ticketId: 'BENCH-1',
  requestedBy: 'bench@credgw.invalid',
});

const log = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Steady load at `rate`/s until stopped; every submission is recorded. */
function startLoad(api) {
  const commands = [];
  const okWaiters = [];
  let seq = 0;
  let stopped = false;
  const t0 = performance.now();
  const submit = () => {
    const c = { id: `fo-${++seq}`, sentAt: performance.now(), doneAt: null, status: null, ok: false, gatewayId: null, code: null, attempts: null, lost: false };
    commands.push(c);
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), requestTimeoutMs).unref());
    Promise.race([api.command(CLUSTER, { id: c.id, name: 'getPassword', params: PARAMS, timeoutMs: COMMAND_TIMEOUT_MS }), timeout]).then(
      (r) => {
        c.doneAt = performance.now();
        c.status = r.status;
        c.ok = r.status === 200 && r.body?.ok === true;
        c.gatewayId = r.body?.gatewayId ?? null;
        c.attempts = r.body?.attempts ?? null;
        c.code = c.ok ? null : (r.body?.error?.code ?? `HTTP ${r.status}`);
        c.answerId = r.body?.id;
        if (c.ok) for (const w of okWaiters.splice(0)) w(c);
      },
      () => {
        c.doneAt = performance.now();
        c.lost = true;
      },
    );
  };
  const interval = 1000 / rate;
  const tick = () => {
    if (stopped) return;
    const t = performance.now();
    while (t0 + seq * interval <= t) submit();
    setTimeout(tick, Math.max(0, t0 + seq * interval - performance.now()));
  };
  tick();
  return {
    commands,
    /** Resolves with the first ok answer received after `after` that satisfies `pred`. */
    firstOk(after, pred, timeoutMs) {
      const seen = commands.find((c) => c.ok && c.doneAt >= after && pred(c));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), timeoutMs);
        const wait = (c) => {
          if (c.doneAt >= after && pred(c)) {
            clearTimeout(timer);
            resolve(c);
          } else okWaiters.push(wait);
        };
        okWaiters.push(wait);
      });
    },
    stop() {
      stopped = true;
    },
    outstanding: () => commands.filter((c) => c.doneAt === null).length,
  };
}

/** Polls the cluster snapshot; counts moments with two actives at one epoch. */
function startPoller(api) {
  const state = { polls: 0, failures: 0, twoActiveMoments: 0, examples: [], last: null };
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        const r = await api.cluster(CLUSTER);
        state.polls++;
        if (r.status === 200) {
          state.last = r.body;
          const byEpoch = new Map();
          for (const g of r.body.gateways ?? []) {
            if (g.role === 'active') byEpoch.set(g.epoch, (byEpoch.get(g.epoch) ?? 0) + 1);
          }
          if ([...byEpoch.values()].some((n) => n > 1)) {
            state.twoActiveMoments++;
            if (state.examples.length < 3) state.examples.push(r.body);
          }
        }
      } catch {
        state.failures++;
      }
      await sleep(pollMs);
    }
  };
  const done = loop();
  return {
    state,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

function readJsonLines(file) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by kill -9 is not evidence of anything
    }
  }
  return out;
}

async function main() {
  log(machineLine());
  const reason = daemonUnavailableReason() ?? controllerUnavailableReason();
  if (reason) {
    log(`${NAME}: SKIPPED: ${reason}`);
    const targets = [
      target('crash → first success (median)', null, '<=', 1000, ' ms'),
      target('graceful → first success (median)', null, '<=', 100, ' ms'),
    ];
    printTargets(targets);
    if (args.json) writeResults(NAME, { skipped: reason, targets });
    return;
  }

  const dir = tempDir();
  const sim = await startSimProcess(dir);
  const simTokenRef = secretFile(dir, 'pmp.token', sim.token);
  const controllerToken = `bench-${performance.now().toString(36).replace('.', '')}-token`;
  const controllerTokenRef = secretFile(dir, 'controller.token', controllerToken);
  const controllerLog = join(dir, 'controller.log');
  const ctl = await startControllerProcess({ token: controllerToken, logFile: controllerLog });
  const api = controllerApi(ctl.httpUrl, { connections: 128, requestTimeoutMs: requestTimeoutMs + 1000 });
  const gw = {};
  for (const id of GATEWAYS) {
    gw[id] = writeGatewayConfig(dir, {
      gatewayId: id,
      clusterId: CLUSTER,
      priority: 100,
      controllerUrl: ctl.wsUrl,
      controllerTokenRef,
      vault: { url: sim.url, tokenRef: simTokenRef, caFile: sim.caFile },
      logLevel: 'info',
    });
    gw[id].logFile = join(dir, `${id}.log`);
    gw[id].proc = spawnGateway(gw[id].configDir, { logFile: gw[id].logFile });
  }
  log(`controller pid ${ctl.pid}, simulator pid ${sim.pid}, gateways ${GATEWAYS.map((id) => `${id} pid ${gw[id].proc.pid}`).join(', ')}`);

  const snapshot = async () => {
    const r = await api.cluster(CLUSTER);
    return r.status === 200 ? r.body : null;
  };
  /** Waits until both gateways are connected and one is active. */
  const waitForPair = async (timeoutMs) => {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const s = await snapshot();
      const ids = new Set((s?.gateways ?? []).map((g) => g.gatewayId));
      if (s?.activeGatewayId && GATEWAYS.every((id) => ids.has(id))) return s;
      for (const id of GATEWAYS) {
        const p = gw[id].proc;
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${id} exited: ${p.tail().trim()}`);
      }
      if (performance.now() > end) throw new Error(`the pair did not form within ${timeoutMs} ms: ${JSON.stringify(s)}`);
      await sleep(20);
    }
  };
  await waitForPair(REJOIN_WAIT_MS);
  const countsBefore = (await snapshot())?.counts ?? null;

  const load = startLoad(api);
  const poller = startPoller(api);
  const started = performance.now();
  await sleep(1000); // steady state before the first kill

  const plan = modes.flatMap((mode) => Array.from({ length: cycles }, (_, i) => ({ mode, n: i + 1 })));
  const done = [];
  let stoppedEarly = null;
  for (const { mode, n } of plan) {
    if (performance.now() - started > budgetMs) {
      stoppedEarly = `time budget of ${budgetMs / 1000} s reached after ${done.length} of ${plan.length} cycles`;
      break;
    }
    const before = await waitForPair(REJOIN_WAIT_MS);
    const victim = before.activeGatewayId;
    const other = GATEWAYS.find((id) => id !== victim);
    const proc = gw[victim].proc;
    const killAt = performance.now();
    proc.kill(mode === 'crash' ? 'SIGKILL' : 'SIGTERM');
    const first = await load.firstOk(killAt, (c) => c.gatewayId === other, FIRST_SUCCESS_WAIT_MS);
    const exit = await Promise.race([proc.exited, sleep(15_000).then(() => null)]);
    const exitedAfterMs = performance.now() - killAt;
    if (!exit) await stopChild(proc, 0);
    const cycle = {
      mode,
      n,
      victim,
      other,
      epochBefore: before.epoch,
      killAt,
      firstSuccessMs: first ? first.doneAt - killAt : null,
      exit: exit ? { code: exit.code, signal: exit.signal, afterMs: exitedAfterMs } : { code: null, signal: 'SIGKILL (did not stop within 15 s)' },
    };
    done.push(cycle);
    // Back as a standby before the next cycle.
    gw[victim].proc = spawnGateway(gw[victim].configDir, { logFile: gw[victim].logFile });
    await waitForPair(REJOIN_WAIT_MS);
    await sleep(settleMs);
    log(
      `  ${mode.padEnd(8)} #${String(n).padStart(2)}: killed ${victim} → first success from ${other} after ${fmtMs(cycle.firstSuccessMs)}` +
        ` (exit ${cycle.exit.code ?? cycle.exit.signal} after ${fmtNum(exitedAfterMs, 0)} ms)`,
    );
  }
  await sleep(500);
  load.stop();
  // Let every submission get its final answer (a command's deadline plus the controller's grace).
  const drainEnd = performance.now() + COMMAND_TIMEOUT_MS + 5000;
  while (load.outstanding() > 0 && performance.now() < drainEnd) await sleep(50);
  await poller.stop();
  const countsAfter = (await snapshot())?.counts ?? null;
  for (const c of load.commands) if (c.doneAt === null) c.lost = true;

  // Stop the gateways gracefully so their audit trails are flushed.
  for (const id of GATEWAYS) await stopChild(gw[id].proc, 5000);
  await api.close();
  await ctl.close();
  await sim.close();

  // ---- evidence ------------------------------------------------------------------
  const finals = new Map();
  for (const line of readJsonLines(controllerLog)) {
    if (line.msg === 'command final' && typeof line.id === 'string') finals.set(line.id, (finals.get(line.id) ?? 0) + 1);
  }
  const answers = new Map();
  for (const c of load.commands) if (c.status !== null) answers.set(c.answerId ?? c.id, (answers.get(c.answerId ?? c.id) ?? 0) + 1);
  const twice = new Set([...finals].filter(([, n]) => n > 1).map(([id]) => id));
  for (const [id, n] of answers) if (n > 1) twice.add(id);

  // Audit trails: which gateways served (outcome ok) at which epoch; and ids served more than once.
  const servedAt = new Map();
  const servedIds = new Map();
  for (const id of GATEWAYS) {
    for (const a of readJsonLines(gw[id].auditFile)) {
      if (a.event !== 'getPassword' || a.outcome !== 'ok') continue;
      if (!servedAt.has(a.epoch)) servedAt.set(a.epoch, new Set());
      servedAt.get(a.epoch).add(a.gatewayId ?? id);
      servedIds.set(a.commandId, (servedIds.get(a.commandId) ?? 0) + 1);
    }
  }
  const epochsServedByTwo = [...servedAt].filter(([, s]) => s.size > 1).map(([e]) => e);
  const vaultDoubleFetches = [...servedIds.values()].filter((n) => n > 1).length;

  // Attribute each submission to the cycle whose window holds its send time.
  const windowOf = (t) => {
    let idx = -1;
    for (let i = 0; i < done.length; i++) if (done[i].killAt <= t) idx = i;
    return idx;
  };
  const per = done.map(() => ({ sent: 0, ok: 0, error: 0, lost: 0, twice: 0, codes: {} }));
  const warm = { sent: 0, ok: 0, error: 0, lost: 0, twice: 0, codes: {} };
  for (const c of load.commands) {
    const w = windowOf(c.sentAt);
    const b = w === -1 ? warm : per[w];
    b.sent++;
    if (c.lost) b.lost++;
    else if (c.ok) b.ok++;
    else {
      b.error++;
      b.codes[c.code] = (b.codes[c.code] ?? 0) + 1;
    }
    if (twice.has(c.id)) b.twice++;
  }
  done.forEach((c, i) => Object.assign(c, per[i]));

  printTable(
    'per cycle (commands counted by send time, from this kill to the next)',
    ['cycle', 'killed', 'first success', 'exit', 'sent', 'ok', 'error', 'lost', 'twice'],
    done.map((c) => [
      `${c.mode} #${c.n}`,
      c.victim,
      fmtMs(c.firstSuccessMs),
      `${c.exit.code ?? c.exit.signal}`,
      String(c.sent),
      String(c.ok),
      c.error ? `${c.error} ${JSON.stringify(c.codes)}` : '0',
      String(c.lost),
      String(c.twice),
    ]),
  );
  const summary = {};
  for (const mode of modes) {
    const cs = done.filter((c) => c.mode === mode);
    if (cs.length === 0) continue;
    const times = cs.map((c) => c.firstSuccessMs);
    const sum = (k) => cs.reduce((n, c) => n + c[k], 0);
    summary[mode] = {
      cycles: cs.length,
      firstSuccessMedianMs: times.includes(null) ? null : median(times),
      firstSuccessMaxMs: times.includes(null) ? null : Math.max(...times),
      noSuccessCycles: times.filter((t) => t === null).length,
      sent: sum('sent'),
      ok: sum('ok'),
      error: sum('error'),
      lost: sum('lost'),
      twice: sum('twice'),
      nonZeroExits: cs.filter((c) => mode === 'graceful' && c.exit.code !== 0).length,
    };
  }
  printTable(
    'summary',
    ['mode', 'cycles', 'first success median', 'max', 'sent', 'ok', 'error', 'lost', 'twice'],
    Object.entries(summary).map(([m, s]) => [
      m,
      String(s.cycles),
      fmtMs(s.firstSuccessMedianMs),
      fmtMs(s.firstSuccessMaxMs),
      String(s.sent),
      String(s.ok),
      String(s.error),
      String(s.lost),
      String(s.twice),
    ]),
  );
  const twoActives = poller.state.twoActiveMoments + epochsServedByTwo.length;
  const totalLost = load.commands.filter((c) => c.lost).length;
  log(
    `\nbefore the first kill: ${warm.sent} sent, ${warm.ok} ok, ${warm.error} error, ${warm.lost} lost` +
      `\ntwo actives at one epoch: ${poller.state.twoActiveMoments} in ${poller.state.polls} controller snapshots, ` +
      `${epochsServedByTwo.length} epoch(s) served by both gateways (audit trails)` +
      `\nanswered twice: ${twice.size} (controller "command final" lines: ${finals.size} ids)` +
      `\ninformational: ${vaultDoubleFetches} command(s) fetched from the vault by both gateways (a kill -9 between fetch and result);` +
      ` controller counts ${JSON.stringify(diffCounts(countsBefore, countsAfter))}`,
  );
  if (stoppedEarly) log(`NOTE: ${stoppedEarly} — raise --budget or lower --cycles for a full run`);

  const targets = [];
  if (summary.crash) {
    targets.push(target('crash → first success (median)', summary.crash.firstSuccessMedianMs, '<=', 1000, ' ms'));
  }
  if (summary.graceful) {
    targets.push(target('graceful → first success (median)', summary.graceful.firstSuccessMedianMs, '<=', 100, ' ms'));
    targets.push(target('graceful: failed commands (error + lost)', summary.graceful.error + summary.graceful.lost, '==', 0));
    targets.push(target('graceful: exits with status ≠ 0', summary.graceful.nonZeroExits, '==', 0));
  }
  targets.push(target('commands lost', totalLost, '==', 0));
  targets.push(target('commands answered twice', twice.size, '==', 0));
  targets.push(target('moments with two actives at one epoch', twoActives, '==', 0));
  targets.push(target('cycles completed', done.length, '==', plan.length));
  printTargets(targets);

  if (args.json) {
    const file = writeResults(NAME, {
      settings: { cycles, modes, rate, settleMs, budgetMs, pollMs, requestTimeoutMs },
      cycles: done.map(({ killAt, ...c }) => c),
      summary,
      beforeFirstKill: warm,
      twoActives: { snapshots: poller.state.twoActiveMoments, polls: poller.state.polls, epochsServedByTwo, examples: poller.state.examples },
      answeredTwice: [...twice],
      vaultDoubleFetches,
      controllerCounts: diffCounts(countsBefore, countsAfter),
      stoppedEarly,
      targets,
    });
    log(`\nresults: ${file}`);
  }
}

function diffCounts(before, after) {
  if (!after) return null;
  const out = {};
  for (const [k, v] of Object.entries(after)) if (typeof v === 'number') out[k] = v - (before?.[k] ?? 0);
  return out;
}

await runBench(NAME, main);
