import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTML_CONTENT_TYPE, NOT_FOUND_HTML, send, type Answerer } from './answers.js';
import type { AccessControl } from './access-control.js';
import type { ApiUsers } from './auth.js';
import { requestParams } from './request-params.js';
import type { CompiledResponses } from './responses.js';
import type { PmpRouter } from './routes.js';
import type { SimStats } from './stats.js';

/**
 * PMP's REST API v1 as a request goes through it: parameters, the API-user
 * check (before anything else, whatever the path), the method, the route,
 * and the answer after the configured latency.
 */

export const API_PREFIX = '/restapi/json/v1/';

export interface PmpApiParts {
  router: PmpRouter;
  users: ApiUsers;
  responses: CompiledResponses;
  stats: SimStats;
  answerer: Answerer;
  access: AccessControl;
}

export class PmpApi {
  constructor(private readonly parts: PmpApiParts) {}

  /** Answers one request; `path` is without its query, `body` undefined when the request had none. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: string, body: string | undefined): void {
    if (!path.startsWith(API_PREFIX)) {
      send(res, 404, HTML_CONTENT_TYPE, NOT_FOUND_HTML);
      return;
    }
    const { router, users, responses, stats, answerer, access } = this.parts;
    const params = requestParams(query, body);
    const denied = users.refusal(req, params);
    if (denied) {
      answerer.answer(res, denied);
      return;
    }
    const found = router.match(req.method ?? '', path.slice(API_PREFIX.length));
    switch (found.kind) {
      case 'method-not-allowed':
        res.writeHead(405, ['Allow', found.allow, 'Content-Length', '0']);
        res.end();
        return;
      case 'not-found':
        send(res, 404, HTML_CONTENT_TYPE, NOT_FOUND_HTML);
        return;
      case 'found':
        answerer.answer(res, found.handler({ args: found.args, params, responses, stats, access, caller: users.caller(req, params) }));
    }
  }
}
