/**
 * A configuration that cannot be used. Not a protocol error (it never goes
 * on the wire): it stops `credgw run`, `credgw config validate` and every
 * rewrite, and it lists every problem, each led by its key path.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Stable code for the CLI's one-line errors. */
  readonly code = 'CONFIG_INVALID';
  /** Every problem found, each `key.path: what is wrong`. */
  readonly problems: readonly string[];
  /** The file the problems are in, when known. */
  readonly source: string | undefined;

  constructor(problems: readonly string[], source?: string, options?: { cause?: unknown }) {
    const where = source ? ` in ${source}` : '';
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration${where} (${count}): ${problems.join('; ')}`, options);
    this.problems = Object.freeze([...problems]);
    this.source = source;
  }
}
