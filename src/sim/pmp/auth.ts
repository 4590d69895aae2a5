import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { MSG, OP, type CompiledResponses } from './responses.js';
import type { PmpSimApiUser } from './sim-data.js';

/**
 * PMP's API-user check: the AUTHTOKEN (header, or the legacy parameter),
 * the host the user may call from, and the organisation of an MSP user.
 */

interface CompiledUser {
  user: PmpSimApiUser;
  anyHost: boolean;
  hosts: Set<string>;
  org: string | null;
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

export class ApiUsers {
  private readonly byToken = new Map<string, CompiledUser>();

  constructor(
    users: PmpSimApiUser[],
    private readonly responses: CompiledResponses,
  ) {
    for (const user of users) {
      const hosts = new Set<string>();
      for (const h of user.allowedHosts) {
        if (h.toLowerCase() === 'localhost') {
          hosts.add('127.0.0.1');
          hosts.add('::1');
        } else {
          hosts.add(h.toLowerCase());
        }
      }
      this.byToken.set(user.token, { user, anyHost: hosts.has('*'), hosts, org: user.orgName?.trim().toLowerCase() ?? null });
    }
  }

  /** The Failed answer PMP gives a request it does not authenticate; undefined when it does. */
  refusal(req: IncomingMessage, params: URLSearchParams | undefined): Buffer | undefined {
    const header = req.headers['authtoken'];
    const token = typeof header === 'string' ? header : params?.get('AUTHTOKEN') ?? '';
    const u = this.byToken.get(token);
    const { responses } = this;
    if (!u) return responses.failed(OP.auth, MSG.badToken);
    if (!u.anyHost && !u.hosts.has(peerAddress(req.socket.remoteAddress))) return responses.failed(OP.auth, MSG.badHost);
    if (u.org !== null) {
      const org = req.headers['orgname'];
      if (typeof org !== 'string' || org.trim().toLowerCase() !== u.org) return responses.failed(OP.auth, MSG.badOrg);
    }
    return undefined;
  }

  /** The API user of a request that refusal() let through (anything else is a bug). */
  caller(req: IncomingMessage, params: URLSearchParams | undefined): PmpSimApiUser {
    const header = req.headers['authtoken'];
    const u = this.byToken.get(typeof header === 'string' ? header : params?.get('AUTHTOKEN') ?? '');
    if (!u) throw new Error('pmp simulator: caller() asked for a request that did not authenticate');
    return u.user;
  }
}
