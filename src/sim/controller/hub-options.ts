import type { Logger } from 'pino';
import type { Clock } from '../../shared/index.js';
import type { EpochStore } from './epoch-store.js';

export interface HubOptions {
  /** Heartbeat announced in `welcome` (ms). */
  heartbeatMs: number;
  epochStore: EpochStore;
  clock: Clock;
  logger: Logger;
  /**
   * Extra time past a command's `timeoutMs` to wait for the gateway's own
   * DEADLINE_EXCEEDED before answering 504 ourselves. Default 2000.
   */
  resultGraceMs?: number;
  /**
   * How long a final result is kept (in memory only) so that a retried
   * submission with the same client-supplied `id` gets the same answer.
   * Default 60000.
   */
  resultRetentionMs?: number;
  /** At most this many retained results per cluster (oldest dropped first). Default 10000. */
  maxRetainedResults?: number;
}

export const DEFAULT_RESULT_GRACE_MS = 2_000;
export const DEFAULT_RESULT_RETENTION_MS = 60_000;
export const DEFAULT_MAX_RETAINED_RESULTS = 10_000;
