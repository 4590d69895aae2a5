import { isPasswordFieldName, normalizeRotatedAt, NOTICE_TEXT_MAX, type RotationNotice } from './notice.js';
import { refusal, type NoticeRefusal } from './notice-errors.js';

/**
 * Decodes the body of `POST /v1/notices/rotation` (protocol section 12).
 * Pure: the listener bounds the size before this runs. A field whose name
 * contains "password" anywhere in the document refuses the whole request,
 * before any other check, and the refusal names the field, never its value.
 * Fields other than the five of the contract are not read.
 */

/** Deepest nesting looked through for password fields; deeper is a bad body (no notice nests at all). */
export const NOTICE_BODY_MAX_DEPTH = 32;

export type DecodedNotice = { ok: true; notice: Omit<RotationNotice, 'source'> } | { ok: false; refusal: NoticeRefusal };

/** `receivedAt` (ISO) stands in for an absent rotatedAt. */
export function decodeNoticeBody(text: string, receivedAt: string): DecodedNotice {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('BAD_BODY', 'the body is not JSON');
  }
  if (!isObject(doc)) return fail('BAD_BODY', 'the body must be a JSON object');
  const shape = passwordFieldOrDepth(doc);
  if (shape === 'too deep') return fail('BAD_BODY', `the body nests deeper than ${NOTICE_BODY_MAX_DEPTH} levels`);
  if (shape !== null) return fail('PASSWORD_FIELD', `the body has a password field (${shape}); a notice must never carry a password`);

  const vault = text512(doc, 'vault', true);
  if (typeof vault !== 'string') return { ok: false, refusal: vault };
  const resourceName = text512(doc, 'resourceName', true);
  if (typeof resourceName !== 'string') return { ok: false, refusal: resourceName };
  const accountName = text512(doc, 'accountName', true);
  if (typeof accountName !== 'string') return { ok: false, refusal: accountName };
  const dnsName = text512(doc, 'dnsName', false);
  if (typeof dnsName === 'object') return { ok: false, refusal: dnsName };

  let rotatedAt = receivedAt;
  const rawTime = doc['rotatedAt'];
  if (rawTime !== undefined && rawTime !== null && rawTime !== '') {
    const t = typeof rawTime === 'string' ? normalizeRotatedAt(rawTime) : null;
    if (t === null) return fail('BAD_BODY', 'rotatedAt must be an ISO 8601 date-time with a zone (2026-12-03T10:15:02Z)');
    rotatedAt = t;
  }
  const notice: Omit<RotationNotice, 'source'> = { vault, resourceName, accountName, rotatedAt };
  if (dnsName !== '') notice.dnsName = dnsName;
  return { ok: true, notice };
}

function fail(code: NoticeRefusal['code'], message: string): DecodedNotice {
  return { ok: false, refusal: refusal(code, message) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A required field: a string of 1-512 characters without control
 * characters. An optional one may also be absent, null or empty (→ '').
 */
function text512(doc: Record<string, unknown>, key: string, required: boolean): string | NoticeRefusal {
  const v = doc[key];
  if (!required && (v === undefined || v === null || v === '')) return '';
  if (typeof v !== 'string' || v.length === 0) {
    return refusal('BAD_BODY', required ? `${key} is required (a string of 1-${NOTICE_TEXT_MAX} characters)` : `${key} must be a string`);
  }
  if (v.length > NOTICE_TEXT_MAX) return refusal('BAD_BODY', `${key} is longer than ${NOTICE_TEXT_MAX} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v)) return refusal('BAD_BODY', `${key} holds a control character`);
  return v;
}

/**
 * The path of the first field named like a password (`a.b[2].oldPassword`),
 * 'too deep', or null. Iterative, so a hostile nesting cannot overflow the
 * stack.
 */
function passwordFieldOrDepth(doc: Record<string, unknown>): string | 'too deep' | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: doc, path: '', depth: 1 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (item.depth > NOTICE_BODY_MAX_DEPTH) return 'too deep';
    if (Array.isArray(item.value)) {
      item.value.forEach((v, i) => {
        if (typeof v === 'object' && v !== null) stack.push({ value: v, path: `${item!.path}[${i}]`, depth: item!.depth + 1 });
      });
      continue;
    }
    for (const [key, v] of Object.entries(item.value as Record<string, unknown>)) {
      const path = item.path === '' ? key : `${item.path}.${key}`;
      if (isPasswordFieldName(key)) return path.length > 200 ? `${path.slice(0, 200)}…` : path;
      if (typeof v === 'object' && v !== null) stack.push({ value: v, path, depth: item.depth + 1 });
    }
  }
  return null;
}
