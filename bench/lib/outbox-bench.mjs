#!/usr/bin/env node
// Micro benchmark of the durable event outbox (dist/events, issue 14):
// events recorded per second with fsync on, by 1 and by 32 concurrent
// recorders (each record resolves only once its event is written and
// fdatasync'ed; concurrent ones share a write and its sync), each acked at
// once as a live controller would. For scale it first measures the disk
// itself: append + fdatasync of one line, back to back (what a recorder
// alone cannot beat). To be wired into `npm run bench -- events`; runs alone:
//   node bench/lib/outbox-bench.mjs [--duration S] [--warmup S] [--concurrency 1,32] [--dir DIR] [--json]
// The directory defaults to a temporary one under $TMPDIR: point --dir at
// the disk the state directory lives on to measure that disk.

import { mkdtempSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchArgs, importDist, numberArg, runBench, tempDir } from './env.mjs';
import { closedLoop, fmtMs, fmtNum, machineLine, printTable, writeResults } from './load.mjs';

const NAME = 'outbox';

/** Append + fdatasync of one journal-sized line, back to back, for `durationMs`. */
async function rawFsyncRate(dir, durationMs, warmupMs) {
  const handle = await open(join(dir, 'fsync-probe'), 'a', 0o600);
  const line = Buffer.from(`${'x'.repeat(300)}\n`);
  try {
    return await closedLoop({
      concurrency: 1,
      durationMs,
      warmupMs,
      fn: async () => {
        await handle.write(line);
        await handle.datasync();
      },
    });
  } finally {
    await handle.close();
  }
}

/**
 * Records unique rotation notices into an Outbox in `dir` from `concurrency`
 * callers for `durationMs` (after `warmupMs`), acking each once stored.
 * Resolves to closedLoop's result plus the outbox's stats at the end.
 */
export async function measureOutbox({ dir, concurrency, durationMs, warmupMs }) {
  const { Outbox } = await importDist('events/index.js');
  const outbox = await Outbox.open({ dir });
  let n = 0;
  try {
    const result = await closedLoop({
      concurrency,
      durationMs,
      warmupMs,
      fn: async () => {
        const i = n++;
        const { eventId, stored } = await outbox.record({
          vault: 'pmp-prod',
          resourceName: `bench-${concurrency}-${i}`,
          dnsName: 'jump01.corp.local',
          accountName: 'administrator',
          rotatedAtMs: 1_796_292_902_000 + i * 1000,
          source: 'listener',
        });
        if (!stored) throw new Error('a unique notice was taken as a repeat');
        outbox.ack(eventId);
      },
    });
    return { ...result, stats: outbox.stats() };
  } finally {
    await outbox.close();
  }
}

/** Runs the whole benchmark; resolves to what --json writes. */
export async function outboxBench({ baseDir, concurrencies, durationMs, warmupMs }) {
  const disk = await rawFsyncRate(baseDir, durationMs, warmupMs);
  const runs = [];
  for (const concurrency of concurrencies) {
    const dir = mkdtempSync(join(baseDir, `c${concurrency}-`));
    runs.push(await measureOutbox({ dir, concurrency, durationMs, warmupMs }));
  }
  return { disk, runs };
}

async function main() {
  const args = benchArgs(
    {
      duration: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '0.5' },
      concurrency: { type: 'string', default: '1,32' },
      dir: { type: 'string' },
    },
    `node bench/lib/outbox-bench.mjs [--duration S] [--warmup S] [--concurrency 1,32] [--dir DIR] [--json]
Events recorded per second by the durable outbox (dist/events) with fsync on, per concurrency,
next to the disk's own append+fdatasync rate.
  --duration S     measured seconds per run (default 3)
  --warmup S       unrecorded seconds before each run (default 0.5)
  --concurrency L  comma-separated numbers of concurrent recorders (default 1,32)
  --dir DIR        where to write (default: a temporary directory, removed at exit)
  --json           also write bench/results/${NAME}.json`,
  );
  const durationMs = numberArg(args, 'duration', { min: 0.1 }) * 1000;
  const warmupMs = numberArg(args, 'warmup') * 1000;
  const concurrencies = args.concurrency.split(',').map((s) => Number(s.trim()));
  if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) {
    process.stderr.write('--concurrency must list positive integers\n');
    process.exit(2);
  }
  const baseDir = args.dir ? mkdtempSync(join(args.dir, 'credgw-outbox-bench-')) : tempDir('credgw-outbox-bench-');
  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write(`outbox: concurrency ${concurrencies.join(',')}, ${durationMs / 1000} s each after ${warmupMs / 1000} s warm-up, in ${baseDir}\n`);
  const { disk, runs } = await outboxBench({ baseDir, concurrencies, durationMs, warmupMs });
  const row = (label, r, extra) => [label, fmtNum(r.throughput, 0), fmtMs(r.latency.p50), fmtMs(r.latency.p99), fmtMs(r.latency.max), String(r.errors), extra];
  printTable('events recorded per second, fsync on (each acked once stored)', ['path', 'per s', 'p50', 'p99', 'max', 'errors', 'note'], [
    row('disk: append + fdatasync', disk, 'one line, back to back'),
    ...runs.map((r) => row(`outbox c=${r.concurrency}`, r, `${fmtNum(r.throughput / disk.throughput, 2)}× the disk's sync rate`)),
  ]);
  if (args.json) writeResults(NAME, { machine: machineLine(), durationMs, warmupMs, disk, runs });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runBench(NAME, main);
