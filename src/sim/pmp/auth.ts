import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { PmpSimBehaviour } from './behaviour.js';
import { MSG, OP, type CompiledResponses } from './responses.js';
import type { PmpSimData } from './sim-data.js';

/**
 * PMP's authentication filter: the token (an API user's key or an
 * integration's application token, as a header or a query or form
 * parameter), the host the principal may call from, and the organisation a
 * call acts in (MSP editions). Tokens are only compared, never logged.
 */

/** Who a call is authenticated as, as a handler sees it. */
export interface PmpCaller {
  kind: 'apiUser' | 'integration';
  /** The principal's label in the data file (not unique: API users' default is ''). */
  name: string;
  /** Tells principals apart (`${kind}:${position in its data list}`); never the token. */
  key: string;
  /** The organisation the call acts in (lower-cased), or null for a principal without organisations. */
  org: string | null;
}

interface Principal {
  kind: PmpCaller['kind'];
  name: string;
  key: string;
  anyHost: boolean;
  hosts: Set<string>;
  /** Lower-cased organisation names; empty for a principal outside MSP organisations. */
  orgs: Set<string>;
  /** Lower-cased own organisation: used when a call names none. */
  ownOrg: string | null;
  /** Lower-cased APP_NAME of an integration. */
  appName: string | null;
  appType: string | null;
}

export type AuthResult = { ok: true; caller: PmpCaller } | { ok: false; answer: Buffer };

/** How the token came: AUTHTOKEN (API-key form) or APP_AUTHTOKEN (integration form). */
type TokenForm = 'authtoken' | 'app';

function orgKey(name: string): string {
  return name.trim().toLowerCase();
}

function hostSet(allowed: string[]): Set<string> {
  const hosts = new Set<string>();
  for (const h of allowed) {
    if (h.toLowerCase() === 'localhost') {
      hosts.add('127.0.0.1');
      hosts.add('::1');
    } else {
      hosts.add(h.toLowerCase());
    }
  }
  return hosts;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** The peer address as PMP's host check sees it (IPv4-mapped IPv6 unwrapped). */
function peerAddress(raw: string | undefined): string {
  if (!raw) return '';
  return raw.startsWith('::ffff:') && isIP(raw.slice(7)) === 4 ? raw.slice(7) : raw.toLowerCase();
}

/** True for 127.0.0.0/8 and ::1 (the admin endpoint answers only these). */
export function isLoopbackAddress(raw: string | undefined): boolean {
  const a = peerAddress(raw);
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

export class PmpAuth {
  private readonly byToken = new Map<string, Principal>();

  constructor(
    data: Pick<PmpSimData, 'apiUsers' | 'integrations'>,
    private readonly responses: CompiledResponses,
    private readonly behaviour: PmpSimBehaviour,
  ) {
    const principal = (kind: Principal['kind'], i: number, p: { name: string; allowedHosts: string[]; orgName: string | null; orgNames: string[] }): Principal => {
      const hosts = hostSet(p.allowedHosts);
      return {
        kind,
        name: p.name,
        key: `${kind}:${i}`,
        anyHost: hosts.has('*'),
        hosts,
        orgs: new Set(p.orgNames.map(orgKey)),
        ownOrg: p.orgName === null ? null : orgKey(p.orgName),
        appName: null,
        appType: null,
      };
    };
    data.apiUsers.forEach((u, i) => this.byToken.set(u.token, principal('apiUser', i, u)));
    data.integrations.forEach((g, i) => {
      this.byToken.set(g.token, { ...principal('integration', i, g), appName: orgKey(g.appName), appType: g.appType?.trim() ?? null });
    });
  }

  /** The caller, or the Failed answer PMP gives a request it does not authenticate. */
  authenticate(req: IncomingMessage, params: URLSearchParams | undefined): AuthResult {
    const { responses } = this;
    const refuse = (message: string): AuthResult => ({ ok: false, answer: responses.failed(OP.auth, message) });
    const sent = this.token(req, params);
    const p = sent ? this.byToken.get(sent.token) : undefined;
    if (!sent || !p) return refuse(MSG.badToken);
    if (p.kind === 'apiUser' && sent.form === 'app' && !this.behaviour.apiKeyAsAppToken) return refuse(MSG.badToken);
    if (p.kind === 'integration') {
      if (sent.form === 'authtoken' && !this.behaviour.appTokenAsAuthtoken) return refuse(MSG.badToken);
      if (sent.form === 'app' && this.behaviour.requireAppName && !this.appMatches(p, req, params)) return refuse(MSG.badAppName);
    }
    if (!p.anyHost && !p.hosts.has(peerAddress(req.socket.remoteAddress))) return refuse(MSG.badHost);
    const named = header(req, 'orgname')?.trim() ?? '';
    let org: string | null = null;
    if (p.orgs.size > 0) {
      if (named !== '') {
        if (!p.orgs.has(orgKey(named))) return refuse(MSG.badOrg);
        org = orgKey(named);
      } else if (p.ownOrg !== null) {
        org = p.ownOrg;
      } else {
        return refuse(MSG.orgRequired);
      }
    }
    return { ok: true, caller: { kind: p.kind, name: p.name, key: p.key, org } };
  }

  /** The first token form present: AUTHTOKEN header, APP_AUTHTOKEN header, then the same as parameters. */
  private token(req: IncomingMessage, params: URLSearchParams | undefined): { token: string; form: TokenForm } | undefined {
    const h = header(req, 'authtoken');
    if (h !== undefined) return { token: h, form: 'authtoken' };
    const ha = header(req, 'app_authtoken');
    if (ha !== undefined) return { token: ha, form: 'app' };
    const q = params?.get('AUTHTOKEN');
    if (q != null) return { token: q, form: 'authtoken' };
    const qa = params?.get('APP_AUTHTOKEN');
    if (qa != null) return { token: qa, form: 'app' };
    return undefined;
  }

  /** APP_NAME equals the integration's (case-insensitively), or APP_TYPE its appType; header or parameter. */
  private appMatches(p: Principal, req: IncomingMessage, params: URLSearchParams | undefined): boolean {
    const name = header(req, 'app_name') ?? params?.get('APP_NAME') ?? undefined;
    if (name !== undefined && orgKey(name) === p.appName) return true;
    const type = header(req, 'app_type') ?? params?.get('APP_TYPE') ?? undefined;
    return type !== undefined && p.appType !== null && type.trim() === p.appType;
  }
}
