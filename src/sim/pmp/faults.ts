import type { IncomingMessage, ServerResponse } from 'node:http';
import { EMPTY, ERROR_500_HTML, HTML_CONTENT_TYPE, LOGIN_HTML, send } from './answers.js';
import { JSON_CONTENT_TYPE } from './responses.js';
import { PmpSimError } from './sim-errors.js';

/**
 * Injected failures, so tests and benchmarks can reach every error path of
 * a vault client. Checked in injection order; the first active fault whose
 * `match` is in the request path takes the request.
 */

export type FaultKind =
  /** Destroy the socket once the request head is read (no answer at all). */
  | 'close'
  /** HTTP 500 with an HTML error page. */
  | 'http500'
  /** HTTP 200 with an empty body (what a misconfigured API-user host can yield). */
  | 'empty'
  /** HTTP 200 with an HTML page instead of JSON. */
  | 'nonjson'
  /** Never answer (until the simulator closes). */
  | 'hang';

export const FAULT_KINDS: readonly FaultKind[] = ['close', 'http500', 'empty', 'nonjson', 'hang'];

export interface Fault {
  kind: FaultKind;
  /** Substring of the request path (query excluded). Default: every PMP path. */
  match?: string;
  /** How many requests it takes before it is spent. Default: unlimited. */
  count?: number;
}

/** Checks a fault given by code or as JSON to the admin endpoint. */
export function validateFault(raw: unknown): Fault {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PmpSimError('SIM_FAULT_INVALID', '', 'a fault must be an object like {"kind":"close"}');
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k !== 'kind' && k !== 'match' && k !== 'count') {
      throw new PmpSimError('SIM_FAULT_INVALID', k, 'unknown key (allowed: kind, match, count)');
    }
  }
  const kind = o['kind'];
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new PmpSimError('SIM_FAULT_INVALID', 'kind', `must be one of ${FAULT_KINDS.join(', ')}`);
  }
  const fault: Fault = { kind: kind as FaultKind };
  if (o['match'] !== undefined) {
    if (typeof o['match'] !== 'string') throw new PmpSimError('SIM_FAULT_INVALID', 'match', 'must be a string');
    fault.match = o['match'];
  }
  if (o['count'] !== undefined) {
    const c = o['count'];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 1) {
      throw new PmpSimError('SIM_FAULT_INVALID', 'count', 'must be a positive integer');
    }
    fault.count = c;
  }
  return fault;
}

interface ActiveFault {
  kind: FaultKind;
  match: string;
  remaining: number;
}

export class FaultTable {
  private faults: ActiveFault[] = [];

  add(fault: Fault): void {
    const f = validateFault(fault);
    this.faults.push({ kind: f.kind, match: f.match ?? '', remaining: f.count ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.faults = [];
  }

  /** How many faults are still active. */
  get size(): number {
    return this.faults.length;
  }

  /** The fault that takes a request to `path`, spending one of its count; undefined when none. */
  take(path: string): FaultKind | undefined {
    if (this.faults.length === 0) return undefined;
    for (let i = 0; i < this.faults.length; i++) {
      const f = this.faults[i]!;
      if (f.match !== '' && !path.includes(f.match)) continue;
      f.remaining -= 1;
      if (f.remaining <= 0) this.faults.splice(i, 1);
      return f.kind;
    }
    return undefined;
  }
}

/** Answers a request the way `kind` fails it. */
export function applyFault(kind: FaultKind, req: IncomingMessage, res: ServerResponse): void {
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
}
