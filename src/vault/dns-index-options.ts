import type { Logger } from 'pino';
import type { VaultProfile } from '../config/index.js';
import type { Clock, TransitionTable } from '../shared/index.js';
import type { ResourceDirectory } from './types.js';

/** The options, states and answers of a DNS-name index (dns-index.ts). */

export type DnsIndexState =
  /** Built, not started. */
  | 'idle'
  /** The first pass runs: a miss waits. */
  | 'building'
  /** Complete: a miss re-lists (rate-limited) and then answers. */
  | 'ready'
  /** Stopped for good: no calls, lookups fail. */
  | 'stopped';

export const DNS_INDEX_TRANSITIONS: TransitionTable<DnsIndexState> = {
  idle: ['building', 'stopped'],
  building: ['ready', 'stopped'],
  ready: ['stopped'],
  stopped: [],
};

/** Shortest time between two re-lists that misses cause. */
export const MISS_RELIST_INTERVAL_MS = 30_000;
/** Pause of every call after one failed for a reason that may pass (vault down, time-out). */
export const RETRY_DELAY_MS = 30_000;

export interface DnsIndexOptions {
  vault: ResourceDirectory;
  clock: Clock;
  logger: Logger;
  /** Vault calls per minute for building and refreshing; never more in any 60 s. */
  maxCallsPerMinute: number;
  /** Pause between the end of one pass and the next. */
  refreshIntervalMs: number;
  /** Default MISS_RELIST_INTERVAL_MS. */
  missRelistIntervalMs?: number;
  /** Default RETRY_DELAY_MS. */
  retryDelayMs?: number;
}

/** What a lookup finds. */
export interface DnsMatch {
  id: string;
  name: string;
}

export interface DnsIndexStats {
  state: DnsIndexState;
  resources: number;
  addresses: number;
  /** Calls made since start. */
  calls: number;
  /** Calls waiting for the budget. */
  queued: number;
}

/** True when the profile finds resources by host name or IP, so its index must be kept. */
export function needsDnsIndex(profile: Pick<VaultProfile, 'resourceMatch'>): boolean {
  return profile.resourceMatch.some((way) => way !== 'attribute');
}
