/**
 * Times as a vault writes them: PAM360's audit line says `2019/09/23
 * 11:39:00` in its server's local time, and an RFC 3164 header says
 * `Sep 23 11:39:00` without a year. Both are read in the vault's IANA time
 * zone (configured; default UTC) so that both gateways of a pair turn the
 * same line into the same instant. Pure: the current time is a parameter.
 */

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** True when the fields name a real calendar date and time of day (no 30 February). */
export function validWallTime(t: WallTime): boolean {
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.hour > 23 || t.minute > 59 || t.second > 59) return false;
  return t.day <= new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
}

/** Throws RangeError when `timeZone` is not an IANA zone this Node knows. */
export function checkTimeZone(timeZone: string): void {
  if (timeZone !== 'UTC') new Intl.DateTimeFormat('en-US', { timeZone });
}

const formats = new Map<string, Intl.DateTimeFormat>();

function format(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(timeZone, f);
  }
  return f;
}

/** How far `timeZone`'s wall clock is ahead of UTC at instant `ms`. */
function offsetMs(ms: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of format(timeZone).formatToParts(new Date(ms))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!, p['second']!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a wall-clock time in `timeZone` names. In the hour a
 * daylight-saving change repeats, the earlier instant; in the hour it
 * skips, the time read with the offset before the change.
 */
export function wallTimeToUtcMs(t: WallTime, timeZone: string): number {
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  if (timeZone === 'UTC') return asUtc;
  // Zone changes are more than a day apart: the offsets 12 h either side are the only two in play.
  const before = offsetMs(asUtc - 43_200_000, timeZone);
  const after = offsetMs(asUtc + 43_200_000, timeZone);
  const valid = [asUtc - before, asUtc - after].filter((ms) => ms + offsetMs(ms, timeZone) === asUtc);
  return valid.length > 0 ? Math.min(...valid) : asUtc - before;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * An RFC 3164 time (`Sep 23 11:39:00`) as an instant: the year is the one
 * that puts it nearest before `nowMs` (a December line read in January is
 * last year's). Null when it is not such a time.
 */
export function bsdTimeToUtcMs(text: string, timeZone: string, nowMs: number): number | null {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)$/.exec(text);
  const month = m ? MONTHS.indexOf(m[1]!) + 1 : 0;
  if (!m || month === 0) return null;
  const nowYear = new Date(nowMs).getUTCFullYear();
  const at = (year: number): number | null => {
    const t = { year, month, day: Number(m[2]), hour: Number(m[3]), minute: Number(m[4]), second: Number(m[5]) };
    return validWallTime(t) ? wallTimeToUtcMs(t, timeZone) : null;
  };
  const dayMs = 86_400_000;
  const thisYear = at(nowYear);
  if (thisYear !== null && thisYear <= nowMs + dayMs) return thisYear;
  const lastYear = at(nowYear - 1);
  return lastYear ?? thisYear;
}
