import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { sleep, systemClock, type Clock } from '../../shared/clock.js';
import { makeSelfSignedCertificate, spkiPinFromPem } from '../../tls/index.js';
import { FaultTable, validateFault, type Fault, type FaultKind } from './faults.js';
import {
  compileResponses,
  JSON_CONTENT_TYPE,
  MSG,
  OP,
  PMP_VARIANTS,
  type CompiledResource,
  type CompiledResponses,
  type PmpVariant,
} from './responses.js';
import { SAMPLE_DATA, validateSimData, type PmpSimApiUser, type PmpSimData } from './sim-data.js';
import { PmpSimError } from './sim-errors.js';

/**
 * A real HTTPS server that answers like ManageEngine PMP / PAM360's REST
 * API v1 (shared/reference/pmp-api.md), for tests, benchmarks, the demo
 * and admins without a PMP. It is the floor of every benchmark, so every
 * answer body is built at start and a request costs a path split, a few
 * map lookups and one write.
 */

export interface PmpSimOptions {
  /** TCP port; 0 picks a free one. Default 0 (the CLI defaults to 7272, PMP's port). */
  port?: number;
  /** Address to listen on. Default '127.0.0.1'. */
  host?: string;
  /** What to serve (validated; defaults filled in). Default {@link SAMPLE_DATA}. */
  data?: PmpSimData;
  /** Server certificate and key (PEM). Default: a fresh self-signed certificate for localhost, 127.0.0.1, ::1 and `host`. */
  tls?: { certPem: string; keyPem: string };
  /** Delay before every PMP answer (not faults, not the admin endpoint). Default 0. */
  latencyMs?: number;
  /** Which family of real builds to imitate (see responses.ts). Default 'pmp-new'. */
  variant?: PmpVariant;
  /** Logger; per-request lines are debug level only. Default: silent. */
  logger?: Logger;
  /** Time source for the latency delay. Default systemClock. */
  clock?: Clock;
}

export interface PmpSimStats {
  /** PMP requests received (the admin endpoint is not counted), faulted ones included. */
  requests: number;
  /**
   * Password calls that PMP would audit: every authenticated request to a
   * .../password path that was answered, Success or Failed. Requests taken
   * by an injected fault are not counted here (they are in `requests`).
   */
  passwordFetches: number;
  /** Requests per path (query excluded, dot segments resolved). */
  byPath: Record<string, number>;
}

export interface PmpSimulator {
  /** e.g. https://127.0.0.1:7272 */
  readonly url: string;
  readonly port: number;
  /** The server certificate (PEM): what a vault profile's caFile holds. */
  readonly certPem: string;
  /** base64 SHA-256 SPKI pin of the certificate. */
  readonly pin: string;
  /** The API users' tokens (simulator data, not secrets of any real system). */
  readonly tokens: string[];
  /** The served data, with defaults filled in. */
  readonly data: PmpSimData;
  readonly variant: PmpVariant;
  inject(fault: Fault): void;
  clearFaults(): void;
  stats(): PmpSimStats;
  resetStats(): void;
  setLatency(ms: number): void;
  /** Stops listening and destroys every connection, hanging ones included. */
  close(): Promise<void>;
}

const API_PREFIX = '/restapi/json/v1/';
const ADMIN_PREFIX = '/__sim/';
const MAX_BODY_BYTES = 64 * 1024;
const HTML_CONTENT_TYPE = 'text/html;charset=utf-8';
// Tomcat's plain error page, which is what PMP's container gives for a path it does not map.
const NOT_FOUND_HTML = Buffer.from(
  '<!doctype html><html lang="en"><head><title>HTTP Status 404 – Not Found</title></head>' +
    '<body><h1>HTTP Status 404 – Not Found</h1></body></html>',
);
const ERROR_500_HTML = Buffer.from(
  '<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error</title></head>' +
    '<body><h1>HTTP Status 500 – Internal Server Error</h1></body></html>',
);
const LOGIN_HTML = Buffer.from(
  '<!DOCTYPE html><html><head><title>ManageEngine Password Manager Pro</title></head>' +
    '<body><form name="login" action="j_security_check" method="post"></form></body></html>',
);
const EMPTY = Buffer.alloc(0);

interface CompiledUser {
  user: PmpSimApiUser;
  anyHost: boolean;
  hosts: Set<string>;
  org: string | null;
}

function compileUsers(users: PmpSimApiUser[]): Map<string, CompiledUser> {
  const map = new Map<string, CompiledUser>();
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
    map.set(user.token, { user, anyHost: hosts.has('*'), hosts, org: user.orgName?.trim().toLowerCase() ?? null });
  }
  return map;
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

function send(res: ServerResponse, status: number, contentType: string, body: Buffer): void {
  res.writeHead(status, ['Content-Type', contentType, 'Content-Length', String(body.length)]);
  res.end(body);
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Form or JSON body parameters (PMP takes INPUT_DATA as a form field; Content-Type is not trusted). */
function bodyParams(body: string): URLSearchParams | undefined {
  const t = body.trim();
  if (t === '') return undefined;
  if (t.startsWith('{')) return new URLSearchParams({ INPUT_DATA: t });
  return new URLSearchParams(t);
}

interface InputData {
  reason: string;
  ticketId: string;
}

/** INPUT_DATA's operation.Details REASON/TICKETID; undefined when the JSON is broken. */
function parseInputData(raw: string | null): InputData | undefined {
  if (raw === null) return { reason: '', ticketId: '' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const details = (parsed as { operation?: { Details?: Record<string, unknown> } } | null)?.operation?.Details;
  const field = (k: string): string => {
    const v = details?.[k];
    return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
  };
  return { reason: field('REASON'), ticketId: field('TICKETID') };
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function validLatency(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 600_000) {
    throw new PmpSimError('SIM_FAULT_INVALID', 'ms', 'latency must be an integer number of milliseconds from 0 to 600000');
  }
  return ms;
}

export async function startPmpSimulator(opts: PmpSimOptions = {}): Promise<PmpSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const variant = opts.variant ?? 'pmp-new';
  if (!PMP_VARIANTS.includes(variant)) {
    throw new PmpSimError('SIM_DATA_INVALID', 'variant', `must be one of ${PMP_VARIANTS.join(', ')}`);
  }
  const data = validateSimData(opts.data ?? SAMPLE_DATA);
  const log = opts.logger ?? pino({ level: 'silent' });
  const clock = opts.clock ?? systemClock;
  let latencyMs = validLatency(opts.latencyMs ?? 0);

  const tls =
    opts.tls ??
    (() => {
      const altNames = ['localhost', '127.0.0.1', '::1'];
      if (!altNames.includes(host) && host !== '0.0.0.0' && host !== '::') altNames.push(host);
      return makeSelfSignedCertificate({ commonName: 'credgw PMP simulator', altNames });
    })();
  const pin = spkiPinFromPem(tls.certPem);

  const responses: CompiledResponses = compileResponses(data, variant);
  const users = compileUsers(data.apiUsers);
  const faults = new FaultTable();
  const closing = new AbortController();
  // Every delayed answer listens for close(); many at once is normal under load.
  setMaxListeners(0, closing.signal);
  let requests = 0;
  let passwordFetches = 0;
  let byPath = new Map<string, number>();

  const answer = (res: ServerResponse, body: Buffer, status = 200, contentType = JSON_CONTENT_TYPE): void => {
    if (latencyMs === 0) {
      send(res, status, contentType, body);
      return;
    }
    sleep(clock, latencyMs, closing.signal).then(
      () => {
        if (!res.destroyed) send(res, status, contentType, body);
      },
      () => undefined, // closing: the connection is being destroyed anyway
    );
  };

  const applyFault = (kind: FaultKind, req: IncomingMessage, res: ServerResponse): void => {
    switch (kind) {
      case 'close':
        req.socket.destroy();
        return;
      case 'hang':
        return; // answered by close(), which destroys the connection
      case 'http500':
        send(res, 500, HTML_CONTENT_TYPE, ERROR_500_HTML);
        return;
      case 'empty':
        send(res, 200, JSON_CONTENT_TYPE, EMPTY);
        return;
      case 'nonjson':
        send(res, 200, HTML_CONTENT_TYPE, LOGIN_HTML);
        return;
    }
  };

  const authenticate = (req: IncomingMessage, params: URLSearchParams | undefined): Buffer | undefined => {
    const header = req.headers['authtoken'];
    const token = typeof header === 'string' ? header : params?.get('AUTHTOKEN') ?? '';
    const u = users.get(token);
    if (!u) return responses.failed(OP.auth, MSG.badToken);
    if (!u.anyHost && !u.hosts.has(peerAddress(req.socket.remoteAddress))) return responses.failed(OP.auth, MSG.badHost);
    if (u.org !== null) {
      const org = req.headers['orgname'];
      if (typeof org !== 'string' || org.trim().toLowerCase() !== u.org) return responses.failed(OP.auth, MSG.badOrg);
    }
    return undefined;
  };

  const password = (r: CompiledResource | undefined, aid: string, params: URLSearchParams | undefined): Buffer => {
    passwordFetches += 1;
    if (!r) return responses.failed(OP.password, MSG.resourceNotFound);
    const a = r.byId.get(aid);
    if (!a) return responses.failed(OP.password, MSG.accountNotFound);
    const input = parseInputData(params?.get('INPUT_DATA') ?? null);
    if (!input) return responses.failed(OP.password, MSG.badInputData);
    const acc = a.account;
    if (acc.accessDenied) return responses.failed(OP.password, MSG.accessDenied);
    if (acc.ticketIdRequired && input.ticketId === '') return responses.failed(OP.password, MSG.ticketRequired);
    if (acc.reasonRequired && input.reason === '') return responses.failed(OP.password, MSG.reasonRequired);
    if (acc.accessControlled && variant !== 'pmp-old') return responses.failed(OP.password, MSG.approvalRequired);
    return a.password;
  };

  /** The body for an authenticated API path, or undefined for a path PMP does not map. */
  const route = (rest: string, params: URLSearchParams | undefined): Buffer | undefined => {
    const seg = rest.split('/');
    if (seg[seg.length - 1] === '') seg.pop(); // a trailing slash maps to the same call
    if (seg[0] !== 'resources') return undefined;
    const n = seg.length;
    if (n === 1) return responses.resourceList;
    const second = seg[1]!;
    if (n === 2) {
      if (second === 'resourcetypes') return responses.resourceTypes;
      if (second === 'getResourceIdAccountId') {
        const rname = params?.get('RESOURCENAME') ?? '';
        const aname = params?.get('ACCOUNTNAME') ?? '';
        if (rname === '' || aname === '') return responses.failed(OP.ids, MSG.namesMissing);
        const acc = responses.byName.get(rname.toLowerCase())?.byName.get(aname.toLowerCase());
        return acc ? acc.ids : responses.failed(OP.ids, MSG.namesNotFound);
      }
      return undefined;
    }
    if (n === 3 && second === 'resourcename') {
      const name = decodeSegment(seg[2]!);
      const r = name === undefined ? undefined : responses.byName.get(name.toLowerCase());
      return r ? r.resourceId : responses.failed(OP.resourceId, MSG.resourceNameNotFound);
    }
    if (seg[2] !== 'accounts') return undefined;
    const r = responses.byId.get(second);
    if (n === 3) return r ? r.accounts : responses.failed(OP.accounts, MSG.resourceNotFound);
    const aid = seg[3]!;
    if (n === 4) {
      if (!r) return responses.failed(OP.details, MSG.resourceNotFound);
      const a = r.byId.get(aid);
      return a ? a.details : responses.failed(OP.details, MSG.accountNotFound);
    }
    if (n === 5 && seg[4] === 'password') return password(r, aid, params);
    return undefined;
  };

  const handleApi = (req: IncomingMessage, res: ServerResponse, path: string, query: string, body: string | undefined): void => {
    if (!path.startsWith(API_PREFIX)) {
      send(res, 404, HTML_CONTENT_TYPE, NOT_FOUND_HTML);
      return;
    }
    let params = query === '' ? undefined : new URLSearchParams(query);
    if (body !== undefined) {
      const fromBody = bodyParams(body);
      if (fromBody) {
        // Query parameters win over the form, as in a servlet's getParameter.
        for (const [k, v] of fromBody) if (!params?.has(k)) (params ??= new URLSearchParams()).append(k, v);
      }
    }
    const denied = authenticate(req, params);
    if (denied) {
      answer(res, denied);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, ['Allow', 'GET', 'Content-Length', '0']);
      res.end();
      return;
    }
    const out = route(path.slice(API_PREFIX.length), params);
    if (out === undefined) send(res, 404, HTML_CONTENT_TYPE, NOT_FOUND_HTML);
    else answer(res, out);
  };

  const adminJson = (res: ServerResponse, status: number, value: unknown): void => {
    send(res, status, 'application/json', Buffer.from(JSON.stringify(value)));
  };

  const statsSnapshot = (): PmpSimStats => ({ requests, passwordFetches, byPath: Object.fromEntries(byPath) });

  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
      adminJson(res, 403, { error: 'the simulator admin endpoint answers loopback callers only' });
      return;
    }
    const body = hasBody(req) ? await readBody(req) : '';
    const json = (): unknown => {
      try {
        return JSON.parse(body);
      } catch {
        throw new PmpSimError('SIM_FAULT_INVALID', '', 'request body must be JSON');
      }
    };
    const key = `${req.method ?? ''} ${path}`;
    try {
      switch (key) {
        case 'POST /__sim/faults': {
          faults.add(validateFault(json()));
          adminJson(res, 200, { ok: true, activeFaults: faults.size });
          return;
        }
        case 'DELETE /__sim/faults':
          faults.clear();
          adminJson(res, 200, { ok: true, activeFaults: 0 });
          return;
        case 'GET /__sim/stats':
          adminJson(res, 200, statsSnapshot());
          return;
        case 'DELETE /__sim/stats':
          sim.resetStats();
          adminJson(res, 200, { ok: true });
          return;
        case 'POST /__sim/latency': {
          const parsed = json() as { ms?: unknown } | null;
          latencyMs = validLatency(parsed?.ms);
          adminJson(res, 200, { ok: true, latencyMs });
          return;
        }
        default:
          adminJson(res, 404, { error: 'unknown simulator admin call', call: key });
      }
    } catch (err) {
      if (err instanceof PmpSimError) adminJson(res, 400, { error: err.message, code: err.code });
      else throw err;
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (path.startsWith(ADMIN_PREFIX)) {
      handleAdmin(req, res, path).catch((err: unknown) => {
        log.warn({ err }, 'pmp simulator admin call failed');
        if (!res.headersSent) adminJson(res, 500, { error: 'admin call failed' });
      });
      return;
    }
    // Resolve dot segments as the servlet container does, so a client that
    // puts "../" in a path is seen (in stats) calling where it really lands.
    if (path.includes('/.') || path.includes('//')) path = posix.normalize(path);
    requests += 1;
    byPath.set(path, (byPath.get(path) ?? 0) + 1);
    // Never the query: it may hold a legacy ?AUTHTOKEN=.
    log.debug({ method: req.method, path }, 'pmp simulator request');
    const fault = faults.take(path);
    if (fault) {
      applyFault(fault, req, res);
      return;
    }
    if (!hasBody(req)) {
      handleApi(req, res, path, query, undefined);
      return;
    }
    readBody(req).then(
      (body) => handleApi(req, res, path, query, body),
      () => req.socket.destroy(),
    );
  };

  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem, keepAlive: true }, onRequest);
  server.on('tlsClientError', (err) => log.debug({ err }, 'pmp simulator tls handshake failed'));

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('pmp simulator: no TCP address after listen');
  const port = address.port;
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : isIP(host) === 6 ? `[${host}]` : host;
  const url = `https://${urlHost}:${port}`;
  log.info({ url, variant, resources: data.resources.length, apiUsers: data.apiUsers.length }, 'pmp simulator listening');

  let closed: Promise<void> | undefined;
  const sim: PmpSimulator = {
    url,
    port,
    certPem: tls.certPem,
    pin,
    tokens: data.apiUsers.map((u) => u.token),
    data,
    variant,
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    stats: statsSnapshot,
    resetStats: () => {
      requests = 0;
      passwordFetches = 0;
      byPath = new Map();
    },
    setLatency: (ms) => {
      latencyMs = validLatency(ms);
    },
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        closing.abort();
        server.close(() => resolve());
        server.closeAllConnections();
        log.info({ url }, 'pmp simulator closed');
      });
      return closed;
    },
  };
  return sim;
}
