import { validWallTime } from './vault-time.js';

/**
 * A rotation notice: what a vault tells the gateway when a password
 * changed (shared/design/protocol.md sections 11 and 12). It never carries
 * a password, old or new. The listener and the syslog receiver make one and
 * hand it to the outbox through `NoticeRecorder`, which turns it into a
 * durable `credentialRotated` event.
 */

/** How the gateway learnt of the change (protocol section 11). */
export type NoticeSource = 'listener' | 'syslog' | 'audit';

export interface RotationNotice {
  /** The vault profile's name. */
  vault: string;
  resourceName: string;
  accountName: string;
  /** The resource's DNS name, when the vault said it. */
  dnsName?: string;
  /** ISO 8601 (toISOString form): the vault's time of the change, or the receive time when it gave none. */
  rotatedAt: string;
  source: NoticeSource;
}

/**
 * The outbox's side. `record` resolves only once the event is durable (on
 * disk); the same change recorded twice resolves with the same id.
 */
export interface NoticeRecorder {
  record(notice: RotationNotice): Promise<{ eventId: string }>;
}

/** Whether a vault profile takes notices: `unknown` (no such profile), `disabled` (rotationNotices off). */
export type VaultAcceptance = 'ok' | 'unknown' | 'disabled';

export interface NoticeVaults {
  vaultAccepts(name: string): VaultAcceptance;
}

/** Longest resourceName, accountName, dnsName and vault name (protocol section 12). */
export const NOTICE_TEXT_MAX = 512;

/**
 * An ISO 8601 date-time with a zone (`Z` or `±hh:mm`), normalised to
 * toISOString form, or null. A time without a zone is refused: the same
 * change must read the same on both gateways, whatever their local zone.
 */
export function normalizeRotatedAt(text: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  if (!validWallTime({ year, month, day, hour, minute, second })) return null;
  const withColonOffset = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(withColonOffset);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** True when a field name means a password (`password`, `oldPassword`, `NEWPASSWORD`, …). */
export function isPasswordFieldName(name: string): boolean {
  return /password/i.test(name);
}
