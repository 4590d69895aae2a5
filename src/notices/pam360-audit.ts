import { normalizeRotatedAt } from './notice.js';
import { checkTimeZone, validWallTime, wallTimeToUtcMs } from './vault-time.js';
import { errorWithCode } from '../shared/index.js';

/**
 * Recognises a password reset in a PAM360/PMP audit line sent over syslog
 * and takes out the resource, the account and the vault's time of it.
 *
 * The documented shape (PAM360 help "integration_siemtools"; also PMP's
 * "SNMP Traps and Syslog Settings"): an RFC 3164 message whose text reads
 *
 *     admin: Account_Added 2019/09/23 11:39:00 Success pam_test windows-server1:account1:Testing
 *
 * operator, operation (spaces as underscores), date and time in the
 * vault's zone, status, the address the operator worked from, then
 * `resource:account:reason`. The names of the password-reset operations
 * are not in any page found (docs/pmp-admin.md), so they are configurable,
 * and so is the whole pattern, as a regular expression with named groups.
 * Pure.
 */

/** Operation names taken for a password change, until the operator says otherwise *(unconfirmed)*. */
export const DEFAULT_RESET_OPERATIONS: readonly string[] = Object.freeze([
  'Password_Changed',
  'Password_Reset',
  'Remote_Password_Reset',
  'Scheduled_Password_Reset',
]);

/**
 * The documented line, after up to three `name:` prefixes (the operator,
 * and whatever TAG a sender puts before it). Groups: operation, date,
 * time, status, resource,
 * account (required in any pattern: resource, account); a custom pattern
 * may also have dnsName and rotatedAt (ISO 8601).
 */
export const DEFAULT_AUDIT_PATTERN =
  String.raw`^(?:[^\s:[\]]+(?:\[\d*\])?:\s+){0,3}(?<operation>[A-Za-z][\w-]*)\s+(?<date>\d{4}[/-]\d{2}[/-]\d{2})\s+(?<time>\d{2}:\d{2}:\d{2})\s+(?<status>\S+)\s+(?<from>\S+)\s+(?<resource>[^:]+?):(?<account>[^:]+?)(?::(?<reason>.*))?$`;

export interface AuditRules {
  /** Operation names that mean a password changed; compared ignoring case, spaces, `_` and `-`. Default DEFAULT_RESET_OPERATIONS. */
  operations?: readonly string[];
  /** Regular expression with named groups (see DEFAULT_AUDIT_PATTERN). Default DEFAULT_AUDIT_PATTERN. */
  pattern?: string;
  /** IANA time zone of the vault's clock. Default UTC. */
  timeZone?: string;
}

export type AuditLine =
  /** A password change: rotatedAt is null when the line carries no time of its own. */
  | { kind: 'rotation'; operation: string; resourceName: string; accountName: string; dnsName?: string; rotatedAt: string | null }
  /** A reset the vault reports as failed: nothing changed. */
  | { kind: 'failed'; operation: string }
  /** Another operation, or not an audit line of this shape. */
  | { kind: 'other' };

export class AuditRulesError extends errorWithCode('AUDIT_RULES_INVALID') {
  override readonly name = 'AuditRulesError';
}

const MAX_NAME = 512;

export class Pam360AuditRecognizer {
  private readonly pattern: RegExp;
  private readonly operations: Set<string>;
  private readonly timeZone: string;

  /** Throws AuditRulesError for a pattern that does not compile or lacks a group, or an unknown time zone. */
  constructor(rules: AuditRules = {}) {
    const source = rules.pattern ?? DEFAULT_AUDIT_PATTERN;
    try {
      this.pattern = new RegExp(source, 'u');
    } catch (err) {
      throw new AuditRulesError(`notices.syslog.pattern does not compile (${(err as Error).message})`, { cause: err });
    }
    for (const group of ['resource', 'account']) {
      if (!source.includes(`(?<${group}>`)) throw new AuditRulesError(`notices.syslog.pattern needs a named group "${group}"`);
    }
    this.operations = new Set((rules.operations ?? DEFAULT_RESET_OPERATIONS).map(operationKey));
    this.timeZone = rules.timeZone ?? 'UTC';
    try {
      checkTimeZone(this.timeZone);
    } catch (err) {
      throw new AuditRulesError(`notices.syslog.timeZone ${JSON.stringify(this.timeZone)} is not a known time zone`, { cause: err });
    }
  }

  recognise(text: string): AuditLine {
    const g = this.pattern.exec(text)?.groups;
    if (!g) return { kind: 'other' };
    const operation = (g['operation'] ?? '').trim();
    // A pattern without an operation group is written for reset lines only.
    if (g['operation'] !== undefined && !this.operations.has(operationKey(operation))) return { kind: 'other' };
    if (g['status'] !== undefined && !/^succe/i.test(g['status'])) return { kind: 'failed', operation };
    const resourceName = clean(g['resource']);
    const accountName = clean(g['account']);
    if (!resourceName || !accountName) return { kind: 'other' };
    const line: AuditLine = { kind: 'rotation', operation, resourceName, accountName, rotatedAt: this.time(g) };
    const dnsName = clean(g['dnsName']);
    if (dnsName) line.dnsName = dnsName;
    return line;
  }

  /** The line's own time as ISO, or null. */
  private time(g: Record<string, string | undefined>): string | null {
    const iso = g['rotatedAt'];
    if (iso) {
      const zoned = normalizeRotatedAt(iso.trim());
      if (zoned) return zoned;
      const [date, time] = iso.trim().split(/[T ]/);
      return this.wall(date, time);
    }
    return this.wall(g['date'], g['time']);
  }

  private wall(date: string | undefined, time: string | undefined): string | null {
    const d = /^(\d{4})[/-](\d{2})[/-](\d{2})$/.exec(date ?? '');
    const t = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time ?? '');
    if (!d || !t) return null;
    const wall = { year: +d[1]!, month: +d[2]!, day: +d[3]!, hour: +t[1]!, minute: +t[2]!, second: +t[3]! };
    return validWallTime(wall) ? new Date(wallTimeToUtcMs(wall, this.timeZone)).toISOString() : null;
  }
}

/** `Password Reset`, `password_reset` and `PASSWORD-RESET` are one operation. */
export function operationKey(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_-]+/g, '_');
}

/** A name as the event may carry it: trimmed, at most 512 characters, no control characters; else ''. */
function clean(v: string | undefined): string {
  const s = (v ?? '').trim();
  return s.length <= MAX_NAME && !/[\u0000-\u001f\u007f]/.test(s) ? s : '';
}
