import { parseIsoTime } from './event-codec.js';
import { MAX_ACCESS_WINDOW_MS, type AccessWindow } from './messages.js';
import { isObject } from './validate.js';

/**
 * getPassword's access-request params (section 10, the `accessRequests`
 * extension): `requestAccess` and `accessWindow`. Pure. The bounds not
 * fixed by the design are ours, written in docs/protocol.md ("Access
 * requests: what section 10 left open").
 */

/** What decodeAccessParams keeps: both keys always present, so every decoded getPassword has one shape. */
export interface AccessParams {
  requestAccess: boolean | undefined;
  accessWindow: AccessWindow | undefined;
}

/** Start and end of an access window in ms since the epoch (the commands hand these to the vault). */
export interface AccessWindowMs {
  startMs: number;
  endMs: number;
}

const NO_ACCESS: AccessParams = Object.freeze({ requestAccess: undefined, accessWindow: undefined });

/**
 * `requestAccess`: absent or null (no request), or a boolean.
 * `accessWindow`: absent or null, or `{startTime, endTime}`, ISO 8601 times
 * with a zone, the end after the start and at most MAX_ACCESS_WINDOW_MS
 * later; only with `requestAccess: true`. A string says what is wrong (BAD_REQUEST).
 */
export function decodeAccessParams(p: Record<string, unknown>): AccessParams | string {
  const request = p['requestAccess'] ?? undefined;
  const window = p['accessWindow'] ?? undefined;
  if (request === undefined && window === undefined) return NO_ACCESS;
  if (request !== undefined && typeof request !== 'boolean') return 'params.requestAccess must be a boolean';
  if (window === undefined) return { requestAccess: request, accessWindow: undefined };
  if (request !== true) return 'params.accessWindow needs params.requestAccess: true';
  if (!isObject(window)) return 'params.accessWindow must be an object with startTime and endTime';
  const { startTime, endTime } = window;
  if (typeof startTime !== 'string' || typeof endTime !== 'string') {
    return 'params.accessWindow.startTime and endTime must be ISO 8601 times with a zone';
  }
  const times = accessWindowMs({ startTime, endTime });
  if (typeof times === 'string') return times;
  return { requestAccess: true, accessWindow: { startTime, endTime } };
}

/** The window's times in ms, or why they are unusable (the checks of decodeAccessParams). */
export function accessWindowMs(w: AccessWindow): AccessWindowMs | string {
  const startMs = parseIsoTime(w.startTime);
  const endMs = parseIsoTime(w.endTime);
  if (startMs === null || endMs === null) return 'params.accessWindow.startTime and endTime must be ISO 8601 times with a zone';
  if (endMs <= startMs) return 'params.accessWindow.endTime must be after startTime';
  if (endMs - startMs > MAX_ACCESS_WINDOW_MS) return `params.accessWindow may span at most ${MAX_ACCESS_WINDOW_MS / 86_400_000} days`;
  return { startMs, endMs };
}
