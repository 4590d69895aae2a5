/**
 * How long this process's event loop was held by its own work. A 1 ms timer
 * notes, between two of its runs, the wall time and the CPU time the process
 * used; a gap counts only as far as the process used CPU in it. Time the OS
 * gave to other processes on a loaded machine is not taken for a stall (a
 * wall-time event-loop delay, perf_hooks' monitorEventLoopDelay, counts it),
 * while a synchronous task, such as seconds of JavaScript RSA, counts in full.
 */

export interface LoopStallMonitor {
  /** Stops; the longest gap between timer runs, in the process's CPU time (ms). */
  stop(): number;
}

const TICK_MS = 1;

export function monitorLoopStalls(): LoopStallMonitor {
  let maxStallUs = 0;
  let lastWall = process.hrtime.bigint();
  let lastCpu = process.cpuUsage();
  const sample = (): void => {
    const wall = process.hrtime.bigint();
    const cpu = process.cpuUsage(lastCpu);
    const gapUs = Number(wall - lastWall) / 1000 - TICK_MS * 1000;
    maxStallUs = Math.max(maxStallUs, Math.min(gapUs, cpu.user + cpu.system));
    lastWall = wall;
    lastCpu = process.cpuUsage();
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
