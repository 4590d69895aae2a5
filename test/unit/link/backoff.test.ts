import { BACKOFF_RESET_AFTER_MS, backoffDelay, DEFAULT_BACKOFF, ReconnectBackoff, refusedDelay } from '../../../src/link/backoff.js';

describe('backoffDelay (full jitter, protocol section 2)', () => {
  it('uses base 250 ms and cap 30 s by default', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 250, capMs: 30_000 });
    expect(BACKOFF_RESET_AFTER_MS).toBe(60_000);
  });

  // [attempt, random, expected]
  const table: Array<[number, number, number]> = [
    [0, 1, 250],
    [0, 0, 0],
    [0, 0.5, 125],
    [1, 1, 500],
    [2, 1, 1000],
    [3, 1, 2000],
    [4, 1, 4000],
    [5, 1, 8000],
    [6, 1, 16_000],
    [7, 1, 30_000], // 32 000 capped
    [8, 1, 30_000],
    [50, 1, 30_000],
    [2000, 1, 30_000], // 2^2000 is Infinity
    [7, 0.5, 15_000],
    [3, 0.999, 1998],
    [7, 0, 0],
  ];
  it.each(table)('attempt %i with random %f waits %i ms', (attempt, r, expected) => {
    expect(backoffDelay(attempt, DEFAULT_BACKOFF, () => r)).toBe(expected);
  });

  it('never leaves [0, window] even for a misbehaving random source', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 7)).toBe(250);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => -3)).toBe(0);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => Number.NaN)).toBe(0);
  });

  it('treats negative or fractional attempts as their floor, at least 0', () => {
    expect(backoffDelay(-1, DEFAULT_BACKOFF, () => 1)).toBe(250);
    expect(backoffDelay(2.7, DEFAULT_BACKOFF, () => 1)).toBe(1000);
  });

  it('honours a custom policy', () => {
    expect(backoffDelay(0, { baseMs: 10, capMs: 35 }, () => 1)).toBe(10);
    expect(backoffDelay(2, { baseMs: 10, capMs: 35 }, () => 1)).toBe(35);
  });

  it('uses the whole window with Math.random by default', () => {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('after a refusal (HTTP 401) the delay is the cap', () => {
    expect(refusedDelay()).toBe(30_000);
    expect(refusedDelay({ baseMs: 1, capMs: 77 })).toBe(77);
  });
});

describe('ReconnectBackoff (the link\'s attempt counter)', () => {
  it('widens the window with each failure and starts again after reset()', () => {
    const b = new ReconnectBackoff(DEFAULT_BACKOFF, () => 1);
    expect([b.next('CONNECT_FAILED'), b.next('CLOSED'), b.next('LIVENESS')]).toEqual([
      { delayMs: 250, attempt: 0 },
      { delayMs: 500, attempt: 1 },
      { delayMs: 1000, attempt: 2 },
    ]);
    b.reset();
    expect(b.next('CLOSED')).toEqual({ delayMs: 250, attempt: 0 });
  });

  it.each(['UNAUTHORIZED', 'PROXY_AUTH_REQUIRED', 'REPLACED'] as const)('after %s waits the cap and puts the counter at the cap', (code) => {
    const b = new ReconnectBackoff(DEFAULT_BACKOFF, () => 1);
    expect(b.next(code)).toEqual({ delayMs: 30_000, attempt: 0 });
    // 250 × 2^7 ≥ 30 000: the next ordinary failure's window is the cap too.
    expect(b.next('CLOSED')).toEqual({ delayMs: 30_000, attempt: 7 });
    expect(b.next('UNAUTHORIZED')).toEqual({ delayMs: 30_000, attempt: 8 });
  });
});
