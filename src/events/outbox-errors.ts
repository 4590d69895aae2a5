import { CredgwError } from '../shared/index.js';

/**
 * Why the outbox, or the state directory it lives in, cannot be used. Not a
 * protocol error (it never goes on the wire): it stops `credgw run` with one
 * line, or fails the one record that met it.
 */
export type OutboxErrorCode =
  /** The state directory setting is unusable (a relative path where only an absolute one is read). */
  | 'STATE_DIR_INVALID'
  /** The file was written by a newer credgw, in a format this one does not read: refused, never overwritten. */
  | 'OUTBOX_VERSION'
  /** The file is not an outbox, or cannot be read or written. */
  | 'OUTBOX_UNAVAILABLE'
  /** The outbox was closed (the daemon is stopping). */
  | 'OUTBOX_CLOSED';

export class OutboxError extends CredgwError<OutboxErrorCode> {
  override readonly name = 'OutboxError';
}
