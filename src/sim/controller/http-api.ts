import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { MAX_FRAME_BYTES } from '../../protocol/index.js';
import { decodeSegment, readBody } from '../http-body.js';
import type { ApiCall } from './api-call.js';
import { sendError, sendJson } from './api-reply.js';
import { bearerMatches, oneHeader } from './bearer.js';
import type { EventStore } from './event-store.js';
import type { EventStreams } from './event-stream.js';
import { listEvents, streamEvents } from './events-api.js';
import type { ControllerHub } from './hub.js';

export { sendError, sendJson };
export type { ApiCall };

/**
 * The controller's HTTP API, the "console launch" side
 * (docs/reference-controller.md): an endpoint is one row of API_ROUTES and
 * one handler. Everything under /api/v1/ needs a bearer token when the
 * server has API tokens; a route marked `open` does not.
 */

const API_PREFIX = '/api/v1/';
const MAX_API_BODY_BYTES = MAX_FRAME_BYTES;

export interface ApiRoute {
  method: string;
  /** Matched against the whole path (no query); its groups become `args`. */
  path: RegExp;
  /** Answered without a bearer token. Default false. */
  open?: boolean;
  handler: (call: ApiCall) => Promise<void>;
}

export interface ApiContext {
  hub: ControllerHub;
  events: EventStore;
  streams: EventStreams;
  log: Logger;
  /** Digests of the API's bearer tokens; null: the API is open. */
  apiDigests: Buffer[] | null;
}

/** The cluster id of a path, decoded; undefined (and 400 sent) when its percent-encoding is broken. */
function clusterIdArg(res: ServerResponse, raw: string | undefined): string | undefined {
  const id = decodeSegment(raw ?? '');
  if (id === undefined) sendError(res, 400, 'BAD_CLUSTER_ID', 'the cluster id is not valid percent-encoding');
  return id;
}

async function healthz({ res }: ApiCall): Promise<void> {
  sendJson(res, 200, { status: 'ok' });
}

async function listClusters({ res, hub }: ApiCall): Promise<void> {
  sendJson(res, 200, { clusters: hub.clusterIds().map((id) => hub.snapshot(id)) });
}

async function getCluster({ res, args, hub }: ApiCall): Promise<void> {
  const id = clusterIdArg(res, args[0]);
  if (id === undefined) return;
  const snap = hub.snapshot(id);
  if (!snap) return sendError(res, 404, 'UNKNOWN_CLUSTER', 'no such cluster');
  sendJson(res, 200, snap);
}

/** Submits a command and answers with its one final outcome (hub.submit). */
async function submitCommand({ req, res, args, hub, log }: ApiCall): Promise<void> {
  const clusterId = clusterIdArg(res, args[0]);
  if (clusterId === undefined) return;
  const raw = await readBody(req, MAX_API_BODY_BYTES);
  if (raw === null) {
    res.setHeader('connection', 'close');
    return sendError(res, 413, 'BODY_TOO_LARGE', 'the body exceeds 1 MiB');
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return sendError(res, 400, 'BAD_JSON', 'the body is not JSON');
  }
  const outcome = await hub.submit(clusterId, body);
  log.debug({ clusterId, status: outcome.status }, 'api command answered');
  sendJson(res, outcome.status, outcome.body);
}

export const API_ROUTES: readonly ApiRoute[] = [
  { method: 'GET', path: /^\/healthz$/, open: true, handler: healthz },
  { method: 'GET', path: /^\/api\/v1\/clusters$/, handler: listClusters },
  { method: 'POST', path: /^\/api\/v1\/clusters\/([^/]+)\/commands$/, handler: submitCommand },
  { method: 'GET', path: /^\/api\/v1\/clusters\/([^/]+)$/, handler: getCluster },
  { method: 'GET', path: /^\/api\/v1\/clusters\/([^/]+)\/events$/, handler: listEvents },
  { method: 'GET', path: /^\/api\/v1\/clusters\/([^/]+)\/events\/stream$/, handler: streamEvents },
];

/** Answers one API request: 404 off the API, 401 without a good token, 405 for another method. */
export async function handleApi(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://controller').pathname;
  const method = req.method ?? 'GET';
  const matches: Array<{ route: ApiRoute; args: string[] }> = [];
  for (const route of API_ROUTES) {
    const m = route.path.exec(path);
    if (m) matches.push({ route, args: m.slice(1) });
  }
  // Open only when every route of this path is: a token protects the rest.
  const open = matches.length > 0 && matches.every((m) => m.route.open === true);
  if (!open) {
    if (!path.startsWith(API_PREFIX)) return sendError(res, 404, 'NOT_FOUND', 'no such endpoint');
    if (ctx.apiDigests && !bearerMatches(oneHeader(req, 'authorization'), ctx.apiDigests)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendError(res, 401, 'UNAUTHORIZED', 'bad or missing bearer token');
    }
  }
  const hit = matches.find((m) => m.route.method === method);
  if (!hit) {
    if (matches.length === 0) return sendError(res, 404, 'NOT_FOUND', 'no such endpoint');
    return sendError(res, 405, 'METHOD_NOT_ALLOWED', `use ${[...new Set(matches.map((m) => m.route.method))].join(' or ')}`);
  }
  await hit.route.handler({ req, res, args: hit.args, hub: ctx.hub, events: ctx.events, streams: ctx.streams, log: ctx.log });
}
