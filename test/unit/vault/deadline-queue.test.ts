import { ManualClock } from '../../../src/shared/clock.js';
import { DeadlineQueue, type DeadlineEntry } from '../../../src/vault/deadline-queue.js';

/** The request time-outs of a client on one timer of the manual clock. */
describe('DeadlineQueue', () => {
  function entry(name: string, expired: string[], onExpire?: () => void): DeadlineEntry {
    return {
      deadline: 0,
      older: null,
      newer: null,
      expire: () => {
        expired.push(name);
        onExpire?.();
      },
    };
  }

  it('expires each entry when its own time-out passes, in order, with one timer at a time', () => {
    const clock = new ManualClock();
    const q = new DeadlineQueue(clock, 1000);
    const expired: string[] = [];
    q.add(entry('a', expired));
    clock.advance(300);
    q.add(entry('b', expired));
    clock.advance(200);
    q.add(entry('c', expired));
    expect(clock.pending).toBe(1);
    expect(q.size).toBe(3);
    clock.advance(499);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired).toEqual(['a']);
    clock.advance(300);
    expect(expired).toEqual(['a', 'b']);
    clock.advance(200);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a deleted entry never expires; the timer then waits for the next oldest', () => {
    const clock = new ManualClock();
    const q = new DeadlineQueue(clock, 1000);
    const expired: string[] = [];
    const a = entry('a', expired);
    const b = entry('b', expired);
    q.add(a);
    clock.advance(400);
    q.add(b);
    q.delete(a);
    q.delete(a); // twice: no harm
    expect(q.size).toBe(1);
    clock.advance(600); // a's deadline: nothing to expire, re-armed for b
    expect(expired).toEqual([]);
    expect(clock.pending).toBe(1);
    clock.advance(400);
    expect(expired).toEqual(['b']);
    expect(clock.pending).toBe(0);
  });

  it('deleting the only entry and adding again keeps a single timer', () => {
    const clock = new ManualClock();
    const q = new DeadlineQueue(clock, 1000);
    const expired: string[] = [];
    for (let i = 0; i < 100; i++) {
      const e = entry(`e${i}`, expired);
      q.add(e);
      clock.advance(5);
      q.delete(e);
    }
    expect(clock.pending).toBe(1);
    expect(q.size).toBe(0);
    clock.advance(10_000);
    expect(expired).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it('adding an entry that is already queued keeps its first deadline', () => {
    const clock = new ManualClock();
    const q = new DeadlineQueue(clock, 1000);
    const expired: string[] = [];
    const a = entry('a', expired);
    q.add(a);
    clock.advance(500);
    q.add(a);
    expect(q.size).toBe(1);
    clock.advance(500);
    expect(expired).toEqual(['a']);
  });

  it('an entry added from an expire() callback gets a full time-out of its own', () => {
    const clock = new ManualClock();
    const q = new DeadlineQueue(clock, 1000);
    const expired: string[] = [];
    q.add(entry('a', expired, () => q.add(entry('retry', expired))));
    clock.advance(1000);
    expect(expired).toEqual(['a']);
    expect(clock.pending).toBe(1);
    clock.advance(999);
    expect(expired).toEqual(['a']);
    clock.advance(1);
    expect(expired).toEqual(['a', 'retry']);
  });

  it('stop clears the timer and forgets every entry', () => {
    const clock = new ManualClock();
    const q = new DeadlineQueue(clock, 1000);
    const expired: string[] = [];
    const a = entry('a', expired);
    q.add(a);
    q.add(entry('b', expired));
    q.stop();
    expect(clock.pending).toBe(0);
    expect(q.size).toBe(0);
    expect(a.older).toBeNull();
    clock.advance(5000);
    expect(expired).toEqual([]);
  });
});
