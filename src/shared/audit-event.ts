import type { ErrorCode } from './errors.js';

/**
 * One audit record: one per listAccounts and one per getPassword command
 * this gateway answered itself (joins of an in-flight id add none). Never
 * carries a password. Written by the command layer, stored by the
 * telemetry audit sink: both import it from here.
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
