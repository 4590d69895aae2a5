import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonFirstTouchUsPerPage, bareRuntimeStartMs, FRESH_MIB, minorFaults, PAGES_PER_MIB, procStatFields } from '../../../bench/lib/host.mjs';

/**
 * The start benchmarks' baselines (bench/lib/host.mjs): a process's minor
 * faults read from /proc, and the host's price of a fresh page, which the
 * start → hello figures are read against.
 */

const PAGE = 4096;
/** With transparent huge pages always on, one fault maps up to 512 pages. */
const PAGES_PER_FAULT = /\[always\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')) ? 512 : 1;

describe('bench host baselines', () => {
  it('minorFaults counts the pages a process touches for the first time', () => {
    const pages = FRESH_MIB * PAGES_PER_MIB;
    const before = minorFaults(process.pid);
    // Its own mmap at this size, so every page is fresh; one write per page faults it in.
    const buf = Buffer.allocUnsafeSlow(pages * PAGE);
    for (let i = 0; i < buf.length; i += PAGE) buf[i] = 1;
    const after = minorFaults(process.pid);
    expect(Number.isInteger(before)).toBe(true);
    expect(after - before).toBeGreaterThanOrEqual(pages / PAGES_PER_FAULT);
  });

  it('procStatFields reads past a command name that holds ") " itself', async () => {
    // The kernel's comm is the executable's name: a symlink to sleep named like a stat field list.
    const dir = mkdtempSync(join(tmpdir(), 'credgw-stat-'));
    const odd = join(dir, 'x) R 1 2');
    symlinkSync('/bin/sleep', odd);
    const child = spawn(odd, ['5'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const fields = procStatFields(child.pid!);
      expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()).toBe('x) R 1 2');
      expect(fields?.[0]).toMatch(/^[RSD]$/);
      expect(Number(fields?.[1])).toBe(process.pid);
      expect(Number.isInteger(minorFaults(child.pid!))).toBe(true);
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('minorFaults of a process that has exited is NaN, not a stale or zero count', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid!;
    await new Promise((resolve) => child.once('exit', resolve));
    expect(minorFaults(pid)).toBeNaN();
  });

  it('the first-touch price is a positive time per page, measured only on buffers that are their own mapping', () => {
    const perPage = anonFirstTouchUsPerPage({ rounds: 1 });
    expect(Number.isFinite(perPage)).toBe(true);
    expect(perPage).toBeGreaterThan(0);
    // Smaller buffers may reuse touched heap memory: the measure refuses them.
    expect(() => anonFirstTouchUsPerPage({ mib: 8 })).toThrow(RangeError);
  });

  it('bareRuntimeStartMs times a runtime that starts, and refuses one that does not', () => {
    expect(bareRuntimeStartMs(process.execPath, 1)).toBeGreaterThan(0);
    expect(() => bareRuntimeStartMs('/bin/false', 1)).toThrow(/exited 1/);
  });
});
