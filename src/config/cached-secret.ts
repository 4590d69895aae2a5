import type { SecretRef } from './types.js';

/**
 * A secret read on first use and kept in memory until `forget()` (config
 * reload, SIGHUP) so the vault client does not read a file per request.
 * Concurrent first uses share one read; a failed read is not kept, so the
 * next use tries again (the file may appear). Never logged, never written.
 */
export class CachedSecret {
  /** The read under way, or the one that succeeded; null before the first use and after forget(). */
  private pending: Promise<string> | null = null;
  /** The value once `pending` has succeeded. */
  private known: string | undefined;

  constructor(
    readonly ref: SecretRef,
    private readonly load: (ref: SecretRef) => Promise<string>,
  ) {}

  /** The secret if a read has already succeeded (since the last forget()), without waiting; else undefined. */
  peek(): string | undefined {
    return this.known;
  }

  /** The secret: the one read so far, or a new read joined by every caller until it settles. */
  read(): Promise<string> {
    if (this.pending) return this.pending;
    const pending = this.load(this.ref);
    this.pending = pending;
    pending.then(
      (secret) => {
        if (this.pending === pending) this.known = secret;
      },
      () => {
        if (this.pending === pending) this.pending = null;
      },
    );
    return pending;
  }

  forget(): void {
    this.pending = null;
    this.known = undefined;
  }
}
