import { arr, fail, join, nonEmpty, obj, str, type Obj } from './sim-data-checks.js';

export interface PmpSimApiUser {
  /** The API key (AUTHTOKEN). Unique. */
  token: string;
  /**
   * Addresses this user may call from: IP addresses, `localhost` (127.0.0.1
   * and ::1), or `*` (any; a simulator extension). Required, non-empty.
   */
  allowedHosts: string[];
  /** The user's own organisation (MSP editions): used when a call sends no `orgName` header. Default null. */
  orgName: string | null;
  /**
   * Every organisation the user may name in an `orgName` header (case-insensitive);
   * includes `orgName`. A user with organisations but no own one must name one. Default: [orgName], or [].
   */
  orgNames: string[];
  /** A label for docs and logs only. Default ''. */
  name: string;
}

/** An application (integration) token, sent as APP_AUTHTOKEN with APP_NAME, as PAM360's integrations do. */
export interface PmpSimIntegration {
  /** A label (e.g. "ITOM"), shown by the CLI. Required. */
  name: string;
  /** The application token (APP_AUTHTOKEN). Unique among API users' and integrations' tokens. */
  token: string;
  /** The APP_NAME the token was issued for (matched case-insensitively). Required. */
  appName: string;
  /** An APP_TYPE the integration may send instead of APP_NAME (e.g. "17"). Default null. */
  appType: string | null;
  /** As for API users. Required, non-empty. */
  allowedHosts: string[];
  /** As for API users. Default null. */
  orgName: string | null;
  /** As for API users. Default: [orgName], or []. */
  orgNames: string[];
}

/**
 * The data file's principals, checked: API users (`apiUsers`, an API key
 * sent as AUTHTOKEN) and integrations (`integrations`, an application token
 * sent as APP_AUTHTOKEN with APP_NAME), both bound to hosts and, in MSP
 * editions, to organisations. Tokens are unique across both lists.
 */

const USER_KEYS = ['token', 'allowedHosts', 'orgName', 'orgNames', 'name'] as const;
const INTEGRATION_KEYS = ['name', 'token', 'appName', 'appType', 'allowedHosts', 'orgName', 'orgNames'] as const;

function hosts(o: Obj, p: string): string[] {
  const list = arr(o, 'allowedHosts', p, true).map((h, j) => {
    if (typeof h !== 'string' || h.trim() === '') fail(`${p}.allowedHosts[${j}]`, 'must be a non-empty string');
    return h.trim();
  });
  if (list.length === 0) fail(join(p, 'allowedHosts'), 'must list at least one host (use "*" for any)');
  return list;
}

/** `orgName` (the own organisation, or null) and `orgNames` (every organisation; includes orgName). */
function orgs(o: Obj, p: string): { orgName: string | null; orgNames: string[] } {
  const own = o['orgName'];
  if (own !== undefined && own !== null && (typeof own !== 'string' || own.trim() === '')) {
    fail(join(p, 'orgName'), 'must be a non-empty string or null');
  }
  const orgName = typeof own === 'string' ? own : null;
  const orgNames = arr(o, 'orgNames', p, false).map((n, j) => {
    if (typeof n !== 'string' || n.trim() === '') fail(`${p}.orgNames[${j}]`, 'must be a non-empty string');
    return n;
  });
  const seen = new Set<string>();
  orgNames.forEach((n, j) => {
    if (seen.has(n.trim().toLowerCase())) fail(`${p}.orgNames[${j}]`, `duplicates organisation "${n}" (names are case-insensitive)`);
    seen.add(n.trim().toLowerCase());
  });
  if (orgName !== null && !seen.has(orgName.trim().toLowerCase())) {
    if (o['orgNames'] !== undefined) fail(join(p, 'orgName'), `must be one of orgNames (the own organisation among them)`);
    orgNames.push(orgName);
  }
  return { orgName, orgNames };
}

export function validatePrincipals(root: Obj): { apiUsers: PmpSimApiUser[]; integrations: PmpSimIntegration[] } {
  const tokens = new Set<string>();
  const token = (o: Obj, p: string): string => {
    const t = nonEmpty(o, 'token', p);
    if (tokens.has(t)) fail(join(p, 'token'), 'duplicates the token of another API user or integration');
    tokens.add(t);
    return t;
  };
  const apiUsers = arr(root, 'apiUsers', '', true).map((raw, i): PmpSimApiUser => {
    const p = `apiUsers[${i}]`;
    const u = obj(raw, p, USER_KEYS);
    const t = token(u, p);
    return { token: t, allowedHosts: hosts(u, p), ...orgs(u, p), name: str(u, 'name', p, '') };
  });
  const integrations = arr(root, 'integrations', '', false).map((raw, i): PmpSimIntegration => {
    const p = `integrations[${i}]`;
    const g = obj(raw, p, INTEGRATION_KEYS);
    const name = nonEmpty(g, 'name', p);
    const t = token(g, p);
    const appType = g['appType'];
    if (appType !== undefined && appType !== null && (typeof appType !== 'string' || appType.trim() === '')) {
      fail(join(p, 'appType'), 'must be a non-empty string or null');
    }
    return {
      name,
      token: t,
      appName: nonEmpty(g, 'appName', p),
      appType: typeof appType === 'string' ? appType : null,
      allowedHosts: hosts(g, p),
      ...orgs(g, p),
    };
  });
  if (apiUsers.length === 0 && integrations.length === 0) fail('apiUsers', 'must have at least one API user (or an integration)');
  return { apiUsers, integrations };
}
