import type { SecretRef } from './types.js';

/**
 * A secret read on first use and kept in memory until `forget()` (config
 * reload, SIGHUP) so the vault client does not read a file per request.
 * Concurrent first uses share one read. Never logged, never written.
 */
export class CachedSecret {
  private value: Promise<string> | null = null;
  /** The value once the read has succeeded: handed out as it is, with no promise per use. */
  private known: string | undefined;

  constructor(
    readonly ref: SecretRef,
    private readonly read: (ref: SecretRef) => Promise<string>,
  ) {}

  /** The secret: a promise until the first read has finished, the string itself after. */
  get(): string | Promise<string> {
    if (this.known !== undefined) return this.known;
    if (!this.value) {
      const pending = this.read(this.ref);
      this.value = pending;
      pending.then(
        (secret) => {
          if (this.value === pending) this.known = secret;
        },
        // A failed read is not cached: the next use tries again (the file may appear).
        () => {
          if (this.value === pending) this.value = null;
        },
      );
    }
    return this.value;
  }

  forget(): void {
    this.value = null;
    this.known = undefined;
  }
}
