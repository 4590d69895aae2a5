import { requesterOf, type RequestDetails } from './access-control.js';
import { parseWindowTime } from './access-answers.js';
import type { PmpHandler } from './handlers.js';
import { parseInputData } from './request-params.js';
import { MSG } from './responses.js';

/**
 * The PMP calls of PAM360's access control (routes.ts maps them): raise a
 * request, check a password in, list the requests. The state lives in
 * access-control.ts; these only read the call.
 */

/** INPUT_DATA's ACCESS, STARTTIME and ENDTIME; a string naming what is wrong, or the details. */
function accessDetails(raw: string | null, now: number): Omit<RequestDetails, 'reason' | 'ticketId'> | 'badAccess' | 'badWindow' {
  let d: Record<string, unknown> | undefined;
  try {
    d = raw === null ? undefined : (JSON.parse(raw) as { operation?: { Details?: Record<string, unknown> } } | null)?.operation?.Details;
  } catch {
    d = undefined; // parseInputData already refused broken JSON
  }
  const access = d?.['ACCESS'] ?? 'now';
  if (access !== 'now' && access !== 'later') return 'badAccess';
  if (access === 'now') return { access };
  const start = parseWindowTime(d?.['STARTTIME']);
  const end = parseWindowTime(d?.['ENDTIME']);
  if (start === undefined || end === undefined || end <= start || end <= now) return 'badWindow';
  return { access, window: { start, end } };
}

/** POST accounts/{accountId}/requestpassword */
export const requestPassword: PmpHandler = ({ args, params, responses, access, caller }) => {
  const op = access.answers.requestOperation;
  const found = access.account(args['accountId']!);
  if (!found) return responses.failed(op, MSG.accountNotFound);
  const raw = params?.get('INPUT_DATA') ?? null;
  const input = parseInputData(raw);
  if (!input) return responses.failed(op, MSG.badInputData);
  const acc = found.account.account;
  if (acc.accessDenied) return responses.failed(op, MSG.accessDenied);
  if (!acc.accessControlled) return responses.failed(op, access.answers.notAccessControlled);
  if (acc.ticketIdRequired && input.ticketId === '') return responses.failed(op, MSG.ticketRequired);
  if (acc.reasonRequired && input.reason === '') return responses.failed(op, MSG.reasonRequired);
  const details = accessDetails(raw, access.now());
  if (details === 'badAccess' || details === 'badWindow') return responses.failed(op, access.answers[details]);
  return access.raise(found.resource, found.account, requesterOf(caller), { reason: input.reason, ticketId: input.ticketId, ...details });
};

/** PUT accounts/{accountId}/checkin *(path and method unconfirmed: no page documents a check-in call)* */
export const checkInPassword: PmpHandler = ({ args, responses, access, caller }) => {
  const found = access.account(args['accountId']!);
  if (!found) return responses.failed(access.answers.checkInOperation, MSG.accountNotFound);
  return access.checkIn(found.account, requesterOf(caller), responses);
};

/** GET accounts/passwordaccessrequests */
export const passwordRequests: PmpHandler = ({ responses, access }) => access.listAnswer(responses);
