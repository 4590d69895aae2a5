import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import type { Logger } from 'pino';
import { hasBody, readBody } from '../http-body.js';
import { ADMIN_PREFIX, adminJson, handleAdmin, type AdminTarget } from './admin-api.js';
import { applyFault, type FaultTable } from './faults.js';
import type { PmpApi } from './pmp-api.js';
import type { SimStats } from './stats.js';

/**
 * The simulator's front door: the admin endpoint apart, every request is
 * counted, may be taken by an injected fault, and else goes to the PMP API
 * with its body read.
 */

const MAX_BODY_BYTES = 64 * 1024;

export interface RequestHandlerParts {
  api: PmpApi;
  admin: AdminTarget;
  faults: FaultTable;
  stats: SimStats;
  log: Logger;
}

export function pmpRequestHandler({ api, admin, faults, stats, log }: RequestHandlerParts): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q + 1);
    if (path.startsWith(ADMIN_PREFIX)) {
      handleAdmin(req, res, path, admin).catch((err: unknown) => {
        log.warn({ err }, 'pmp simulator admin call failed');
        if (!res.headersSent) adminJson(res, 500, { error: 'admin call failed' });
      });
      return;
    }
    // Resolve dot segments as the servlet container does, so a client that
    // puts "../" in a path is seen (in stats) calling where it really lands.
    if (path.includes('/.') || path.includes('//')) path = posix.normalize(path);
    stats.countRequest(path);
    // Never the query: it may hold a legacy ?AUTHTOKEN=.
    log.debug({ method: req.method, path }, 'pmp simulator request');
    const fault = faults.take(path);
    if (fault) {
      applyFault(fault, req, res);
      return;
    }
    if (!hasBody(req)) {
      api.handle(req, res, path, query, undefined);
      return;
    }
    const socket = req.socket;
    readBody(req, MAX_BODY_BYTES).then(
      (body) => {
        if (body === null) socket.destroy();
        else api.handle(req, res, path, query, body.toString('utf8'));
      },
      () => socket.destroy(),
    );
  };
}
