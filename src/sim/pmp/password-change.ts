import { randomBytes } from 'node:crypto';
import { visibleResource, type PmpHandler } from './handlers.js';
import { detailText, inputDetails } from './request-params.js';
import { envelope, MSG, OK_MSG, OP, storePassword } from './responses.js';

/**
 * `PUT resources/{RID}/accounts/{AID}/password`: changes the stored password,
 * as PAM360's "Edit the Password of an Account" page describes (INPUT_DATA
 * `NEWPASSWORD`, `RESETTYPE` LOCAL or REMOTE, `REASON`, `TICKETID`, all
 * optional), and tells the simulator's password-changed listeners. The
 * Success answer is the one PAM360's integration pack recorded. Without
 * NEWPASSWORD a new password is generated *(unconfirmed)*; the failures'
 * wordings are *(unconfirmed)*. REMOTE is stored like LOCAL: the simulator
 * has no remote system to reset.
 */

const RESET_TYPES = new Set(['LOCAL', 'REMOTE']);

export const changePassword: PmpHandler = (call) => {
  const { args, responses, hooks } = call;
  const r = visibleResource(call, args['resourceId']);
  if (!r) return responses.failed(OP.changePassword, MSG.resourceNotFound);
  const a = r.byId.get(args['accountId']!);
  if (!a) return responses.failed(OP.changePassword, MSG.accountNotFound);
  const details = inputDetails(call.params);
  if (!details) return responses.failed(OP.changePassword, MSG.badInputData);
  if (a.account.accessDenied) return responses.failed(OP.changePassword, MSG.changeDenied);
  if (!RESET_TYPES.has(detailText(details, 'RESETTYPE').toUpperCase() || 'LOCAL')) return responses.failed(OP.changePassword, MSG.badResetType);
  // A password is taken as sent (spaces are characters); a number as written.
  const given = details['NEWPASSWORD'];
  const newPassword =
    typeof given === 'string' && given !== '' ? given : typeof given === 'number' ? String(given) : randomBytes(12).toString('base64url');
  storePassword(a, newPassword);
  hooks.emitPasswordChanged(r.resource, a.account);
  return envelope(OP.changePassword, OK_MSG.passwordChanged);
};
