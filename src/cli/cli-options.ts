/** Parsing of numeric command-line options shared by subcommands. */

/** An integer option within [min, max]; throws a message naming the flag. */
export function intOption(value: string, flag: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Error(`${flag} must be an integer from ${min} to ${max} (got "${value}")`);
  }
  return Number(value);
}
