import type { LinkFailureCode } from './link-errors.js';

/**
 * Reconnect delays of the controller link (protocol section 2): "full
 * jitter", delay = random(0, min(cap, base × 2^attempt)). The delay functions
 * are pure (the attempt, the policy and the random source are all inputs, so
 * the table test can pin every value); ReconnectBackoff keeps the counter.
 */

export interface BackoffPolicy {
  /** First window, in ms. Default 250 (protocol section 2). */
  readonly baseMs: number;
  /** Largest window, in ms. Default 30000 (protocol section 2). */
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 250, capMs: 30_000 });

/** A connection that stayed up this long resets the attempt counter (protocol section 2). */
export const BACKOFF_RESET_AFTER_MS = 60_000;

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry).
 * `random` returns a number in [0, 1]; the result is an integer in
 * [0, min(cap, base × 2^attempt)].
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // 2^n overflows to Infinity for large n; min() takes care of it.
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** n);
  const r = random();
  const clamped = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0;
  return Math.floor(clamped * window);
}

/**
 * The delay after the controller refused the token (HTTP 401), the proxy
 * refused its credentials (407), or a peer otherwise told the gateway not
 * to come straight back: the cap itself. Protocol
 * section 2 says the delay "starts at the cap" so that a wrong token cannot
 * hammer the controller; full jitter over [0, cap] could still retry at once.
 */
export function refusedDelay(policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return policy.capMs;
}

/**
 * Failures after which the next delay is the cap: coming straight back cannot help. A 407 is a
 * wrong proxy password, and retrying it quickly locks a directory-backed proxy account.
 */
const REFUSED: ReadonlySet<LinkFailureCode> = new Set<LinkFailureCode>(['UNAUTHORIZED', 'PROXY_AUTH_REQUIRED', 'REPLACED']);

/** The link's attempt counter and the delay each failed or ended connection earns. */
export class ReconnectBackoff {
  private attempt = 0;
  /** Attempts needed for the window to reach the cap (where a refusal puts the counter). */
  private readonly attemptsToCap: number;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number,
  ) {
    this.attemptsToCap = Math.max(0, Math.ceil(Math.log2(policy.capMs / policy.baseMs)));
  }

  /** A connection stayed up BACKOFF_RESET_AFTER_MS: the next delay starts from the first window again. */
  reset(): void {
    this.attempt = 0;
  }

  /** The delay before the next dial after a connection ended with `code`, and the attempt it was computed from. */
  next(code: LinkFailureCode): { delayMs: number; attempt: number } {
    const attempt = this.attempt;
    if (REFUSED.has(code)) {
      this.attempt = Math.max(this.attempt, this.attemptsToCap);
      return { delayMs: refusedDelay(this.policy), attempt };
    }
    this.attempt++;
    return { delayMs: backoffDelay(attempt, this.policy, this.random), attempt };
  }
}
