import { checkInPassword, passwordRequests, requestPassword } from './access-handlers.js';
import {
  accountDetails,
  accountList,
  password,
  resourceAccountIds,
  resourceIdByName,
  resourceList,
  resourceTypes,
  type PmpHandler,
} from './handlers.js';
import { resourceAccountDetails } from './legacy-details.js';
import { changePassword } from './password-change.js';

/**
 * The PMP API calls the simulator answers: an endpoint is one row here and
 * one handler in handlers.ts. Paths are under /restapi/json/v1/; a `:name`
 * segment matches any one segment and reaches the handler as `args.name`.
 * The first row that matches wins, so a literal segment goes above a
 * `:name` in the same place.
 */

export interface PmpRoute {
  method: string;
  path: string;
  handler: PmpHandler;
}

export const PMP_ROUTES: readonly PmpRoute[] = [
  { method: 'GET', path: 'resources', handler: resourceList },
  { method: 'GET', path: 'resources/resourcetypes', handler: resourceTypes },
  { method: 'GET', path: 'resources/getResourceIdAccountId', handler: resourceAccountIds },
  { method: 'GET', path: 'resources/getResourceAccountDetails', handler: resourceAccountDetails },
  { method: 'GET', path: 'resources/resourcename/:name', handler: resourceIdByName },
  { method: 'GET', path: 'resources/:resourceId/accounts', handler: accountList },
  { method: 'GET', path: 'resources/:resourceId/accounts/:accountId', handler: accountDetails },
  { method: 'GET', path: 'resources/:resourceId/accounts/:accountId/password', handler: password },
  { method: 'PUT', path: 'resources/:resourceId/accounts/:accountId/password', handler: changePassword },
  { method: 'GET', path: 'accounts/passwordaccessrequests', handler: passwordRequests },
  { method: 'POST', path: 'accounts/:accountId/requestpassword', handler: requestPassword },
  { method: 'PUT', path: 'accounts/:accountId/checkin', handler: checkInPassword },
];

/** What a request path and method come to. */
export type RouteMatch =
  | { kind: 'found'; handler: PmpHandler; args: Record<string, string> }
  /** Mapped, but not for this method: 405 with `allow`. */
  | { kind: 'method-not-allowed'; allow: string }
  /** Not mapped: the container's 404 page. */
  | { kind: 'not-found' };

interface CompiledRoute {
  method: string;
  /** Per segment: the literal it must be, or null for a `:name`. */
  literals: Array<string | null>;
  /** Per segment: the `:name` it fills, or null for a literal. */
  names: Array<string | null>;
  handler: PmpHandler;
}

const NOT_FOUND: RouteMatch = { kind: 'not-found' };

/** Matches a path by its segment count, then segment by segment: a split and a few compares per request. */
export class PmpRouter {
  private readonly bySegments = new Map<number, CompiledRoute[]>();
  /** Any method no route has is refused before the path is looked at (PMP's container does so). */
  private readonly methods: Set<string>;
  private readonly notAllowed: RouteMatch;

  constructor(routes: readonly PmpRoute[] = PMP_ROUTES) {
    for (const r of routes) {
      const segs = r.path.split('/');
      const compiled: CompiledRoute = {
        method: r.method,
        literals: segs.map((s) => (s.startsWith(':') ? null : s)),
        names: segs.map((s) => (s.startsWith(':') ? s.slice(1) : null)),
        handler: r.handler,
      };
      const list = this.bySegments.get(segs.length) ?? [];
      list.push(compiled);
      this.bySegments.set(segs.length, list);
    }
    this.methods = new Set(routes.map((r) => r.method));
    this.notAllowed = { kind: 'method-not-allowed', allow: [...this.methods].join(', ') };
  }

  /** `rest` is the path after /restapi/json/v1/ (no query); a trailing slash maps to the same call. */
  match(method: string, rest: string): RouteMatch {
    if (!this.methods.has(method)) return this.notAllowed;
    const seg = rest.split('/');
    if (seg[seg.length - 1] === '') seg.pop();
    const candidates = this.bySegments.get(seg.length);
    if (!candidates) return NOT_FOUND;
    let allow: string[] | undefined;
    for (const route of candidates) {
      if (!route.literals.every((lit, i) => lit === null || lit === seg[i])) continue;
      if (route.method !== method) {
        (allow ??= []).push(route.method);
        continue;
      }
      const args: Record<string, string> = {};
      route.names.forEach((name, i) => {
        if (name !== null) args[name] = seg[i]!;
      });
      return { kind: 'found', handler: route.handler, args };
    }
    return allow ? { kind: 'method-not-allowed', allow: allow.join(', ') } : NOT_FOUND;
  }
}
