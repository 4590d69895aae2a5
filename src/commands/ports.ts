import type { ResultDelivery, ResultMessage } from '../protocol/index.js';
import type { VaultProfile } from '../config/types.js';
import type { AuditEvent } from '../shared/audit-event.js';

export type { AuditEvent };
import type { VaultClient } from '../vault/types.js';

/**
 * The narrow ports the command layer needs. The daemon implements them with
 * the real vault clients, the HA role state and the link's sessions; unit
 * tests implement them with fakes. Nothing here is a concrete class.
 */

/** The vault profiles and their clients, looked up per command so a config reload can swap them. */
export interface VaultRegistry {
  get(name: string): { profile: VaultProfile; client: VaultClient } | undefined;
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
