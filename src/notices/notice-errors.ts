/**
 * The notice listener's answers other than 202, each a stable code with one
 * HTTP status (protocol section 12; docs/protocol.md section 12 lists the
 * codes that section leaves open). Bodies are `{"error":{"code","message"}}`.
 */
export const NOTICE_ERROR_STATUS = {
  /** Not JSON, not an object, a required field missing or out of bounds. */
  BAD_BODY: 400,
  /** A field whose name contains "password", at any depth. */
  PASSWORD_FIELD: 400,
  /** Missing or wrong bearer token. */
  UNAUTHORIZED: 401,
  /** The source address is not in notices.allowFrom. */
  FORBIDDEN_SOURCE: 403,
  /** The vault profile exists but has rotationNotices off. */
  NOTICES_DISABLED: 403,
  /** No vault profile of that name. */
  UNKNOWN_VAULT: 404,
  /** A path other than /v1/notices/rotation. */
  NOT_FOUND: 404,
  /** Not a POST. */
  METHOD_NOT_ALLOWED: 405,
  /** Headers and body did not arrive within the request time-out. */
  REQUEST_TIMEOUT: 408,
  /** Body over 16 KiB (declared or sent). */
  BODY_TOO_LARGE: 413,
  /** A Content-Type other than application/json. */
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Over the per-source rate limit (Retry-After says when to come back). */
  RATE_LIMITED: 429,
  /** A bug; logged with its stack. */
  INTERNAL: 500,
  /** The event could not be made durable, or the listener is stopping: nothing was stored, send again. */
  UNAVAILABLE: 503,
} as const;

export type NoticeErrorCode = keyof typeof NOTICE_ERROR_STATUS;

export const NOTICE_ERROR_CODES = Object.keys(NOTICE_ERROR_STATUS) as NoticeErrorCode[];

/** A refusal of a notice: its code, and a message safe to send and log (never a field's value). */
export interface NoticeRefusal {
  code: NoticeErrorCode;
  message: string;
}

export function refusal(code: NoticeErrorCode, message: string): NoticeRefusal {
  return { code, message };
}
