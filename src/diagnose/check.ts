/** One line of `credgw diagnose`, and how the lines are printed and counted. */

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** What is checked: "config", "controller", "vault pmp-prod", … */
  subject: string;
  /** Which check: "dns", "tls", "token", … */
  check: string;
  level: CheckLevel;
  /** One line, no secrets. */
  detail: string;
}

/** `ok    controller tls          detail` */
export function formatCheck(r: CheckResult): string {
  const level = r.level === 'fail' ? 'FAIL' : r.level;
  return `${level.padEnd(4)}  ${`${r.subject} ${r.check}`.padEnd(26)}  ${r.detail}`;
}

/** "12 ok, 1 warn, 0 FAIL". */
export function summarize(results: readonly CheckResult[]): { ok: number; warn: number; fail: number; line: string } {
  const n = (l: CheckLevel): number => results.filter((r) => r.level === l).length;
  const ok = n('ok');
  const warn = n('warn');
  const fail = n('fail');
  return { ok, warn, fail, line: `${ok} ok, ${warn} warn, ${fail} FAIL` };
}
