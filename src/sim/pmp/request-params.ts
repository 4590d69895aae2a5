import { parseInputDataText, type LenientObject, type LenientValue } from './input-data.js';

/**
 * The parameters of a PMP call: the query string and a form (or bare JSON)
 * body, merged as a servlet's getParameter sees them, and INPUT_DATA's
 * operation details.
 */

/** Form or JSON body parameters (PMP takes INPUT_DATA as a form field; Content-Type is not trusted). */
function bodyParams(body: string): URLSearchParams | undefined {
  const t = body.trim();
  if (t === '') return undefined;
  if (t.startsWith('{')) return new URLSearchParams({ INPUT_DATA: t });
  return new URLSearchParams(t);
}

/** Query and body parameters together; undefined when there are none. */
export function requestParams(query: string, body: string | undefined): URLSearchParams | undefined {
  let params = query === '' ? undefined : new URLSearchParams(query);
  if (body !== undefined) {
    const fromBody = bodyParams(body);
    if (fromBody) {
      // Query parameters win over the form, as in a servlet's getParameter.
      for (const [k, v] of fromBody) if (!params?.has(k)) (params ??= new URLSearchParams()).append(k, v);
    }
  }
  return params;
}

export interface InputData {
  reason: string;
  ticketId: string;
}

/** INPUT_DATA's `operation.Details`, as a handler reads it. */
export type InputDetails = Readonly<Record<string, LenientValue>>;

const NO_DETAILS: InputDetails = Object.freeze({});

/**
 * INPUT_DATA's `operation.Details`, read as leniently as PAM360 does
 * (input-data.ts): `{}` when there is no INPUT_DATA or it has no Details
 * object; undefined when it is malformed (the caller answers "not valid JSON").
 */
export function inputDetails(params: URLSearchParams | undefined): InputDetails | undefined {
  return detailsOf(params?.get('INPUT_DATA') ?? null);
}

/** `operation.Details` of an INPUT_DATA text (null: none given); undefined when it is malformed. */
function detailsOf(raw: string | null): InputDetails | undefined {
  if (raw === null) return NO_DETAILS;
  const parsed = parseInputDataText(raw);
  if (!parsed) return undefined;
  const op = parsed['operation'];
  const details = isObject(op) ? op['Details'] : undefined;
  return isObject(details) ? details : NO_DETAILS;
}

function isObject(v: LenientValue | undefined): v is LenientObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A Details value as text: a string trimmed, a number written out, anything else ''. */
export function detailText(details: InputDetails, key: string): string {
  const v = details[key];
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

/** INPUT_DATA's operation.Details REASON/TICKETID; undefined when INPUT_DATA is malformed. */
export function parseInputData(raw: string | null): InputData | undefined {
  const details = detailsOf(raw);
  if (!details) return undefined;
  return { reason: detailText(details, 'REASON'), ticketId: detailText(details, 'TICKETID') };
}
