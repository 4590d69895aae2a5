import { GatewayError } from '../shared/index.js';
import type { PmpAccount } from './types.js';

/**
 * The checks of an account's flags (from its resource's account list) that
 * come before any call that hands out or asks for its password: the
 * password call and an access request carry the same ticket and reason, so
 * they are refused alike, without a request to the vault.
 */

/** The ticket ID and reason a call carries: blank counts as absent. */
export interface SuppliedFields {
  ticketId: string | undefined;
  reason: string | undefined;
}

/**
 * ACCESS_DENIED for `####`, TICKET_ID_REQUIRED (the account's flag or the
 * profile's requireTicketId), REASON_REQUIRED; else the fields to send.
 */
export function checkAccountFlags(
  account: Pick<PmpAccount, 'accessDenied' | 'ticketIdRequired' | 'reasonRequired'>,
  req: { ticketId?: string | undefined; reason?: string | undefined },
  requireTicketId: boolean,
): SuppliedFields {
  const ticketId = nonBlank(req.ticketId);
  const reason = nonBlank(req.reason);
  if (account.accessDenied) {
    throw new GatewayError('ACCESS_DENIED', 'the API user may not read this password', { detail: 'PASSWORD STATUS ####' });
  }
  if ((account.ticketIdRequired || requireTicketId) && !ticketId) {
    throw new GatewayError('TICKET_ID_REQUIRED', 'a ticket ID is required for this account', {
      detail: account.ticketIdRequired ? 'IS_TICKETID_REQD_MANDATORY' : 'vault profile requireTicketId',
    });
  }
  if (account.reasonRequired && !reason) {
    throw new GatewayError('REASON_REQUIRED', 'a reason is required for this account', { detail: 'ISREASONREQUIRED' });
  }
  return { ticketId, reason };
}

function nonBlank(v: string | undefined): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
