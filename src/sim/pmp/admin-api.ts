import type { IncomingMessage, ServerResponse } from 'node:http';
import { hasBody, readBody } from '../http-body.js';
import type { AccessControl, RequestSelector } from './access-control.js';
import { send, type Answerer } from './answers.js';
import type { AuditTrail } from './audit-trail.js';
import { isLoopbackAddress } from './auth.js';
import { validateFault, type FaultTable } from './faults.js';
import type { Rotator } from './rotation.js';
import { PmpSimError } from './sim-errors.js';
import type { SimStats } from './stats.js';

/**
 * The simulator's own endpoint under /__sim/ (loopback callers only):
 * inject and clear faults, read and reset the stats, set the latency;
 * approve, reject and list access requests (as an approver in the UI),
 * rotate a password (a scheduled rotation), read the audit trail.
 * docs/pmp-simulator.md lists the calls.
 */

export const ADMIN_PREFIX = '/__sim/';
const MAX_BODY_BYTES = 64 * 1024;

/** What the admin calls change. */
export interface AdminTarget {
  faults: FaultTable;
  stats: SimStats;
  answerer: Answerer;
  access: AccessControl;
  rotation: Rotator;
  audit: AuditTrail;
}

/** One admin call: `json()` parses the body (SIM_FAULT_INVALID when it is not JSON); returns (or resolves to) the 200 answer. */
type AdminCall = (json: () => unknown, target: AdminTarget) => unknown;

/** An admin call's JSON body as an object (an approver's choice of request, a rotation). */
function bodyObject(json: () => unknown): Record<string, unknown> {
  const v = json();
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PmpSimError('SIM_ADMIN_INVALID', '', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

function approver(b: Record<string, unknown>): string {
  return typeof b['approver'] === 'string' && b['approver'] !== '' ? b['approver'] : 'admin';
}

const ADMIN_CALLS = new Map<string, AdminCall>([
  [
    'POST /__sim/faults',
    (json, { faults }) => {
      faults.add(validateFault(json()));
      return { ok: true, activeFaults: faults.size };
    },
  ],
  [
    'DELETE /__sim/faults',
    (_json, { faults }) => {
      faults.clear();
      return { ok: true, activeFaults: 0 };
    },
  ],
  ['GET /__sim/stats', (_json, { stats }) => stats.snapshot()],
  [
    'DELETE /__sim/stats',
    (_json, { stats }) => {
      stats.reset();
      return { ok: true };
    },
  ],
  [
    'POST /__sim/latency',
    (json, { answerer }) => {
      const parsed = json() as { ms?: unknown } | null;
      return { ok: true, latencyMs: answerer.setLatency(parsed?.ms) };
    },
  ],
  ['GET /__sim/requests', (_json, { access }) => ({ requests: access.list() })],
  [
    'POST /__sim/requests/approve',
    (json, { access }) => {
      const b = bodyObject(json);
      return { ok: true, request: access.approve(b as RequestSelector, approver(b)) };
    },
  ],
  [
    'POST /__sim/requests/reject',
    (json, { access }) => {
      const b = bodyObject(json);
      return { ok: true, request: access.reject(b as RequestSelector, approver(b), typeof b['note'] === 'string' ? b['note'] : '') };
    },
  ],
  ['POST /__sim/rotate', (json, { rotation }) => rotation.rotate(bodyObject(json))],
  ['GET /__sim/audit', (_json, { audit }) => ({ rows: audit.rows() })],
  [
    'DELETE /__sim/audit',
    (_json, { audit }) => {
      audit.clear();
      return { ok: true };
    },
  ],
]);

export function adminJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', Buffer.from(JSON.stringify(value)));
}

/** Answers one admin call; rejects only on an I/O failure (the caller answers 500). */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, target: AdminTarget): Promise<void> {
  if (!isLoopbackAddress(req.socket.remoteAddress)) {
    adminJson(res, 403, { error: 'the simulator admin endpoint answers loopback callers only' });
    return;
  }
  const socket = req.socket;
  let body = '';
  if (hasBody(req)) {
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === null) {
      socket.destroy();
      throw new Error('request body too large');
    }
    body = raw.toString('utf8');
  }
  const json = (): unknown => {
    try {
      return JSON.parse(body);
    } catch {
      throw new PmpSimError('SIM_FAULT_INVALID', '', 'request body must be JSON');
    }
  };
  const key = `${req.method ?? ''} ${path}`;
  const call = ADMIN_CALLS.get(key);
  if (!call) {
    adminJson(res, 404, { error: 'unknown simulator admin call', call: key });
    return;
  }
  try {
    adminJson(res, 200, await call(json, target));
  } catch (err) {
    if (err instanceof PmpSimError) adminJson(res, 400, { error: err.message, code: err.code });
    else throw err;
  }
}
