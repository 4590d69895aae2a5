import { describe, expect, it } from '@jest/globals';
import { ManualClock, type Clock } from '../../../src/shared/clock.js';
import { EVENT_LOOP, LivenessMonitor } from '../../../src/telemetry/liveness.js';

describe('LivenessMonitor', () => {
  it('is healthy with no loops, and while every loop ticks within its allowance', () => {
    const clock = new ManualClock();
    const m = new LivenessMonitor(clock);
    expect(m.healthy()).toBe(true);
    m.register('link', 5000);
    m.register('vault:pmp', 20_000);
    clock.advance(5000);
    expect(m.healthy()).toBe(true); // exactly at the allowance is still fine
    m.tick('link');
    clock.advance(4000);
    m.tick('link');
    clock.advance(4000);
    expect(m.check()).toEqual({ healthy: true, reasons: [] });
  });

  it('turns unhealthy when one loop goes silent past its allowance, and recovers on its next tick', () => {
    const clock = new ManualClock();
    const m = new LivenessMonitor(clock);
    m.register('link', 5000);
    m.register('vault:pmp', 20_000);
    m.tick('link');
    clock.advance(5001);
    const c = m.check();
    expect(c.healthy).toBe(false);
    expect(c.reasons).toEqual(['link has not ticked for 5001 ms (allowed 5000 ms)']);
    m.tick('link');
    expect(m.healthy()).toBe(true);
  });

  it('counts the silence of a loop that never ticked from its registration', () => {
    const clock = new ManualClock();
    const m = new LivenessMonitor(clock);
    clock.advance(60_000);
    m.register('link', 1000);
    expect(m.healthy()).toBe(true);
    clock.advance(1001);
    expect(m.check().reasons).toEqual(['link has not ticked for 1001 ms (allowed 1000 ms, never ticked)']);
  });

  it('snapshot shows each loop, null before its first tick; unregister and unknown ticks', () => {
    const clock = new ManualClock();
    const m = new LivenessMonitor(clock);
    m.register('vault:b', 1000);
    m.register('link', 1000);
    m.tick('nobody'); // ignored
    clock.advance(300);
    m.tick('link');
    clock.advance(200);
    expect(m.snapshot()).toEqual({ link: { healthy: true, lastTickAgoMs: 200 }, 'vault:b': { healthy: true, lastTickAgoMs: null } });
    expect(Object.keys(m.snapshot())).toEqual(['link', 'vault:b']);
    clock.advance(600);
    expect(m.snapshot()['vault:b']).toEqual({ healthy: false, lastTickAgoMs: null });
    m.unregister('vault:b');
    expect(m.healthy()).toBe(true);
    expect(() => m.register('x', 0)).toThrow(RangeError);
  });

  it('runs an event-loop ticker on the clock, stopped by stop()', () => {
    const clock = new ManualClock();
    const m = new LivenessMonitor(clock, { eventLoopIntervalMs: 1000, eventLoopMaxSilenceMs: 5000 });
    m.start();
    expect(clock.pending).toBe(1);
    clock.advance(60_000);
    expect(m.healthy()).toBe(true);
    expect(m.snapshot()[EVENT_LOOP]).toEqual({ healthy: true, lastTickAgoMs: 0 });
    m.start(); // restart does not double the timer
    expect(clock.pending).toBe(1);
    m.stop();
    expect(clock.pending).toBe(0);
    expect(m.snapshot()[EVENT_LOOP]).toBeUndefined();
  });

  it('a late-firing ticker (blocked or starved event loop) does not count, so lasting lag turns it unhealthy', () => {
    const manual = new ManualClock();
    // Timers fire on the manual clock's schedule, but monotonic time runs `lag` ahead:
    // exactly what a blocked event loop looks like from inside the timer callback.
    let lag = 0;
    const laggy: Clock = {
      now: () => manual.now() + lag,
      monotonic: () => manual.monotonic() + lag,
      setTimeout: (fn, ms) => manual.setTimeout(fn, ms),
      clearTimeout: (h) => manual.clearTimeout(h),
    };
    const m = new LivenessMonitor(laggy, { eventLoopIntervalMs: 1000, maxEventLoopLagMs: 500, eventLoopMaxSilenceMs: 5000 });
    m.start();
    manual.advance(3000);
    expect(m.healthy()).toBe(true);
    // From now on each firing is 2 s later than expected.
    const step = (): void => {
      lag += 2000;
      manual.advance(1000);
    };
    step();
    expect(m.eventLoopLagMs).toBe(2000);
    expect(m.healthy()).toBe(true); // one late firing is within the 5 s allowance
    step();
    step();
    const c = m.check();
    expect(c.healthy).toBe(false);
    expect(c.reasons[0]).toMatch(/^event-loop has not ticked for \d+ ms \(allowed 5000 ms; last timer ran 2000 ms late\)$/);
    // The loop recovers: on-time firings tick again.
    manual.advance(1000);
    manual.advance(1000);
    expect(m.healthy()).toBe(true);
    m.stop();
  });

  it('refuses nonsensical options', () => {
    expect(() => new LivenessMonitor(new ManualClock(), { eventLoopIntervalMs: 0 })).toThrow(RangeError);
    expect(() => new LivenessMonitor(new ManualClock(), { eventLoopIntervalMs: 1000, eventLoopMaxSilenceMs: 1000 })).toThrow(RangeError);
  });
});
