/**
 * Errors of the simulator's own inputs (its data file, an injected fault).
 * They are not gateway errors: the simulator is test equipment, and its
 * callers (the CLI, tests, benchmarks) branch on `code` and show the
 * message, which always names the key path at fault.
 */

export type PmpSimErrorCode =
  /** The data file could not be read or is not JSON. */
  | 'SIM_DATA_UNREADABLE'
  /** The data is JSON but breaks the format (see docs/pmp-simulator.md). */
  | 'SIM_DATA_INVALID'
  /** A fault given to inject() or POST /__sim/faults is malformed. */
  | 'SIM_FAULT_INVALID';

export class PmpSimError extends Error {
  override readonly name = 'PmpSimError';
  readonly code: PmpSimErrorCode;
  /** Where in the input the problem is, e.g. `resources[0].accounts[2].id`; '' for the whole input. */
  readonly keyPath: string;

  constructor(code: PmpSimErrorCode, keyPath: string, problem: string, options?: { cause?: unknown }) {
    super(keyPath ? `${keyPath}: ${problem}` : problem, options);
    this.code = code;
    this.keyPath = keyPath;
  }
}
