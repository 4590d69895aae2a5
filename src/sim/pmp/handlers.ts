import { decodeSegment } from '../http-body.js';
import { requesterOf, type AccessControl } from './access-control.js';
import type { PmpSimApiUser } from './sim-data.js';
import { MSG, OP, type CompiledResponses } from './responses.js';
import { parseInputData } from './request-params.js';
import type { SimStats } from './stats.js';

/**
 * One function per PMP API call the simulator answers (routes.ts maps the
 * paths to them). A handler runs after authentication and returns the body
 * of the answer, built at start where it can be (responses.ts).
 */

/** An authenticated call, as a handler sees it. */
export interface PmpCall {
  /** The values of the route's `:name` segments, as sent (still percent-encoded). */
  readonly args: Readonly<Record<string, string>>;
  /** Query and body parameters (the query wins); undefined when there are none. */
  readonly params: URLSearchParams | undefined;
  readonly responses: CompiledResponses;
  readonly stats: SimStats;
  /** The API user the call authenticated as. */
  readonly caller: PmpSimApiUser;
  /** PAM360's access control: requests, approvals, check-outs. */
  readonly access: AccessControl;
}

export type PmpHandler = (call: PmpCall) => Buffer;

/** GET resources */
export const resourceList: PmpHandler = ({ responses }) => responses.resourceList;

/** GET resources/resourcetypes */
export const resourceTypes: PmpHandler = ({ responses }) => responses.resourceTypes;

/** GET resources/getResourceIdAccountId?RESOURCENAME=…&ACCOUNTNAME=… */
export const resourceAccountIds: PmpHandler = ({ params, responses }) => {
  const rname = params?.get('RESOURCENAME') ?? '';
  const aname = params?.get('ACCOUNTNAME') ?? '';
  if (rname === '' || aname === '') return responses.failed(OP.ids, MSG.namesMissing);
  const acc = responses.byName.get(rname.toLowerCase())?.byName.get(aname.toLowerCase());
  return acc ? acc.ids : responses.failed(OP.ids, MSG.namesNotFound);
};

/** GET resources/resourcename/{name} */
export const resourceIdByName: PmpHandler = ({ args, responses }) => {
  const name = decodeSegment(args['name']!);
  const r = name === undefined ? undefined : responses.byName.get(name.toLowerCase());
  return r ? r.resourceId : responses.failed(OP.resourceId, MSG.resourceNameNotFound);
};

/** GET resources/{resourceId}/accounts */
export const accountList: PmpHandler = ({ args, responses }) => {
  const r = responses.byId.get(args['resourceId']!);
  return r ? r.accounts : responses.failed(OP.accounts, MSG.resourceNotFound);
};

/** GET resources/{resourceId}/accounts/{accountId} */
export const accountDetails: PmpHandler = ({ args, responses }) => {
  const r = responses.byId.get(args['resourceId']!);
  if (!r) return responses.failed(OP.details, MSG.resourceNotFound);
  const a = r.byId.get(args['accountId']!);
  return a ? a.details : responses.failed(OP.details, MSG.accountNotFound);
};

/** GET resources/{resourceId}/accounts/{accountId}/password, with INPUT_DATA's reason and ticket ID. */
export const password: PmpHandler = ({ args, params, responses, stats, access, caller }) => {
  stats.countPasswordFetch();
  const r = responses.byId.get(args['resourceId']!);
  if (!r) return responses.failed(OP.password, MSG.resourceNotFound);
  const a = r.byId.get(args['accountId']!);
  if (!a) return responses.failed(OP.password, MSG.accountNotFound);
  const input = parseInputData(params?.get('INPUT_DATA') ?? null);
  if (!input) return responses.failed(OP.password, MSG.badInputData);
  const acc = a.account;
  if (acc.accessDenied) return responses.failed(OP.password, MSG.accessDenied);
  if (acc.ticketIdRequired && input.ticketId === '') return responses.failed(OP.password, MSG.ticketRequired);
  if (acc.reasonRequired && input.reason === '') return responses.failed(OP.password, MSG.reasonRequired);
  if (acc.accessControlled) return access.fetch(r, a, requesterOf(caller), responses);
  return a.password;
};
