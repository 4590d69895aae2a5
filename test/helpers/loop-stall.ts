/**
 * How long this process's event loop was held by its own work. A 1 ms timer
 * notes, between two of its runs, the wall time and the CPU time the main
 * thread (the event loop's) used; a gap counts only as far as that thread
 * ran in it. Time the OS gave to other processes on a loaded machine is not
 * taken for a stall (a wall-time event-loop delay, perf_hooks'
 * monitorEventLoopDelay, counts it), nor is the work of this process's other
 * threads (V8's GC and compiler threads, libuv's pool), which runs beside the
 * loop; a synchronous task, such as seconds of JavaScript RSA, counts in full.
 */
import { readFileSync } from 'node:fs';

export interface LoopStallMonitor {
  /** Stops; the longest gap between timer runs, in the main thread's CPU time (ms). */
  stop(): number;
}

const TICK_MS = 1;
/** Linux: the main thread's on-CPU time (its tid is the pid), first field of schedstat, in ns. */
const MAIN_THREAD_SCHEDSTAT = `/proc/${process.pid}/task/${process.pid}/schedstat`;

/** CPU time of the event loop's thread in µs; where /proc has no schedstat, the whole process's. */
function loopThreadCpuUs(): number {
  try {
    return Number(readFileSync(MAIN_THREAD_SCHEDSTAT, 'utf8').split(' ')[0]) / 1000;
  } catch {
    const { user, system } = process.cpuUsage();
    return user + system;
  }
}

export function monitorLoopStalls(): LoopStallMonitor {
  let maxStallUs = 0;
  let lastWall = process.hrtime.bigint();
  let lastCpuUs = loopThreadCpuUs();
  const sample = (): void => {
    const wall = process.hrtime.bigint();
    const cpuUs = loopThreadCpuUs();
    const gapUs = Number(wall - lastWall) / 1000 - TICK_MS * 1000;
    maxStallUs = Math.max(maxStallUs, Math.min(gapUs, cpuUs - lastCpuUs));
    lastWall = wall;
    lastCpuUs = cpuUs;
  };
  const timer = setInterval(sample, TICK_MS);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return maxStallUs / 1000;
    },
  };
}
