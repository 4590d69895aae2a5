#!/usr/bin/env node
// Runs the benchmarks one after another (or the ones named), each in its
// own process group under a hard time limit, then prints every target of
// every benchmark with PASS / MISS / SKIP. A miss is reported, not hidden:
// the exit status is 0 only when nothing missed and nothing failed to run.
//   node bench/run.mjs                 all of them
//   node bench/run.mjs vault-client    one (or several) by name
// Exit status: 0 all PASS/SKIP, 1 a benchmark failed or hit its time limit,
// 3 at least one target MISSed.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, fmtNum, printTable, RESULTS_DIR, wantedText } from './lib/load.mjs';

export const BENCHMARKS = ['vault-client', 'gateway', 'failover', 'chaos', 'dns-index', 'events'];

const { values, positionals } = parseArgs({
  options: {
    'time-limit': { type: 'string', default: '120' },
    help: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
if (values.help) {
  process.stdout.write(
    `node bench/run.mjs [${BENCHMARKS.join('|')} ...] [--time-limit S]\n` +
      `Runs the benchmarks (default: all, in this order), each killed after --time-limit seconds (default 120),\n` +
      `and prints every target with PASS / MISS / SKIP. Exit 0: no MISS; 1: a benchmark failed; 3: a MISS.\n` +
      `Uses the build in $CREDGW_DIST (default <repo>/dist): run \`npm run build\` first (npm run bench does).\n`,
  );
  process.exit(0);
}
const limitMs = Number(values['time-limit']) * 1000;
if (!Number.isFinite(limitMs) || limitMs <= 0) {
  process.stderr.write('--time-limit must be a positive number of seconds\n');
  process.exit(2);
}
const unknown = positionals.filter((n) => !BENCHMARKS.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}\n`);
  process.exit(2);
}
const names = positionals.length > 0 ? positionals : BENCHMARKS;

let current;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) killGroup(current, 'SIGTERM');
    setTimeout(() => process.exit(130), 3000).unref();
  });
}

function killGroup(child, signal) {
  try {
    // The benchmark leads its own process group: this reaches what it started too.
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Runs one benchmark; resolves to { name, status: 'ok'|'failed'|'timeout', code, seconds }. */
function runOne(name) {
  return new Promise((resolve) => {
    const resultFile = join(RESULTS_DIR, `${name}.json`);
    rmSync(resultFile, { force: true });
    const started = Date.now();
    const child = spawn(process.execPath, [join(BENCH_DIR, `${name}.mjs`), '--json'], { stdio: 'inherit', detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.stderr.write(`\n${name}: time limit of ${limitMs / 1000} s reached, stopping it\n`);
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref();
    }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Anything left in its group (a stuck grandchild) goes too.
      killGroup(child, 'SIGKILL');
      current = undefined;
      const seconds = (Date.now() - started) / 1000;
      resolve({ name, status: timedOut ? 'timeout' : code === 0 ? 'ok' : 'failed', code: code ?? signal, seconds, resultFile });
    });
  });
}

const runs = [];
for (const name of names) {
  process.stdout.write(`\n=== ${name} ${'='.repeat(Math.max(0, 60 - name.length))}\n`);
  runs.push(await runOne(name));
}

const rows = [];
let missed = 0;
let failed = 0;
for (const r of runs) {
  if (r.status !== 'ok') {
    failed++;
    rows.push([r.name, r.status === 'timeout' ? `did not finish within ${limitMs / 1000} s` : `failed (exit ${r.code})`, '', '', 'FAIL']);
    continue;
  }
  if (!existsSync(r.resultFile)) {
    failed++;
    rows.push([r.name, 'wrote no results', '', '', 'FAIL']);
    continue;
  }
  const data = JSON.parse(readFileSync(r.resultFile, 'utf8'));
  for (const t of data.targets ?? []) {
    if (t.status === 'MISS') missed++;
    rows.push([r.name, t.name, t.value === null ? '—' : `${fmtNum(t.value)}${t.unit}`, wantedText(t), t.status]);
  }
  if (data.skipped && typeof data.skipped === 'string') rows.push([r.name, `skipped: ${data.skipped}`, '', '', 'SKIP']);
}
printTable('summary of targets', ['benchmark', 'target', 'measured', 'wanted', 'status'], rows);
process.stdout.write(
  `\n${runs.map((r) => `${r.name} ${r.seconds.toFixed(0)} s`).join(', ')}; ` +
    `${missed} MISS, ${failed} failed; results in ${RESULTS_DIR}\n`,
);
process.exit(failed > 0 ? 1 : missed > 0 ? 3 : 0);
