import type { ErrorCode } from '../shared/index.js';

/** What decoding a frame gives: a message, or why there is none (codec.ts and the extension decoders share it). */

/** A frame that cannot be used at all: logged, counted, not answered (section 8). */
export interface ProtocolViolation {
  kind: 'violation';
  reason: string;
}

/** The peer speaks another protocol version (close 4002). */
export interface VersionMismatch {
  kind: 'version';
  reason: string;
}

/** A command with a usable id whose other fields are wrong: answered with a result. */
export interface RejectedCommand {
  kind: 'rejected';
  id: string;
  /** The command's epoch when it was a valid number, else null. */
  epoch: number | null;
  code: Extract<ErrorCode, 'BAD_REQUEST' | 'UNKNOWN_COMMAND'>;
  message: string;
}

export type Decoded<T> = { kind: 'message'; message: T } | ProtocolViolation | VersionMismatch | RejectedCommand;
