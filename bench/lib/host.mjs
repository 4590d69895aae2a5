// What this host charges for a process's first touch of memory, and what the
// bare runtime's start costs on it: the baselines a start (start → hello) is
// read against. A start is mostly first touches (the executable's pages, the
// V8 heap, malloc), and their price depends on the hypervisor: on the PVM
// guests this project is developed on (shadow page tables) an anonymous
// page's first touch costs ~10 µs, roughly ten times what hardware
// virtualisation or bare metal charges (docs/benchmarks.md, session 11).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { median } from './load.mjs';

const PAGE = 4096;
export const PAGES_PER_MIB = (1 << 20) / PAGE;
/**
 * Above glibc's largest dynamic mmap threshold (32 MiB on 64-bit), so the
 * buffer is always its own mmap and every page fresh; a smaller one may be
 * carved from heap memory an earlier allocation already touched.
 */
export const FRESH_MIB = 33;

/** µs per 4 KiB page of touching fresh anonymous memory (a fault and a zeroed page each), median of `rounds`. */
export function anonFirstTouchUsPerPage({ mib = FRESH_MIB, rounds = 3 } = {}) {
  if (mib < FRESH_MIB) throw new RangeError(`anonFirstTouchUsPerPage: ${mib} MiB may come from memory malloc already touched; at least ${FRESH_MIB}`);
  const pages = mib * PAGES_PER_MIB;
  const perPage = [];
  for (let r = 0; r < rounds; r++) {
    const buf = Buffer.allocUnsafeSlow(pages * PAGE);
    const t0 = performance.now();
    for (let i = 0; i < buf.length; i += PAGE) buf[i] = 1;
    perPage.push(((performance.now() - t0) * 1000) / pages);
  }
  return median(perPage);
}

/** The Node build the binary embeds (scripts/node-runtime.json), as build-binary.mjs caches it, or null if not fetched here. */
export function pinnedNode() {
  const { version } = JSON.parse(readFileSync(new URL('../../scripts/node-runtime.json', import.meta.url), 'utf8'));
  const path = new URL(`../../build/cache/node-linux-${process.arch}-${version}/bin/node`, import.meta.url).pathname;
  return existsSync(path) ? { path, version: `v${version}` } : null;
}

/** Median wall time (ms) of `node -e 0`: the runtime's own start and exit, no credgw code. */
export function bareRuntimeStartMs(nodePath, runs = 5) {
  const walls = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(nodePath, ['-e', '0'], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } });
    if (r.status !== 0) throw new Error(`${nodePath} -e 0 exited ${r.status ?? r.signal}`);
    walls.push(performance.now() - t0);
  }
  return median(walls);
}

/**
 * The fields of /proc/<pid>/stat after the command name, which may itself
 * hold spaces and parentheses (so: after its last ')'): [0] state, [7]
 * minflt, [11] utime, [12] stime, …; null once the process is gone.
 */
export function procStatFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Minor page faults of a live process so far, or NaN once it is gone. */
export function minorFaults(pid) {
  const fields = procStatFields(pid);
  return fields ? Number(fields[7]) : NaN;
}

/**
 * One line for a start bench's header: the host's first-touch price and the bare
 * runtime's start, measured now, so a start's figures can be read as ratios.
 */
export function hostStartBaseline() {
  const touchUs = anonFirstTouchUsPerPage();
  const node = pinnedNode();
  const runs = 5;
  const bareMs = node ? bareRuntimeStartMs(node.path, runs) : null;
  const bare = node ? `; Node ${node.version} -e 0 (the runtime alone) ${bareMs.toFixed(0)} ms wall, median of ${runs}` : '; the pinned Node is not fetched here (npm run package fetches it)';
  return { touchUs, bareMs, line: `host: fresh anonymous memory ${touchUs.toFixed(2)} µs per 4 KiB page at first touch${bare}` };
}
