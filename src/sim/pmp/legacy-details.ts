import { password, visibleResource, type PmpHandler } from './handlers.js';
import { envelope, MSG, OK_MSG, OP } from './responses.js';

/**
 * `GET resources/getResourceAccountDetails?RESOURCEID=&ACCOUNTID=`, the call
 * older builds answer and Ansible lookups still make: resource and account
 * details in one answer, where `Details.ACCOUNTDETAILS` is itself a JSON
 * *string* holding `PASSWORD`, or `PASSWORD_REASON` when the password is not
 * handed out. It is the password call (same checks, same audit count)
 * answered in that older shape. Its operation name, its success message and
 * RESOURCEDETAILS being a string too are *(unconfirmed)*.
 */

/** Failures that are the call's own (the envelope is Failed); any other refusal goes in PASSWORD_REASON. */
const CALL_FAILURES = new Set<string>([MSG.resourceNotFound, MSG.accountNotFound, MSG.badInputData]);

export const resourceAccountDetails: PmpHandler = (call) => {
  const { params, responses } = call;
  const rid = params?.get('RESOURCEID') ?? '';
  const aid = params?.get('ACCOUNTID') ?? '';
  if (rid === '' || aid === '') return responses.failed(OP.legacyDetails, MSG.idsMissing);
  const answer = JSON.parse(password({ ...call, args: { resourceId: rid, accountId: aid } }).toString('utf8')) as {
    operation: { result: { status: string; message: string }; Details?: { PASSWORD?: string } };
  };
  const { result, Details } = answer.operation;
  if (result.status !== 'Success' && CALL_FAILURES.has(result.message)) return responses.failed(OP.legacyDetails, result.message);
  const cr = visibleResource(call, rid)!;
  const account = cr.byId.get(aid)!.account;
  const r = cr.resource;
  const accountDetails: Record<string, string> = { 'ACCOUNT ID': account.id, 'ACCOUNT NAME': account.name };
  if (result.status === 'Success' && typeof Details?.PASSWORD === 'string') accountDetails['PASSWORD'] = Details.PASSWORD;
  else accountDetails['PASSWORD_REASON'] = result.message;
  return envelope(OP.legacyDetails, OK_MSG.legacyDetails, {
    Details: {
      RESOURCEDETAILS: JSON.stringify({ 'RESOURCE ID': r.id, 'RESOURCE NAME': r.name, 'RESOURCE TYPE': r.type, 'DNS NAME': r.dnsName }),
      ACCOUNTDETAILS: JSON.stringify(accountDetails),
    },
  });
};
