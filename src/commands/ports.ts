import type { ResultMessage } from '../protocol/index.js';
import type { ErrorCode } from '../shared/errors.js';
import type { VaultProfile } from '../config/types.js';
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
  /** Sends a result; false when the connection is gone (the result is dropped, the controller owns retries). */
  send(message: ResultMessage): boolean;
}

/**
 * One audit record: one per listAccounts and one per getPassword command
 * this gateway answered itself (joins of an in-flight id add none). Never
 * carries a password. Structurally identical to telemetry's AuditEvent
 * (commands may not import telemetry; a unit test holds the two together).
 */
export interface AuditEvent {
  /** ISO 8601 time the command finished. */
  time: string;
  event: 'getPassword' | 'listAccounts';
  commandId: string;
  epoch: number;
  gatewayId: string;
  /** params.requestedBy; null when not given (always null for listAccounts). */
  requestedBy: string | null;
  /** params.ticketId; null when not given. */
  ticketId: string | null;
  /** params.reason, present only when given. */
  reason?: string;
  vault: string;
  /** The value of the profile's resource attribute (PMP resource ID or name); null when not mapped or not reached. */
  resource: string | null;
  /** The resolved PMP resource ID; null when not reached. */
  resourceId: string | null;
  /** PMP account ID (getPassword); null for listAccounts. */
  accountId: string | null;
  /** PMP account name when it became known; null otherwise. */
  accountName: string | null;
  outcome: 'ok' | ErrorCode;
  /** The command asked for sealed delivery (recipientKey); the password, if any, went out only sealed. */
  sealed: boolean;
  durationMs: number;
}

export interface AuditSink {
  record(event: AuditEvent): void;
}
