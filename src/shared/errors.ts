/**
 * The one error type of credgw. Its `code` is the stable string of the
 * protocol's error table (shared/design/protocol.md section 7); callers
 * branch on `code`, never on message text. Foreign failures (PMP `Failed`
 * envelopes, undici and TLS errors, ws close codes) are converted into a
 * GatewayError once, at the boundary where they are caught, with the
 * original kept as `cause`.
 */

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
  INTERNAL: true,
} as const;

export type ErrorCode = keyof typeof ERROR_RETRYABLE;

export const ERROR_CODES = Object.keys(ERROR_RETRYABLE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_RETRYABLE, value);
}

export interface GatewayErrorOptions {
  /** The failure this error stands for (undici error, TLS error, …). */
  cause?: unknown;
  /**
   * What the far side said, verbatim, for the logs (for example PMP's
   * `result.message`). Never a secret. Not sent to the controller unless
   * the message is built from it on purpose.
   */
  detail?: string;
}

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = ERROR_RETRYABLE[code];
    this.detail = options.detail;
  }

  /** The `error` object of a protocol `result` frame. */
  toWire(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
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
