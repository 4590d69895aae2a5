/**
 * The error base of credgw (undici `core/errors.js`): every error credgw
 * throws is a CredgwError with a fixed `name` per class, a stable `code`
 * that callers branch on (never the message text) and the failure it stands
 * for kept as `cause`. A subclass exists where a caller branches on the
 * class or reads fields of its own; the CLI maps exit statuses by `code`.
 *
 * GatewayError is the subclass of command results: its `code` is the stable
 * string of the protocol's error table (shared/design/protocol.md section
 * 7). Foreign failures (PMP `Failed` envelopes, undici and TLS errors, ws
 * close codes) are converted into ours once, at the boundary where they are
 * caught, with the original kept as `cause`.
 */

export interface CredgwErrorOptions {
  /** The failure this error stands for (undici error, TLS error, errno error, …). */
  cause?: unknown;
}

export class CredgwError<C extends string = string> extends Error {
  override readonly name: string = 'CredgwError';
  /** Stable, SCREAMING_SNAKE_CASE: shown by the CLI as `error: CODE: message`, matched by callers. */
  readonly code: C;

  constructor(code: C, message: string, options: CredgwErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/**
 * The base of an error class that always carries one code: such a class
 * `extends errorWithCode('SOME_CODE')`, sets only its `name`, and is thrown
 * as `new SomeError(message, { cause })`.
 */
export function errorWithCode<C extends string>(code: C) {
  return class extends CredgwError<C> {
    constructor(message: string, options?: CredgwErrorOptions) {
      super(code, message, options);
    }
  };
}

/** Every code of protocol section 7 and whether a retry may succeed. */
export const ERROR_RETRYABLE = {
  BAD_REQUEST: false,
  UNKNOWN_COMMAND: false,
  NOT_ACTIVE: true,
  UNKNOWN_VAULT: false,
  RESOURCE_NOT_MAPPED: false,
  RESOURCE_NOT_FOUND: false,
  ACCOUNT_NOT_FOUND: false,
  TICKET_ID_REQUIRED: false,
  REASON_REQUIRED: false,
  APPROVAL_REQUIRED: false,
  ACCESS_DENIED: false,
  POLICY_DENIED: false,
  VAULT_UNREACHABLE: true,
  VAULT_TLS_ERROR: false,
  VAULT_TIMEOUT: true,
  VAULT_ERROR: true,
  DEADLINE_EXCEEDED: true,
  OVERLOADED: true,
  RESULT_TOO_LARGE: false,
  RESOURCE_AMBIGUOUS: false,
  APPROVAL_PENDING: true,
  APPROVAL_DENIED: false,
  CHECKED_OUT: true,
  INTERNAL: true,
} as const;

export type ErrorCode = keyof typeof ERROR_RETRYABLE;

export const ERROR_CODES = Object.keys(ERROR_RETRYABLE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_RETRYABLE, value);
}

export interface GatewayErrorOptions extends CredgwErrorOptions {
  /**
   * What the far side said, verbatim, for the logs (for example PMP's
   * `result.message`). Never a secret. Not sent to the controller unless
   * the message is built from it on purpose.
   */
  detail?: string;
  /**
   * A hint for the controller: when a retry is worth making, in ms (sent as
   * `error.retryAfterMs`; APPROVAL_PENDING, protocol section 10). Default none.
   */
  retryAfterMs?: number;
}

/** The `error` object of a protocol `result` frame. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  /** When a retry is worth making, in ms: a hint, present only where the code gives one (APPROVAL_PENDING). */
  retryAfterMs?: number;
}

/** A command's failure, as a `result` frame carries it. */
export class GatewayError extends CredgwError<ErrorCode> {
  override readonly name = 'GatewayError';
  readonly retryable: boolean;
  readonly detail: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(code, message, options);
    this.retryable = ERROR_RETRYABLE[code];
    this.detail = options.detail;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The `error` object of a protocol `result` frame. */
  toWire(): WireError {
    return this.retryAfterMs === undefined
      ? { code: this.code, message: this.message, retryable: this.retryable }
      : { code: this.code, message: this.message, retryable: this.retryable, retryAfterMs: this.retryAfterMs };
  }
}

/**
 * Wraps anything thrown into a GatewayError; a GatewayError passes through.
 * Unknown failures become INTERNAL (a bug), keeping the original as cause.
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('INTERNAL', 'internal error', { cause: err });
}
