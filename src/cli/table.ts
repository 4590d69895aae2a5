/** Left-aligned columns separated by two spaces; cells are single-line. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const clean = (s: string): string => s.replace(/\s*\n\s*/g, ' ');
  const all = [headers, ...rows].map((r) => r.map(clean));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
