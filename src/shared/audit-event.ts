import type { ErrorCode } from './errors.js';

/**
 * One audit record: one per command this gateway answered itself (joins of
 * an in-flight id add none). Never carries a password. Written by the
 * command layer, stored by the telemetry audit sink: both import it from
 * here. A new field is declared here twice, in AuditEvent and in
 * AUDIT_LINE_FIELDS (the compiler checks the two agree); the audit line
 * follows from them.
 */
export interface AuditEvent {
  /** ISO 8601 time the command finished. */
  time: string;
  /** The command's name (protocol section 5). */
  event: string;
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
  /**
   * What the command did in the vault beyond its name, present only then:
   * `accessRequested` when a getPassword raised an access request (protocol
   * section 10). A check-in is its own event (`checkInPassword`).
   */
  action?: string;
  durationMs: number;
}

/** How a field is written in the audit line. */
export type AuditFieldKind =
  /** A JSON string; null when null. */
  | 'string'
  /** A JSON string; no key at all when undefined. */
  | 'optional-string'
  | 'number'
  | 'boolean';

/** The kind a field's type calls for. */
type KindOf<T> = [T] extends [number] ? 'number' : [T] extends [boolean] ? 'boolean' : undefined extends T ? 'optional-string' : 'string';

/**
 * The audit line's fields, in the order the line has them, with their
 * kinds: every field of AuditEvent exactly once, each of the kind its type
 * calls for (or this does not compile).
 */
export const AUDIT_LINE_FIELDS = {
  time: 'string',
  event: 'string',
  commandId: 'string',
  epoch: 'number',
  gatewayId: 'string',
  requestedBy: 'string',
  ticketId: 'string',
  reason: 'optional-string',
  vault: 'string',
  resource: 'string',
  resourceId: 'string',
  accountId: 'string',
  accountName: 'string',
  outcome: 'string',
  sealed: 'boolean',
  action: 'optional-string',
  durationMs: 'number',
} as const satisfies { readonly [K in keyof AuditEvent]-?: KindOf<AuditEvent[K]> };
