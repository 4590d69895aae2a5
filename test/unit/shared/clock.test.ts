import { elapsedMs, isoTime } from '../../../src/shared/clock.js';

describe('isoTime (audit event times)', () => {
  it('formats each instant as Date does, also right after a different one', () => {
    const instants = [0, 1_700_000_000_123, 1_700_000_000_123, 1_700_000_000_124, 0, 1_700_000_000_123];
    for (const ms of instants) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('elapsedMs (durations in audit lines, logs and metrics)', () => {
  it('is the time since the start, never negative, to the microsecond', () => {
    const at = (now: number) => ({ monotonic: () => now }) as Parameters<typeof elapsedMs>[0];
    expect(elapsedMs(at(10.8471000000000011), 10)).toBe(0.847);
    expect(elapsedMs(at(1234.5678), 1000)).toBe(234.568);
    expect(elapsedMs(at(5), 7)).toBe(0);
    expect(elapsedMs(at(12), 2)).toBe(10);
  });
});
