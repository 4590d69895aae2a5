import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTML_CONTENT_TYPE, NOT_FOUND_HTML, send, type Answerer } from './answers.js';
import type { AccessControl } from './access-control.js';
import type { PmpAuth } from './auth.js';
import type { PmpSimBehaviour } from './behaviour.js';
import type { SimHooks } from './hooks.js';
import { requestParams } from './request-params.js';
import type { CompiledResponses } from './responses.js';
import type { PmpRouter } from './routes.js';
import type { SimStats } from './stats.js';

/**
 * PMP's REST API v1 as a request goes through it: parameters,
 * authentication (before anything else, whatever the path), the method, the
 * route, and the answer after the configured latency.
 */

export const API_PREFIX = '/restapi/json/v1/';

export interface PmpApiParts {
  router: PmpRouter;
  auth: PmpAuth;
  responses: CompiledResponses;
  stats: SimStats;
  answerer: Answerer;
  behaviour: PmpSimBehaviour;
  hooks: SimHooks;
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
    const { router, auth, responses, stats, answerer, behaviour, hooks, access } = this.parts;
    const params = requestParams(query, body);
    const authenticated = auth.authenticate(req, params);
    if (!authenticated.ok) {
      answerer.answer(res, authenticated.answer);
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
        answerer.answer(res, found.handler({ args: found.args, params, responses, stats, caller: authenticated.caller, behaviour, hooks, access }));
    }
  }
}
