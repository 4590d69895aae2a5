import { CredgwError, type CredgwErrorOptions } from '../shared/index.js';

/**
 * A configuration that cannot be used. Not a protocol error (it never goes
 * on the wire): it stops `credgw run`, `credgw config validate` and every
 * rewrite, and it lists every problem, each led by its key path.
 */
export class ConfigError extends CredgwError<'CONFIG_INVALID'> {
  override readonly name = 'ConfigError';
  /** Every problem found, each `key.path: what is wrong`. */
  readonly problems: readonly string[];
  /** The file the problems are in, when known. */
  readonly source: string | undefined;

  constructor(problems: readonly string[], source?: string, options?: CredgwErrorOptions) {
    const where = source ? ` in ${source}` : '';
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super('CONFIG_INVALID', `invalid configuration${where} (${count}): ${problems.join('; ')}`, options);
    this.problems = Object.freeze([...problems]);
    this.source = source;
  }
}
