#!/usr/bin/env node
// Benchmark (issue 1/5 "Nothing lost, nothing stalled"): the chaos
// scenarios of lib/chaos against real `credgw run` processes, each a
// summary line with its figures and targets:
//   fuzz           a seeded stream of valid, mutated and hostile frames;
//   hostile-vault  a PMP that misbehaves in every way a body can;
//   reload-race    SIGHUP every 100 ms under load, an active/standby pair;
//   backlog        a burst larger than maxInFlight against a slow vault.
// The same scenarios run at a small scale in test/integration/chaos.test.ts.

import { randomInt } from 'node:crypto';
import { benchArgs, numberArg, runBench, tempDir } from './lib/env.mjs';
import { daemonUnavailableReason } from './lib/gateway-proc.mjs';
import { fmtMs, fmtNum, machineLine, printTable, printTargets, target, writeResults } from './lib/load.mjs';
import { controllerUnavailableReason } from './lib/ref-controller.mjs';
import { HOSTILE_CASES, runBacklog, runFuzz, runHostileVault, runReloadRace } from './lib/chaos/index.mjs';

const NAME = 'chaos';
const SCENARIOS = ['fuzz', 'hostile-vault', 'reload-race', 'backlog'];
const USAGE = `
node bench/chaos.mjs [--scenarios L] [--frames N] [--seed S] [--body-mib M] [--reloads K]
                     [--workers W] [--backlog N] [--json]

Chaos scenarios against real \`credgw run\` processes (loopback only).
  --scenarios L   which to run (default ${SCENARIOS.join(',')})
  --frames N      fuzz: frames to send (default 100000)
  --seed S        fuzz: PRNG seed (default: random, printed)
  --fuzz-budget S fuzz: stop sending after S seconds (default 40)
  --body-mib M    hostile-vault: size of the huge body (default 100)
  --reloads K     reload-race: SIGHUPs, 100 ms apart (default 50)
  --workers W     reload-race: clients sending back to back (default 16)
  --backlog N     backlog: commands in one burst (default 400)
  --json          also write bench/results/${NAME}.json
Hostile-vault cases: ${HOSTILE_CASES.map((c) => c.name).join(', ')}.
Needs the build ($CREDGW_DIST, default <repo>/dist) with \`credgw run\` and the reference controller.`;

const args = benchArgs(
  {
    scenarios: { type: 'string', default: SCENARIOS.join(',') },
    frames: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(randomInt(1, 2 ** 31)) },
    'fuzz-budget': { type: 'string', default: '40' },
    'body-mib': { type: 'string', default: '100' },
    reloads: { type: 'string', default: '50' },
    workers: { type: 'string', default: '16' },
    backlog: { type: 'string', default: '400' },
  },
  USAGE,
);
const scenarios = new Set(args.scenarios.split(',').map((s) => s.trim()));
const unknown = [...scenarios].filter((s) => !SCENARIOS.includes(s));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}\n`);
  process.exit(2);
}
const frames = numberArg(args, 'frames', { min: 1, integer: true });
const seed = numberArg(args, 'seed', { min: 0, integer: true });
const fuzzBudgetMs = numberArg(args, 'fuzz-budget', { min: 1 }) * 1000;
const bodyMiB = numberArg(args, 'body-mib', { min: 1, integer: true });
const reloads = numberArg(args, 'reloads', { min: 1, integer: true });
const workers = numberArg(args, 'workers', { min: 1, integer: true });
const backlog = numberArg(args, 'backlog', { min: 1, integer: true });

const log = (line) => process.stdout.write(`${line}\n`);
const hist = (h) => Object.entries(h).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
const mib = (v) => (v === null ? '—' : `${fmtNum(v)} MiB`);

/** Runs one scenario; a scenario that throws is reported (its targets MISS), not fatal to the others. */
async function attempt(name, fn) {
  try {
    return await fn();
  } catch (err) {
    log(`${name}: FAILED TO RUN: ${err?.stack ?? err}`);
    return { error: String(err?.message ?? err) };
  }
}
const value = (r, f) => (r && !r.error ? f(r) : Number.NaN);

async function main() {
  log(machineLine());
  const reason = daemonUnavailableReason() ?? controllerUnavailableReason();
  if (reason) {
    log(`SKIPPED: ${reason}`);
    if (args.json) writeResults(NAME, { skipped: reason, targets: [] });
    return;
  }
  const dir = tempDir('credgw-chaos-');
  const r = {};
  const targets = [];

  if (scenarios.has('fuzz')) {
    log(`fuzz: ${frames} frames, seed ${seed} (--seed ${seed} repeats this stream)`);
    const f = (r.fuzz = await attempt('fuzz', () => runFuzz({ dir, frames, seed, budgetMs: fuzzBudgetMs, log })));
    if (!f.error) {
      log(
        `fuzz: ${f.sent} frames in ${fmtNum(f.elapsedMs / 1000)} s (seed ${f.seed}), crashes ${f.crashes}, ` +
          `commands ${f.commandsExpectingResult}: answered ${f.answered}, unanswered ${f.unanswered}, answered twice ${f.answeredTwice} (${f.answeredTwiceAlteredDuplicate} sent with an altered duplicate), ` +
          `results for unknown ids ${f.resultsForUnknownIds}, lost with a closed connection ${f.lostWithConnection}; ` +
          `violations ${f.violationsSent}, closes expected ${hist(f.expectedCloses)} / unexpected ${hist(f.unexpectedCloses)}, reconnects ${f.reconnects}; ` +
          `RSS peak ${mib(f.rssPeakMiB)}, event-loop delay max ${fmtMs(f.loopDelayMaxMs)}`,
      );
      log(`  codes: ${hist(f.codes)}`);
      log(`  frame kinds: ${hist(f.kinds)}`);
    }
    targets.push(
      target('fuzz: frames sent', value(f, (x) => x.sent), '>=', frames),
      target('fuzz: gateway crashes', value(f, (x) => x.crashes), '==', 0),
      target('fuzz: commands unanswered', value(f, (x) => x.unanswered + (x.finalCommandAnswered ? 0 : 1)), '==', 0),
      target('fuzz: commands answered twice', value(f, (x) => x.answeredTwice), '==', 0),
      target('fuzz: results for ids that cannot be answered', value(f, (x) => x.resultsForUnknownIds), '==', 0),
      target('fuzz: unexpected or missing closes', value(f, (x) => Object.values(x.unexpectedCloses).reduce((a, b) => a + b, 0) + x.closesMissing.length), '==', 0),
      target('fuzz: event-loop delay max', value(f, (x) => x.loopDelayMaxMs ?? Number.NaN), '<=', 500, ' ms'),
    );
  }

  if (scenarios.has('hostile-vault')) {
    log(`hostile-vault: ${HOSTILE_CASES.length} cases, huge body ${bodyMiB} MiB`);
    const h = (r.hostile = await attempt('hostile-vault', () => runHostileVault({ dir, bodyMiB, log })));
    if (!h.error) {
      log(
        `hostile-vault: ${h.cases.length} cases, ${h.cases.length - h.casesFailed} a code in time, crashes ${h.crashes}, ` +
          `RSS peak ${mib(h.rssPeakMiB)}, event-loop delay max ${fmtMs(h.loopDelayMaxMs)}, ` +
          `token seen ${h.tokenHitsTotal}× (output ${h.tokenHits.output}, audit ${h.tokenHits.audit}, results ${h.tokenHits.results})`,
      );
      printTable(
        'hostile-vault cases',
        ['case', 'code', 'time', 'deadline', 'status'],
        h.cases.map((c) => [c.name, c.code, fmtMs(c.ms), fmtMs(c.deadlineMs), c.ok ? 'ok' : c.inTime ? 'wrong code' : 'late']),
      );
    }
    targets.push(
      target('hostile-vault: cases without a code in time', value(h, (x) => x.casesFailed), '==', 0),
      target('hostile-vault: gateway crashes', value(h, (x) => x.crashes), '==', 0),
      target('hostile-vault: gateway RSS peak', value(h, (x) => x.rssPeakMiB ?? Number.NaN), '<=', 300, ' MiB'),
      target('hostile-vault: token in output, audit or results', value(h, (x) => x.tokenHitsTotal), '==', 0),
    );
  }

  if (scenarios.has('reload-race')) {
    log(`reload-race: ${reloads} SIGHUPs 100 ms apart under ${workers} workers`);
    const x = (r.reload = await attempt('reload-race', () => runReloadRace({ dir, reloads, workers, log })));
    if (!x.error) {
      log(
        `reload-race: ${x.reloads} reloads in ${fmtNum(x.reloadSeconds)} s, ${x.commands} commands, failed ${x.failed} ` +
          `(${fmtNum(x.failuresPerReload)} per reload; ${hist(x.codes)}), role moves ${x.roleMoves}, health flaps ${x.healthFlaps}, ` +
          `crashes ${x.crashes}, RSS peak ${mib(x.rssPeakMiB)}, event-loop delay max ${fmtMs(x.loopDelayMaxMs)}`,
      );
      if (x.firstFailure) log(`  first failure: ${JSON.stringify(x.firstFailure)}`);
    }
    targets.push(
      target('reload-race: reloads done', value(x, (y) => y.reloads), '>=', reloads),
      target('reload-race: failed commands', value(x, (y) => y.failed), '==', 0),
      target('reload-race: role moves', value(x, (y) => y.roleMoves), '==', 0),
      target('reload-race: gateway crashes', value(x, (y) => y.crashes), '==', 0),
    );
  }

  if (scenarios.has('backlog')) {
    log(`backlog: ${backlog} commands in one burst, vault holding each call 1 s, default limits`);
    const b = (r.backlog = await attempt('backlog', () => runBacklog({ dir, commands: backlog, log })));
    if (!b.error) {
      log(
        `backlog: ${b.commands} commands, ok ${b.ok}, OVERLOADED ${b.overloaded}, unanswered ${b.unanswered} (${hist(b.codes)}), ` +
          `drained in ${fmtMs(b.drainMs)}, crashes ${b.crashes}, RSS peak ${mib(b.rssPeakMiB)}, event-loop delay max ${fmtMs(b.loopDelayMaxMs)}`,
      );
    }
    targets.push(
      target('backlog: OVERLOADED', value(b, (x) => x.overloaded), '==', 0),
      target('backlog: unanswered', value(b, (x) => x.unanswered), '==', 0),
      target('backlog: ok', value(b, (x) => x.ok), '==', backlog),
    );
  }

  printTargets(targets);
  if (args.json) log(`\nresults: ${writeResults(NAME, { settings: { scenarios: [...scenarios], frames, seed, bodyMiB, reloads, workers, backlog }, ...r, targets })}`);
}

await runBench(NAME, main);
