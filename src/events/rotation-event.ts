import { createHash } from 'node:crypto';
import { decodeEvent, type EventMessage, type EventSource } from '../protocol/index.js';
import { GatewayError } from '../shared/index.js';

/**
 * A password change as a source reported it (the reset-listener script, a
 * syslog line, an audit record), before it becomes a `credentialRotated`
 * event. It has no field for a password: nothing a source sent beyond these
 * fields reaches the event.
 */
export interface RotationNotice {
  /** The vault profile's name. */
  vault: string;
  /** As the vault knows it (the listener's argument, the syslog line's field). */
  resourceName: string;
  accountName: string;
  /**
   * The vault's time of the change in ms since the epoch (parseIsoTime of
   * what the source said; the receive time when it said nothing).
   */
  rotatedAtMs: number;
  source: EventSource;
  /** PMP's IDs, when the gateway resolved the names; an empty string counts as absent. */
  resourceId?: string | undefined;
  accountId?: string | undefined;
  dnsName?: string | undefined;
}

/** Hex digits of the SHA-256 kept in an event id: 128 bits, no collision in any outbox's lifetime. */
export const EVENT_ID_HEX_DIGITS = 32;

/**
 * The event id of a change: "ev-" and the SHA-256 of the event name, the
 * vault, the resource and account names (NFC, case kept) and the change's
 * time floored to the whole second. Every source and both gateways of a
 * pair compute it alike, so the controller keeps one event per change.
 * Why these choices: docs/protocol.md, "Events: what section 11 left open".
 */
export function rotationEventId(n: Pick<RotationNotice, 'vault' | 'resourceName' | 'accountName' | 'rotatedAtMs'>): string {
  // A JSON array keeps the fields apart whatever characters they hold.
  const key = JSON.stringify(['credentialRotated', n.vault, n.resourceName.normalize('NFC'), n.accountName.normalize('NFC'), Math.floor(n.rotatedAtMs / 1000)]);
  return `ev-${createHash('sha256').update(key).digest('hex').slice(0, EVENT_ID_HEX_DIGITS)}`;
}

/** Latest instant a Date can hold (ECMAScript's ±8.64e15 ms). */
const MAX_TIME_MS = 8.64e15;

/**
 * The `credentialRotated` event of a notice, validated by the same decoder
 * the controller applies to the frame (so the gateway never stores an event
 * it would be refused for). A notice that breaks it is BAD_REQUEST, with the
 * decoder's reason.
 */
export function buildRotationEvent(n: RotationNotice): EventMessage {
  if (!Number.isFinite(n.rotatedAtMs) || Math.abs(n.rotatedAtMs) > MAX_TIME_MS) {
    throw new GatewayError('BAD_REQUEST', 'rotatedAt is not a time');
  }
  // Field by field: a notice object with more in it (a password a caller forgot to drop) adds nothing.
  const candidate = {
    id: rotationEventId(n),
    name: 'credentialRotated',
    data: {
      vault: n.vault,
      resourceId: present(n.resourceId),
      resourceName: n.resourceName,
      dnsName: present(n.dnsName),
      accountId: present(n.accountId),
      accountName: n.accountName,
      rotatedAt: new Date(n.rotatedAtMs).toISOString(),
      source: n.source,
    },
  };
  const decoded = decodeEvent(candidate);
  if (decoded.kind !== 'message') throw new GatewayError('BAD_REQUEST', decoded.kind === 'violation' ? decoded.reason.replace(/^event\.(data\.)?/, '') : 'not an event');
  return decoded.message;
}

function present(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
