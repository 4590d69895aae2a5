import type { Clock } from '../shared/index.js';

/**
 * The gateway's memory of the access requests it raised (protocol section
 * 10): bounded, in memory, keyed by vault and account; what is done with it
 * is in access-requests.ts.
 */

/** The hint sent with APPROVAL_PENDING (`error.retryAfterMs`): approvers are people, so half a minute. */
export const ACCESS_RETRY_AFTER_MS = 30_000;
/** A raised request is remembered this long at most (PAM360 voids requests not approved in time). */
export const PENDING_REQUEST_TTL_MS = 60 * 60_000;
/** At most this many requests are remembered; past it the oldest is forgotten. */
export const MAX_PENDING_REQUESTS = 10_000;

export interface PendingRequestsOptions {
  /** Default {@link PENDING_REQUEST_TTL_MS}. */
  ttlMs?: number;
  /** Default {@link MAX_PENDING_REQUESTS}. */
  maxEntries?: number;
}

/** A request the gateway raised (or saw waiting) and has not seen decided. */
export interface PendingRequest {
  /** The vault's ID of it, once known. */
  requestId: string | undefined;
  /** Monotonic time it was remembered. */
  readonly since: number;
  /** A list read or a raise for it is under way: commands meanwhile answer APPROVAL_PENDING and call nothing. */
  busy: boolean;
}

/** The requests waiting for approval, per vault and account: bounded, in memory; the vault's request list is the truth shared across restarts and gateways (access-requests.ts). */
export class PendingRequests {
  private readonly entries = new Map<string, PendingRequest>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly clock: Clock,
    options: PendingRequestsOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? PENDING_REQUEST_TTL_MS;
    this.maxEntries = options.maxEntries ?? MAX_PENDING_REQUESTS;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The remembered request of the account, unless it is older than the TTL (then it is forgotten). */
  get(vault: string, accountId: string): PendingRequest | undefined {
    const key = keyOf(vault, accountId);
    const entry = this.entries.get(key);
    if (entry !== undefined && this.clock.monotonic() - entry.since >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Remembers a request of the account (the one kept when there is one), the oldest forgotten past the bound. */
  remember(vault: string, accountId: string, requestId: string | undefined): PendingRequest {
    const existing = this.get(vault, accountId);
    if (existing !== undefined) {
      existing.requestId ??= requestId;
      return existing;
    }
    const entry: PendingRequest = { requestId, since: this.clock.monotonic(), busy: false };
    this.entries.set(keyOf(vault, accountId), entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return entry;
  }

  /** Forgets the account's request (only `entry`, when given and it is still the one remembered). */
  forget(vault: string, accountId: string, entry?: PendingRequest): void {
    const key = keyOf(vault, accountId);
    if (entry === undefined || this.entries.get(key) === entry) this.entries.delete(key);
  }
}

function keyOf(vault: string, accountId: string): string {
  return `${vault}\u0000${accountId}`;
}
