import { decodeSegment } from '../http-body.js';
import { requesterOf, type AccessControl } from './access-control.js';
import type { PmpCaller } from './auth.js';
import type { PmpSimBehaviour } from './behaviour.js';
import type { SimHooks } from './hooks.js';
import { accountListAnswer, resourceListAnswer, type ListAnswer } from './lists.js';
import { MSG, OP, visibleFrom, type CompiledResource, type CompiledResponses } from './responses.js';
import { inputDetails, parseInputData } from './request-params.js';
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
  /** Who the call is authenticated as, and the organisation it acts in. */
  readonly caller: PmpCaller;
  /** The switches for what no recorded answer confirms. */
  readonly behaviour: PmpSimBehaviour;
  readonly hooks: SimHooks;
  /** PAM360's access control: requests, approvals, check-outs. */
  readonly access: AccessControl;
}

export type PmpHandler = (call: PmpCall) => Buffer;

/** The resource `id` names, when the caller's organisation sees it. */
export function visibleResource(call: PmpCall, id: string | undefined): CompiledResource | undefined {
  const cr = id === undefined ? undefined : call.responses.byId.get(id);
  return cr && visibleFrom(cr, call.caller.org) ? cr : undefined;
}

const LIST_PROBLEM_MSG = { paging: MSG.badPaging, view: MSG.badViewType, search: MSG.badSearch } as const;

function listAnswer(call: PmpCall, op: string, answer: ListAnswer): Buffer {
  return answer.ok ? answer.body : call.responses.failed(op, LIST_PROBLEM_MSG[answer.problem]);
}

/** GET resources, with INPUT_DATA's paging and search. */
export const resourceList: PmpHandler = (call) => {
  const details = inputDetails(call.params);
  if (!details) return call.responses.failed(OP.resources, MSG.badInputData);
  return listAnswer(call, OP.resources, resourceListAnswer(call.responses, call.caller.org, details, call.behaviour));
};

/** GET resources/resourcetypes */
export const resourceTypes: PmpHandler = ({ responses }) => responses.resourceTypes;

/** GET resources/getResourceIdAccountId?RESOURCENAME=…&ACCOUNTNAME=… */
export const resourceAccountIds: PmpHandler = ({ params, responses, caller }) => {
  const rname = params?.get('RESOURCENAME') ?? '';
  const aname = params?.get('ACCOUNTNAME') ?? '';
  if (rname === '' || aname === '') return responses.failed(OP.ids, MSG.namesMissing);
  const cr = responses.byName.get(rname.toLowerCase());
  const acc = cr && visibleFrom(cr, caller.org) ? cr.byName.get(aname.toLowerCase()) : undefined;
  return acc ? acc.ids : responses.failed(OP.ids, MSG.namesNotFound);
};

/** GET resources/resourcename/{name} */
export const resourceIdByName: PmpHandler = ({ args, responses, caller }) => {
  const name = decodeSegment(args['name']!);
  const r = name === undefined ? undefined : responses.byName.get(name.toLowerCase());
  return r && visibleFrom(r, caller.org) ? r.resourceId : responses.failed(OP.resourceId, MSG.resourceNameNotFound);
};

/** GET resources/{resourceId}/accounts, with INPUT_DATA's paging and search where the switch allows. */
export const accountList: PmpHandler = (call) => {
  const r = visibleResource(call, call.args['resourceId']);
  if (!r) return call.responses.failed(OP.accounts, MSG.resourceNotFound);
  const details = call.behaviour.accountListPaging ? inputDetails(call.params) : {};
  if (!details) return call.responses.failed(OP.accounts, MSG.badInputData);
  return listAnswer(call, OP.accounts, accountListAnswer(r, details, call.behaviour));
};

/** GET resources/{resourceId}/accounts/{accountId} */
export const accountDetails: PmpHandler = (call) => {
  const { args, responses } = call;
  const r = visibleResource(call, args['resourceId']);
  if (!r) return responses.failed(OP.details, MSG.resourceNotFound);
  const a = r.byId.get(args['accountId']!);
  return a ? a.details : responses.failed(OP.details, MSG.accountNotFound);
};

/** GET resources/{resourceId}/accounts/{accountId}/password, with INPUT_DATA's reason and ticket ID. */
export const password: PmpHandler = (call) => {
  const { args, params, responses, stats, access, caller } = call;
  stats.countPasswordFetch();
  const r = visibleResource(call, args['resourceId']);
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
