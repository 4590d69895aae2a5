import type { ResultDelivery, ResultMessage } from '../protocol/index.js';
import type { VaultProfile } from '../config/types.js';
import type { AuditEvent } from '../shared/audit-event.js';

export type { AuditEvent };
import type { PmpAccount, VaultClient } from '../vault/types.js';

export type { PmpAccount };

/**
 * The narrow ports the command layer needs. The daemon implements them with
 * the real vault clients, the HA role state and the link's sessions; unit
 * tests implement them with fakes. Nothing here is a concrete class.
 */

/**
 * The vault profiles and their clients, taken per command so a config
 * reload can swap them. A command holds what it took until it has finished:
 * a reload closes a replaced client only once no command holds it.
 */
export interface VaultRegistry {
  acquire(name: string): VaultLease | undefined;
}

/** One vault profile and its client, held by a command until `release()` (exactly once). */
export interface VaultLease {
  readonly profile: VaultProfile;
  readonly client: VaultClient;
  release(): void;
}

/** The gateway's role as the controller last told it (protocol section 4). */
export interface RoleState {
  /** 'unknown' until the first welcome (or while disconnected, as the HA module decides). */
  role: 'active' | 'standby' | 'unknown';
  /** The epoch of the current grant; null when none is known. */
  epoch: number | null;
}

export interface RolePort {
  current(): RoleState;
}

/** One controller connection: results go back only on the connection a command came in on. */
export interface ReplyPort {
  /**
   * Sends a result: 'sent'; 'replaced' by RESULT_TOO_LARGE when it would not
   * fit in a frame; 'gone' when the connection is (the result is dropped,
   * the controller owns retries).
   */
  sendResult(message: ResultMessage): ResultDelivery;
}

export interface AuditSink {
  record(event: AuditEvent): void;
}
