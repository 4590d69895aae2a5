import type { Logger } from 'pino';
import type { PmpSimAccount, PmpSimResource } from './sim-data.js';

/**
 * Where other parts of the simulator (and tests) hear of state changes made
 * through the API. A listener runs after the change is stored and before
 * the answer is written; one that throws is logged and does not stop the
 * others or the answer.
 */

/** Called after an account's stored password changed (its new value is `account.password`). */
export type PasswordChangedListener = (resource: PmpSimResource, account: PmpSimAccount) => void;

export class SimHooks {
  private readonly passwordChanged = new Set<PasswordChangedListener>();

  constructor(private readonly log: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  onPasswordChanged(listener: PasswordChangedListener): () => void {
    this.passwordChanged.add(listener);
    return () => {
      this.passwordChanged.delete(listener);
    };
  }

  emitPasswordChanged(resource: PmpSimResource, account: PmpSimAccount): void {
    for (const listener of [...this.passwordChanged]) {
      try {
        listener(resource, account);
      } catch (err) {
        this.log.warn({ err, resourceId: resource.id, accountId: account.id }, 'pmp simulator password-changed listener failed');
      }
    }
  }
}
