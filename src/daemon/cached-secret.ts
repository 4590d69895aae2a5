import type { SecretRef } from '../config/types.js';

/**
 * A secret read on first use and kept in memory until `forget()` (config
 * reload, SIGHUP) so the vault client does not read a file per request.
 * Concurrent first uses share one read. Never logged, never written.
 */
export class CachedSecret {
  private value: Promise<string> | null = null;

  constructor(
    readonly ref: SecretRef,
    private readonly read: (ref: SecretRef) => Promise<string>,
  ) {}

  get(): Promise<string> {
    if (!this.value) {
      const pending = this.read(this.ref);
      this.value = pending;
      // A failed read is not cached: the next use tries again (the file may appear).
      pending.catch(() => {
        if (this.value === pending) this.value = null;
      });
    }
    return this.value;
  }

  forget(): void {
    this.value = null;
  }
}
