import { table } from './table.js';

/**
 * What the demo prints: one line per step as it finishes (with detail lines
 * under it), and a compact table at the end. Passwords only ever pass
 * through {@link maskSecret} unless the user asked for `--reveal`.
 */

export type StepOutcome = 'ok' | 'failed' | 'interrupted';

export interface StepRecord {
  n: number;
  title: string;
  outcome: StepOutcome;
  /** One line: what happened. */
  summary: string;
  /** Duration of the step, or the figure the step measures. */
  ms: number | null;
}

/** `123 ms` under a second, else `1.23 s`. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/**
 * A form of a password that shows it was fetched without showing it: the
 * first two characters (none for a short one), a mask and the length.
 */
export function maskSecret(secret: string): string {
  const head = secret.length >= 8 ? secret.slice(0, 2) : '';
  return `${head}••• (${secret.length} chars)`;
}

/** Title column width of the step lines. */
const TITLE_WIDTH = 24;

export function stepLine(record: StepRecord, total: number): string {
  const num = `${String(record.n).padStart(String(total).length)}/${total}`;
  const mark = record.outcome === 'ok' ? '✓' : record.outcome === 'failed' ? '✗' : '!';
  if (record.outcome === 'interrupted') return `${mark} ${num}  ${record.title.padEnd(TITLE_WIDTH)} interrupted  (${formatMs(record.ms)})`;
  return `${mark} ${num}  ${record.title.padEnd(TITLE_WIDTH)} ${record.summary}  (${formatMs(record.ms)})`;
}

export function detailLine(text: string): string {
  return `        ${text}`;
}

export function summaryTable(records: readonly StepRecord[]): string {
  return table(
    ['#', 'step', 'result', 'time'],
    records.map((r) => [String(r.n), r.title, r.outcome === 'ok' ? 'ok' : r.outcome.toUpperCase(), formatMs(r.ms)]),
  );
}
