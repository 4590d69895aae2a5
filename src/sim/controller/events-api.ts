import type { ServerResponse } from 'node:http';
import { isId } from '../../protocol/index.js';
import { decodeSegment } from '../http-body.js';
import { oneHeader } from './bearer.js';
import { sendError, sendJson } from './api-reply.js';
import type { ApiCall } from './api-call.js';

/**
 * The events endpoints of the HTTP API (docs/reference-controller.md,
 * "Events"): a page of a cluster's events after a cursor, and the same as a
 * stream of Server-Sent Events.
 */

/** Events per page unless `limit` says otherwise, and the most a page holds. */
export const DEFAULT_EVENTS_PAGE = 100;
export const MAX_EVENTS_PAGE = 1000;

const CURSOR = /^\d{1,15}$/;

/** The path's cluster id, decoded and checked; undefined (and 400 sent) when it is not an id. */
function clusterOf(res: ServerResponse, raw: string | undefined): string | undefined {
  const id = decodeSegment(raw ?? '');
  if (!isId(id)) {
    sendError(res, 400, 'BAD_CLUSTER_ID', 'the cluster id must be 1-128 characters of [A-Za-z0-9._:-]');
    return undefined;
  }
  return id;
}

/** A cursor (a seq, 0 for the start) from a query value or header; undefined (and 400 sent) when it is not one. */
function cursorOf(res: ServerResponse, value: string | null | undefined, what: string): number | undefined {
  if (value === null || value === undefined || value === '') return 0;
  if (!CURSOR.test(value)) {
    sendError(res, 400, 'BAD_REQUEST', `${what} must be a sequence number (digits)`);
    return undefined;
  }
  return Number(value);
}

/** `GET /api/v1/clusters/{clusterId}/events?after=&limit=` */
export async function listEvents({ req, res, args, events }: ApiCall): Promise<void> {
  const clusterId = clusterOf(res, args[0]);
  if (clusterId === undefined) return;
  const query = new URL(req.url ?? '/', 'http://controller').searchParams;
  const after = cursorOf(res, query.get('after'), 'after');
  if (after === undefined) return;
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? DEFAULT_EVENTS_PAGE : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : 0;
  if (limit < 1 || limit > MAX_EVENTS_PAGE) {
    return sendError(res, 400, 'BAD_REQUEST', `limit must be an integer from 1 to ${MAX_EVENTS_PAGE}`);
  }
  const page = events.page(clusterId, after, limit);
  const { oldest, latest, held, repeats, dropped } = events.stats(clusterId);
  sendJson(res, 200, { clusterId, ...page, oldest, latest, counts: { held, repeats, dropped } });
}

/**
 * `GET /api/v1/clusters/{clusterId}/events/stream`: the events after the
 * cursor (`Last-Event-ID`, else `after=`, else the oldest held), then each
 * one as it is stored.
 */
export async function streamEvents({ req, res, args, streams }: ApiCall): Promise<void> {
  const clusterId = clusterOf(res, args[0]);
  if (clusterId === undefined) return;
  // A reconnecting EventSource sends Last-Event-ID with the URL it first used: the header wins.
  const lastEventId = oneHeader(req, 'last-event-id');
  const after =
    lastEventId !== undefined && lastEventId !== ''
      ? cursorOf(res, lastEventId, 'Last-Event-ID')
      : cursorOf(res, new URL(req.url ?? '/', 'http://controller').searchParams.get('after'), 'after');
  if (after === undefined) return;
  const refusal = streams.refusal();
  if (refusal === 'stopping') return sendError(res, 503, 'CONTROLLER_STOPPING', 'the controller is stopping');
  if (refusal === 'full') return sendError(res, 503, 'TOO_MANY_STREAMS', 'too many event streams are open');
  streams.open(clusterId, after, res);
}
