/**
 * Orders two strings by UTF-16 code unit, as Array#sort does by default:
 * stable across locales, and unlike localeCompare it loads no ICU data.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
