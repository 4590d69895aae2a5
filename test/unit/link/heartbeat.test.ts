import { jest } from '@jest/globals';
import { Heartbeat } from '../../../src/link/heartbeat.js';
import { ViolationWindow } from '../../../src/link/violations.js';
import { ManualClock } from '../../../src/shared/clock.js';

function setup(intervalMs = 100) {
  const clock = new ManualClock();
  const events: string[] = [];
  const hb = new Heartbeat({
    clock,
    intervalMs,
    ping: () => events.push(`ping@${clock.now() - start}`),
    dead: (silent) => events.push(`dead@${clock.now() - start}:${silent}`),
  });
  const start = clock.now();
  return { clock, hb, events };
}

describe('Heartbeat (protocol section 2)', () => {
  it('pings every interval and declares the peer dead after 3 silent intervals', () => {
    const { clock, hb, events } = setup();
    hb.start();
    clock.advance(1000);
    expect(events).toEqual(['ping@100', 'ping@200', 'dead@300:300']);
    expect(hb.running).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('stays alive while something is heard, dying exactly 3 intervals after the last', () => {
    const { clock, hb, events } = setup();
    hb.start();
    for (let i = 0; i < 10; i++) {
      clock.advance(50);
      hb.heard();
    }
    // t = 500, last heard at 500
    expect(events.filter((e) => e.startsWith('dead'))).toEqual([]);
    expect(events).toEqual(['ping@100', 'ping@200', 'ping@300', 'ping@400', 'ping@500']);
    clock.advance(250);
    hb.heard(); // t = 750
    clock.advance(1000);
    expect(events.filter((e) => e.startsWith('dead'))).toEqual(['dead@1050:300']);
  });

  it('detects silence at the deadline even between pings', () => {
    const { clock, hb, events } = setup(100);
    hb.start();
    clock.advance(30);
    hb.heard(); // t=30, deadline 330
    clock.advance(400);
    expect(events).toEqual(['ping@100', 'ping@200', 'ping@300', 'dead@330:300']);
  });

  it('stop() clears the timer and start() begins afresh', () => {
    const { clock, hb, events } = setup();
    hb.start();
    clock.advance(150);
    hb.stop();
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(events).toEqual(['ping@100']);
    hb.start();
    hb.start(); // cancels the first
    expect(clock.pending).toBe(1);
    hb.stop();
  });

  it('does not reschedule when ping() stops it', () => {
    const clock = new ManualClock();
    const hb: Heartbeat = new Heartbeat({ clock, intervalMs: 10, ping: () => hb.stop(), dead: () => undefined });
    hb.start();
    clock.advance(10);
    expect(hb.running).toBe(false);
    expect(clock.pending).toBe(0);
  });
});

describe('ViolationWindow (protocol section 8)', () => {
  it('is exceeded at the 10th violation within a minute', () => {
    const clock = new ManualClock();
    const w = new ViolationWindow(clock);
    for (let i = 1; i <= 9; i++) {
      expect(w.record()).toEqual({ count: i, exceeded: false });
      clock.advance(1000);
    }
    expect(w.record()).toEqual({ count: 10, exceeded: true });
  });

  it('forgets violations older than a minute, so sparse bad frames are survived', () => {
    const clock = new ManualClock();
    const w = new ViolationWindow(clock);
    for (let i = 0; i < 100; i++) {
      expect(w.record().exceeded).toBe(false);
      clock.advance(6_700); // 9 gaps = 60.3 s: never 10 in one minute
    }
    expect(w.record().count).toBeLessThan(10);
  });
});

describe('Heartbeat after a stalled event loop', () => {
  it('declares the peer dead at the deadline, with no second look', () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const hb = new Heartbeat({ clock, intervalMs: 100, ping: () => events.push('ping'), dead: () => events.push('dead') });
    hb.start();
    clock.advance(300);
    expect(events).toEqual(['ping', 'ping', 'dead']);
    expect(clock.pending).toBe(0);
    expect(hb.heard()).toBe(false); // nothing revives it
    expect(events).toEqual(['ping', 'ping', 'dead']);
  });

  it('a frame read after the deadline passed (its timer not run yet) is refused and the peer is dead at once', () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const hb = new Heartbeat({ clock, intervalMs: 100, ping: () => events.push('ping'), dead: (silent) => events.push(`dead:${silent}`) });
    // A stopped process: time passes, no timer runs; then the socket buffer is read first.
    const spy = jest.spyOn(clock, 'setTimeout').mockImplementation(() => ({}));
    hb.start();
    clock.advance(350);
    expect(hb.heard()).toBe(false);
    expect(events).toEqual(['dead:350']);
    expect(hb.running).toBe(false);
    expect(hb.heard()).toBe(false); // the rest of the buffer too, and dead is not called twice
    expect(events).toEqual(['dead:350']);
    spy.mockRestore();
  });

  it('is overdue from the deadline on, before its timer has run, and asking changes nothing', () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const hb = new Heartbeat({ clock, intervalMs: 100, ping: () => events.push('ping'), dead: () => events.push('dead') });
    const spy = jest.spyOn(clock, 'setTimeout').mockImplementation(() => ({}));
    hb.start();
    clock.advance(299);
    expect(hb.overdue).toBe(false);
    clock.advance(1);
    expect(hb.overdue).toBe(true);
    expect(hb.overdue).toBe(true);
    expect(events).toEqual([]);
    expect(hb.running).toBe(true);
    hb.stop();
    expect(hb.overdue).toBe(false);
    spy.mockRestore();
  });

  it('a frame read just before the deadline keeps the connection', () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const hb = new Heartbeat({ clock, intervalMs: 100, ping: () => events.push('ping'), dead: () => events.push('dead') });
    hb.start();
    clock.advance(299);
    expect(hb.heard()).toBe(true);
    clock.advance(200);
    expect(events).toEqual(['ping', 'ping', 'ping', 'ping']);
    expect(hb.running).toBe(true);
    hb.stop();
    expect(hb.heard()).toBe(false);
  });
});

describe('Heartbeat: the peer counts its silence from our last frame (protocol section 2)', () => {
  /** A heartbeat whose timer never runs: a stopped process, or a loop starved from the start. */
  function stalled(start?: (hb: Heartbeat, clock: ManualClock) => void) {
    const clock = new ManualClock();
    const events: string[] = [];
    const hb = new Heartbeat({ clock, intervalMs: 100, ping: () => events.push('ping'), dead: (silent, side) => events.push(`dead:${silent}:${side}`) });
    const spy = jest.spyOn(clock, 'setTimeout').mockImplementation(() => ({}));
    if (start) start(hb, clock);
    else hb.start();
    return { clock, hb, events, restore: () => spy.mockRestore() };
  }

  it('a frame read 3 intervals after our last one is refused, though the last frame read is recent (a command read just before a stall)', () => {
    const { clock, hb, events, restore } = stalled();
    clock.advance(250);
    expect(hb.heard()).toBe(true); // read at 250; nothing sent since the start
    clock.advance(49);
    expect(hb.overdue).toBe(false);
    clock.advance(1);
    expect(hb.overdue).toBe(true);
    expect(hb.heard()).toBe(false);
    expect(events).toEqual(['dead:300:sent']);
    expect(hb.running).toBe(false);
    restore();
  });

  it('a pong we sent restarts the peer\'s silence of us', () => {
    const { clock, hb, events, restore } = stalled();
    clock.advance(250);
    expect(hb.heard()).toBe(true);
    hb.sent();
    clock.advance(249);
    expect(hb.overdue).toBe(false);
    expect(hb.heard()).toBe(true);
    clock.advance(51); // 300 after the pong
    expect(hb.heard()).toBe(false);
    expect(events).toEqual(['dead:300:sent']);
    restore();
  });

  it('a pong sent after the deadline revives nothing', () => {
    const { clock, hb, events, restore } = stalled();
    clock.advance(200);
    expect(hb.heard()).toBe(true);
    clock.advance(100);
    expect(hb.heard()).toBe(false); // the ping that made us pong came too late
    hb.sent();
    expect(hb.overdue).toBe(false);
    expect(hb.running).toBe(false);
    expect(hb.heard()).toBe(false);
    expect(events).toEqual(['dead:300:sent']);
    restore();
  });

  it("counts from `sentAt` given to start(): the connection's open, before the welcome", () => {
    const { clock, hb, events, restore } = stalled((h, c) => {
      const openAt = c.monotonic();
      c.advance(120); // hello → welcome
      h.start(openAt);
    });
    clock.advance(179);
    expect(hb.heard()).toBe(true);
    clock.advance(1);
    expect(hb.overdue).toBe(true);
    expect(hb.heard()).toBe(false);
    expect(events).toEqual(['dead:300:sent']);
    restore();
  });

  it('our own pings keep the peer hearing from us: a quiet peer is still dead after 3 intervals, from what we heard last', () => {
    const clock = new ManualClock();
    const events: string[] = [];
    const hb = new Heartbeat({ clock, intervalMs: 100, ping: () => events.push('ping'), dead: (silent, side) => events.push(`dead:${silent}:${side}`) });
    hb.start();
    clock.advance(250);
    hb.heard();
    clock.advance(1000);
    // Pings at 100…500 kept our side fresh; the peer's silence since 250 ends it at 550.
    expect(events).toEqual(['ping', 'ping', 'ping', 'ping', 'ping', 'dead:300:heard']);
  });
});
