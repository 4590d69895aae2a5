// The load generator shared by every benchmark: a closed loop (N workers
// back to back: throughput) and an open loop (a fixed rate: latency measured
// from each request's *scheduled* send time, so a slow answer that delays
// the next send is charged to the system under test and not hidden —
// "coordinated omission"). Percentiles are exact over the recorded samples
// (a benchmark records a few thousand to a few hundred thousand numbers).

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export const now = () => performance.now();

/** Latency samples in milliseconds. */
export class Recorder {
  constructor(capacity = 1 << 16) {
    this.samples = new Float64Array(capacity);
    this.count = 0;
  }

  add(ms) {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = ms;
  }

  /** { count, mean, p50, p90, p99, max } in ms (null fields when empty). */
  summary() {
    const n = this.count;
    if (n === 0) return { count: 0, mean: null, p50: null, p90: null, p99: null, max: null };
    const s = this.samples.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i];
    // Nearest-rank percentile: the smallest sample with at least p% of samples at or below it.
    const pct = (p) => s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
    return { count: n, mean: sum / n, p50: pct(50), p90: pct(90), p99: pct(99), max: s[n - 1] };
  }
}

function errorText(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return String(err).slice(0, 300);
}

/**
 * Closed loop: `concurrency` workers each call `fn()` back to back.
 * First `warmupMs` unrecorded, then `durationMs` (or `count` calls) recorded.
 * `fn` resolves on success and throws on failure.
 * Returns { concurrency, ok, errors, firstError, elapsedMs, throughput (ok/s), latency }.
 * `recorder` (optional) collects the latencies instead of a fresh Recorder.
 */
export async function closedLoop({ concurrency, durationMs = 5000, count = Infinity, warmupMs = 1000, fn, recorder }) {
  const run = async (ms, limit, rec) => {
    const state = { issued: 0, ok: 0, errors: 0, firstError: undefined };
    const start = now();
    const end = start + ms;
    const worker = async () => {
      while (state.issued < limit && now() < end) {
        state.issued++;
        const t = now();
        try {
          await fn();
          state.ok++;
          rec?.add(now() - t);
        } catch (err) {
          state.errors++;
          state.firstError ??= errorText(err);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { ...state, elapsedMs: now() - start };
  };
  if (warmupMs > 0) await run(warmupMs, Infinity, undefined);
  // A caller measuring in rounds passes one Recorder for all of them (see pooledClosedLoops).
  const rec = recorder ?? new Recorder();
  const r = await run(durationMs, count, rec);
  return {
    mode: 'closed',
    concurrency,
    ok: r.ok,
    errors: r.errors,
    firstError: r.firstError,
    elapsedMs: r.elapsedMs,
    throughput: (r.ok / r.elapsedMs) * 1000,
    latency: rec.summary(),
  };
}

/**
 * Closed loops of several paths in alternating rounds: round 1 runs each
 * path for durationMs/rounds in turn, then round 2, and so on, the order
 * rotating by one path every round. On a small shared machine throughput
 * drifts over seconds (other load, CPU frequency, the host's other guests):
 * two paths measured one after the other inherit that drift in their
 * ratio, alternating rounds spread it over both, and the rotation stops a
 * steady drift from always favouring the path that goes first. Each path's
 * result pools its rounds (ok / total elapsed time, latencies of every
 * round) and lists the throughput of each round.
 * `paths` is [[key, fn], ...]; resolves to { key: result }.
 */
export async function pooledClosedLoops({ concurrency, durationMs, warmupMs, rounds, paths }) {
  const pooled = Object.fromEntries(paths.map(([key]) => [key, { rec: new Recorder(), runs: [] }]));
  for (let r = 0; r < rounds; r++) {
    const shift = r % paths.length;
    for (const [key, fn] of [...paths.slice(shift), ...paths.slice(0, shift)]) {
      const p = pooled[key];
      p.runs.push(await closedLoop({ concurrency, durationMs: durationMs / rounds, warmupMs, fn, recorder: p.rec }));
    }
  }
  return Object.fromEntries(
    paths.map(([key]) => {
      const { rec, runs } = pooled[key];
      const sum = (f) => runs.reduce((t, x) => t + x[f], 0);
      const ok = sum('ok');
      const elapsedMs = sum('elapsedMs');
      return [
        key,
        {
          mode: 'closed',
          concurrency,
          ok,
          errors: sum('errors'),
          firstError: runs.find((x) => x.firstError)?.firstError,
          elapsedMs,
          throughput: (ok / elapsedMs) * 1000,
          rounds: runs.map((x) => x.throughput),
          latency: rec.summary(),
        },
      ];
    }),
  );
}

/**
 * Open loop at `rate` requests/s: request i is due at t0 + i/rate and is
 * sent then whatever is still outstanding; its latency runs from the due
 * time to its answer. `warmupMs` at the same rate is not recorded. After the
 * last send, waits up to `drainMs` for outstanding answers (the rest count
 * as errors). Also reports how late the generator itself sent (sendLag),
 * which bounds how much of the latency is ours.
 */
export async function openLoop({ rate, durationMs = 6000, warmupMs = 1000, drainMs = 15000, fn }) {
  const run = (ms, rec, lagRec) =>
    new Promise((resolve) => {
      const interval = 1000 / rate;
      const total = Math.max(1, Math.round((ms / 1000) * rate));
      const state = { sent: 0, ok: 0, errors: 0, firstError: undefined };
      let outstanding = 0;
      let done = false;
      let drainTimer;
      const t0 = now() + 1;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(drainTimer);
        const unanswered = outstanding;
        resolve({ ...state, errors: state.errors + unanswered, unanswered, elapsedMs: now() - t0 });
      };
      const launch = (due) => {
        outstanding++;
        lagRec?.add(now() - due);
        fn().then(
          () => {
            if (done) return;
            state.ok++;
            rec?.add(now() - due);
          },
          (err) => {
            if (done) return;
            state.errors++;
            state.firstError ??= errorText(err);
          },
        ).finally(() => {
          outstanding--;
          if (!done && state.sent === total && outstanding === 0) finish();
        });
      };
      const tick = () => {
        const t = now();
        while (state.sent < total && t0 + state.sent * interval <= t) {
          const due = t0 + state.sent * interval;
          state.sent++;
          launch(due);
        }
        if (state.sent < total) {
          setTimeout(tick, Math.max(0, t0 + state.sent * interval - now()));
        } else {
          if (outstanding === 0) finish();
          else drainTimer = setTimeout(finish, drainMs);
        }
      };
      setTimeout(tick, 1);
    });
  if (warmupMs > 0) await run(warmupMs, undefined, undefined);
  const rec = new Recorder();
  const lag = new Recorder();
  const r = await run(durationMs, rec, lag);
  return {
    mode: 'open',
    rate,
    sent: r.sent,
    ok: r.ok,
    errors: r.errors,
    unanswered: r.unanswered,
    firstError: r.firstError,
    elapsedMs: r.elapsedMs,
    latency: rec.summary(),
    sendLag: lag.summary(),
  };
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---- targets ---------------------------------------------------------------

/**
 * One target: `value op limit`. A null value (the path did not run) is SKIP;
 * otherwise PASS or MISS. `unit` is for display only.
 */
export function target(name, value, op, limit, unit = '') {
  let status = 'SKIP';
  if (typeof value === 'number' && Number.isFinite(value)) {
    const pass = op === '<=' ? value <= limit : op === '>=' ? value >= limit : op === '==' ? value === limit : false;
    status = pass ? 'PASS' : 'MISS';
  }
  return { name, value: typeof value === 'number' && Number.isFinite(value) ? value : null, op, limit, unit, status };
}

/** A figure printed with the targets for information: status INFO, never PASS or MISS. */
export function info(name, value, unit = '') {
  return { name, value: typeof value === 'number' && Number.isFinite(value) ? value : null, op: 'info', limit: null, unit, status: 'INFO' };
}

/** The "wanted" column of a target (or of an information row). */
export function wantedText(t) {
  return t.status === 'INFO' ? 'information' : `${t.op} ${fmtNum(t.limit)}${t.unit}`;
}

export function printTargets(targets, out = process.stdout) {
  if (targets.length === 0) return;
  printTable(
    'targets',
    ['target', 'measured', 'wanted', 'status'],
    targets.map((t) => [t.name, t.value === null ? '—' : `${fmtNum(t.value)}${t.unit}`, wantedText(t), t.status]),
    out,
  );
}

// ---- output ----------------------------------------------------------------

export function fmtNum(v, digits) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const d = digits ?? (a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 || a === 0 ? 2 : 3);
  return v.toFixed(d);
}

export const fmtMs = (v) => (v === null || v === undefined ? '—' : `${fmtNum(v)} ms`);
export const fmtRatio = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(3)}×`);

/** A compact left-aligned text table. */
export function printTable(title, header, rows, out = process.stdout) {
  const cells = [header, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '—' : String(c))));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  out.write(`\n${title}\n${line(cells[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of cells.slice(1)) out.write(`${line(r)}\n`);
}

/** A row for a closed- or open-loop result. */
export function resultRow(label, r) {
  if (!r) return [label, '—', '—', '—', '—', '—', 'skipped'];
  const l = r.latency;
  return [
    label,
    r.mode === 'closed' ? `${fmtNum(r.throughput, 0)}/s` : `${r.rate}/s`,
    fmtMs(l.p50),
    fmtMs(l.p99),
    fmtMs(l.max),
    String(r.ok),
    r.errors ? `${r.errors} (${r.firstError ?? 'unanswered'})` : '0',
  ];
}
export const RESULT_HEADER = ['path', 'rate', 'p50', 'p99', 'max', 'ok', 'errors'];

/** One line about how busy the machine is: a loaded machine makes every figure noisier. */
export function machineLine() {
  const [l1] = loadavg();
  const n = availableParallelism();
  const busy = l1 > n ? ` — busier than its ${n} cores: expect noisy figures` : '';
  return `machine: ${n} cores, load average ${l1.toFixed(2)}${busy}, node ${process.version}`;
}

/** Writes bench/results/<name>.json (the directory is gitignored). Returns the path. */
export function writeResults(name, data) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: name, at: new Date().toISOString(), node: process.version, loadavg: loadavg(), ...data }, null, 2) + '\n');
  return file;
}
