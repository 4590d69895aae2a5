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

/** INPUT_DATA's operation.Details REASON/TICKETID; undefined when the JSON is broken. */
export function parseInputData(raw: string | null): InputData | undefined {
  if (raw === null) return { reason: '', ticketId: '' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const details = (parsed as { operation?: { Details?: Record<string, unknown> } } | null)?.operation?.Details;
  const field = (k: string): string => {
    const v = details?.[k];
    return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  };
  return { reason: field('REASON'), ticketId: field('TICKETID') };
}
