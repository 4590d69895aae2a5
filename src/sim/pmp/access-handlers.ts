import { requesterOf, type RequestDetails } from './access-control.js';
import { parseWindowTime } from './access-answers.js';
import type { PmpCall, PmpHandler } from './handlers.js';
import { detailText, inputDetails, type InputDetails } from './request-params.js';
import { MSG, visibleFrom } from './responses.js';

/**
 * The PMP calls of PAM360's access control (routes.ts maps them): raise a
 * request, check a password in, list the requests. The state lives in
 * access-control.ts; these only read the call.
 */

/** INPUT_DATA's ACCESS, STARTTIME and ENDTIME (read as leniently as REASON); a string naming what is wrong, or the details. */
function accessDetails(d: InputDetails, now: number): Omit<RequestDetails, 'reason' | 'ticketId'> | 'badAccess' | 'badWindow' {
  const access = d['ACCESS'] ?? 'now';
  if (access !== 'now' && access !== 'later') return 'badAccess';
  if (access === 'now') return { access };
  const start = parseWindowTime(d['STARTTIME']);
  const end = parseWindowTime(d['ENDTIME']);
  if (start === undefined || end === undefined || end <= start || end <= now) return 'badWindow';
  return { access, window: { start, end } };
}

/** The account by id, if its resource is in the caller's organisation (as the resource calls see it). */
function visibleAccount({ access, caller, args }: PmpCall): ReturnType<PmpCall['access']['account']> {
  const found = access.account(args['accountId']!);
  return found && visibleFrom(found.resource, caller.org) ? found : undefined;
}

/** POST accounts/{accountId}/requestpassword */
export const requestPassword: PmpHandler = (call) => {
  const { params, responses, access, caller } = call;
  const op = access.answers.requestOperation;
  const found = visibleAccount(call);
  if (!found) return responses.failed(op, MSG.accountNotFound);
  const d = inputDetails(params);
  if (!d) return responses.failed(op, MSG.badInputData);
  const input = { reason: detailText(d, 'REASON'), ticketId: detailText(d, 'TICKETID') };
  const acc = found.account.account;
  if (acc.accessDenied) return responses.failed(op, MSG.accessDenied);
  if (!acc.accessControlled) return responses.failed(op, access.answers.notAccessControlled);
  if (acc.ticketIdRequired && input.ticketId === '') return responses.failed(op, MSG.ticketRequired);
  if (acc.reasonRequired && input.reason === '') return responses.failed(op, MSG.reasonRequired);
  const details = accessDetails(d, access.now());
  if (details === 'badAccess' || details === 'badWindow') return responses.failed(op, access.answers[details]);
  return access.raise(found.resource, found.account, requesterOf(caller), { reason: input.reason, ticketId: input.ticketId, ...details });
};

/** PUT accounts/{accountId}/checkin *(path and method unconfirmed: no page documents a check-in call)* */
export const checkInPassword: PmpHandler = (call) => {
  const { responses, access, caller } = call;
  const found = visibleAccount(call);
  if (!found) return responses.failed(access.answers.checkInOperation, MSG.accountNotFound);
  return access.checkIn(found.account, requesterOf(caller), responses);
};

/** GET accounts/passwordaccessrequests */
export const passwordRequests: PmpHandler = ({ responses, access }) => access.listAnswer(responses);
