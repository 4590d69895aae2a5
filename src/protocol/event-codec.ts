import type { Decoded, ProtocolViolation } from './decoded.js';
import {
  EVENT_NAMES,
  EVENT_SOURCES,
  type AckMessage,
  type CredentialRotatedData,
  type EventMessage,
  type EventName,
  type EventSource,
} from './messages.js';
import { isId, isNonEmptyString, isObject } from './validate.js';

/**
 * The `event` and `ack` frames of section 11: validation of a parsed frame
 * object (as decodeControllerFrame / decodeGatewayFrame hand it to their
 * per-type decoders) and encoding. Pure. Limits not fixed by the design are
 * ours, written in docs/protocol.md ("Events: what section 11 left open").
 */

export const EVENT_LIMITS = {
  vaultName: 128,
  /** resourceName and accountName: the notice listener's bound (section 12). */
  name: 512,
  dnsName: 512,
  /** resourceId and accountId: PMP IDs, digits. */
  vaultId: 64,
  /** An ISO 8601 time with a zone; nine fraction digits fit with room. */
  time: 64,
} as const;

function violation(reason: string): ProtocolViolation {
  return { kind: 'violation', reason };
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds since the epoch of an RFC 3339 time with its zone
 * (`2026-12-03T10:15:02Z`, `…02.120Z`, `…02+01:00`), or null. A time without
 * a zone is refused: its instant would depend on the reader's zone. Digits
 * past the millisecond are cut, not rounded (no second boundary is crossed).
 * Years before 1970 are refused too (no vault changed a password then, and
 * Date.UTC would read years 0-99 as 1900-1999).
 */
export function parseIsoTime(text: string): number | null {
  if (text.length > EVENT_LIMITS.time) return null;
  const m = ISO_TIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1970 || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  let at = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31 April over into 1 May: a day that does not exist is refused.
  if (new Date(at).getUTCDate() !== day) return null;
  const zone = m[8]!;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(4, 6));
    if (zh > 23 || zm > 59) return null;
    at -= sign * (zh * 60 + zm) * 60_000;
  }
  return Number.isFinite(at) ? at : null;
}

function isVaultId(v: unknown): v is string {
  return typeof v === 'string' && v.length <= EVENT_LIMITS.vaultId && /^\d+$/.test(v);
}

/** A data key that names a password in any case (`password`, `newPassword`, `OLDPASSWORD`). */
function hasPasswordKey(data: Record<string, unknown>): boolean {
  return Object.keys(data).some((k) => /password/i.test(k));
}

/**
 * Validates an `event` frame (gateway → controller). Unknown fields are
 * dropped, everywhere; a data field named like a password makes the frame a
 * violation, so that nothing downstream ever stores one.
 */
export function decodeEvent(v: Record<string, unknown>): Decoded<EventMessage> {
  const id = v['id'];
  if (!isId(id)) return violation('event.id must be 1-128 characters of [A-Za-z0-9._:-]');
  const name = v['name'];
  if (typeof name !== 'string' || !(EVENT_NAMES as readonly string[]).includes(name)) return violation('event.name is not a known event');
  const d = v['data'];
  if (!isObject(d)) return violation('event.data must be an object');
  if (hasPasswordKey(d)) return violation('event.data must not carry a password field');
  if (!isNonEmptyString(d['vault'], EVENT_LIMITS.vaultName)) return violation(`event.data.vault must be a string of 1-${EVENT_LIMITS.vaultName} characters`);
  for (const key of ['resourceName', 'accountName'] as const) {
    if (!isNonEmptyString(d[key], EVENT_LIMITS.name)) return violation(`event.data.${key} must be a string of 1-${EVENT_LIMITS.name} characters`);
  }
  for (const key of ['resourceId', 'accountId'] as const) {
    if (d[key] !== undefined && !isVaultId(d[key])) return violation(`event.data.${key} must be a string of 1-${EVENT_LIMITS.vaultId} digits`);
  }
  const dnsName = d['dnsName'];
  if (dnsName !== undefined && !isNonEmptyString(dnsName, EVENT_LIMITS.dnsName)) {
    return violation(`event.data.dnsName must be a string of 1-${EVENT_LIMITS.dnsName} characters`);
  }
  const rotatedAt = d['rotatedAt'];
  if (typeof rotatedAt !== 'string' || parseIsoTime(rotatedAt) === null) return violation('event.data.rotatedAt must be an ISO 8601 time with a zone');
  const source = d['source'];
  if (typeof source !== 'string' || !(EVENT_SOURCES as readonly string[]).includes(source)) {
    return violation(`event.data.source must be one of ${EVENT_SOURCES.join(', ')}`);
  }
  const data: CredentialRotatedData = {
    vault: d['vault'],
    ...(d['resourceId'] !== undefined ? { resourceId: d['resourceId'] as string } : {}),
    resourceName: d['resourceName'] as string,
    ...(dnsName !== undefined ? { dnsName } : {}),
    ...(d['accountId'] !== undefined ? { accountId: d['accountId'] as string } : {}),
    accountName: d['accountName'] as string,
    rotatedAt,
    source: source as EventSource,
  };
  return { kind: 'message', message: { type: 'event', id, name: name as EventName, data } };
}

/** Validates an `ack` frame (controller → gateway): an id, nothing else read. */
export function decodeAck(v: Record<string, unknown>): Decoded<AckMessage> {
  const id = v['id'];
  if (!isId(id)) return violation('ack.id must be 1-128 characters of [A-Za-z0-9._:-]');
  return { kind: 'message', message: { type: 'ack', id } };
}

/** One frame's text; messages are plain data, as for every other frame. */
export function encodeEventFrame(message: EventMessage | AckMessage): string {
  return JSON.stringify(message);
}
