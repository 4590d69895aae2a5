/** What the simulator counts, for tests and benchmarks (GET /__sim/stats, `stats()`). */

export interface PmpSimStats {
  /** PMP requests received (the admin endpoint is not counted), faulted ones included. */
  requests: number;
  /**
   * Password calls that PMP would audit: every authenticated GET of a
   * .../password path that was answered, Success or Failed, and every
   * getResourceAccountDetails call that reached the password checks.
   * Requests taken by an injected fault are not counted here (they are in
   * `requests`); a password change is not a fetch.
   */
  passwordFetches: number;
  /** Requests per path (query excluded, dot segments resolved). */
  byPath: Record<string, number>;
}

export class SimStats {
  private requests = 0;
  private passwordFetches = 0;
  private byPath = new Map<string, number>();

  /** A PMP request to `path` arrived (before faults and authentication). */
  countRequest(path: string): void {
    this.requests += 1;
    this.byPath.set(path, (this.byPath.get(path) ?? 0) + 1);
  }

  /** An authenticated password call is being answered. */
  countPasswordFetch(): void {
    this.passwordFetches += 1;
  }

  snapshot(): PmpSimStats {
    return { requests: this.requests, passwordFetches: this.passwordFetches, byPath: Object.fromEntries(this.byPath) };
  }

  reset(): void {
    this.requests = 0;
    this.passwordFetches = 0;
    this.byPath = new Map();
  }
}
