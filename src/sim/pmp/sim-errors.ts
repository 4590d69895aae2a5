import { CredgwError, type CredgwErrorOptions } from '../../shared/index.js';

/**
 * Errors of the simulator's own inputs (its data file, an injected fault).
 * They are not command results (GatewayError): the simulator is test equipment, and its
 * callers (the CLI, tests, benchmarks) branch on `code` and show the
 * message, which always names the key path at fault.
 */

export type PmpSimErrorCode =
  /** The data file could not be read or is not JSON. */
  | 'SIM_DATA_UNREADABLE'
  /** The data is JSON but breaks the format (see docs/pmp-simulator.md). */
  | 'SIM_DATA_INVALID'
  /** A fault given to inject() or POST /__sim/faults is malformed. */
  | 'SIM_FAULT_INVALID'
  /** An admin call (approve, reject, rotate) names no such request or account, or cannot apply (a request no longer pending). */
  | 'SIM_ADMIN_INVALID'
  /** A simulator option (access control, reset listener, syslog target) is malformed. */
  | 'SIM_OPTIONS_INVALID';

export class PmpSimError extends CredgwError<PmpSimErrorCode> {
  override readonly name = 'PmpSimError';
  /** Where in the input the problem is, e.g. `resources[0].accounts[2].id`; '' for the whole input. */
  readonly keyPath: string;

  constructor(code: PmpSimErrorCode, keyPath: string, problem: string, options?: CredgwErrorOptions) {
    super(code, keyPath ? `${keyPath}: ${problem}` : problem, options);
    this.keyPath = keyPath;
  }
}
