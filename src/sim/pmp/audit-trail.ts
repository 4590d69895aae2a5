import { isoTime, type Clock } from '../../shared/index.js';

/**
 * The simulator's resource audit, as PAM360's Audit >> Resource Audit
 * keeps it: one row per operation on an account (access requests,
 * check-outs and check-ins, password changes), in memory, newest last,
 * served by GET /__sim/audit. A row never holds a password.
 */

/** At most this many rows are kept; the oldest go first. */
export const AUDIT_MAX_ROWS = 10_000;

export interface SimAuditRow {
  /** ISO 8601, on the simulator's clock. */
  time: string;
  /** PAM360's operation name, e.g. "Password Reset" (spaces; syslog puts underscores). */
  operation: string;
  /** Who did it: an API user's name, or the operator of an admin call. */
  operatedBy: string;
  /** Where from (PAM360's "IP Address" column). */
  operatedFrom: string;
  resourceName: string;
  accountName: string;
  status: 'Success' | 'Failed';
  reason: string;
  /** What else happened (request id, listener exit codes, syslog delivery); never a password. */
  detail?: Record<string, unknown>;
}

export class AuditTrail {
  private list: SimAuditRow[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly maxRows = AUDIT_MAX_ROWS,
  ) {}

  /** Appends a row stamped with the clock's time; returns it. */
  record(row: Omit<SimAuditRow, 'time'>): SimAuditRow {
    const full: SimAuditRow = { time: isoTime(this.clock.now()), ...row };
    this.list.push(full);
    if (this.list.length > this.maxRows) this.list.splice(0, this.list.length - this.maxRows);
    return full;
  }

  rows(): SimAuditRow[] {
    return this.list.slice();
  }

  clear(): void {
    this.list = [];
  }
}
