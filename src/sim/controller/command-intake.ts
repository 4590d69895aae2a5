import { randomUUID } from 'node:crypto';
import { DEFAULT_COMMAND_TIMEOUT_MS, MAX_FRAME_BYTES, decodeCommand, isId, isObject } from '../../protocol/index.js';
import type { ApiErrorCode, CommandOutcome } from './hub-types.js';

/**
 * What the hub checks before it accepts a command from the API: the body's
 * fields, the command itself (as a gateway would decode it), its frame
 * size, and the fingerprint that recognises a resubmission.
 */

/** A command that passed every check, as the hub queues it. */
export interface Submission {
  id: string;
  name: string;
  params: Record<string, unknown>;
  timeoutMs: number;
  /** The same for a resubmission of the same command (see stableStringify). */
  fingerprint: string;
}

export type SubmissionCheck = { kind: 'accepted'; submission: Submission } | { kind: 'refused'; outcome: CommandOutcome };

export function apiError(status: 400 | 409 | 413 | 503 | 504, code: ApiErrorCode, message: string, id?: string): CommandOutcome {
  const retryable = status === 503 || status === 504;
  return { status, body: { ...(id === undefined ? {} : { id }), error: { code, message, retryable } } };
}

/** JSON with sorted keys, to recognise a resubmission of the same command. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableStringify(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const SUBMISSION_FIELDS = new Set(['id', 'name', 'params', 'timeoutMs']);

/** Checks a submission body `{"name","params","timeoutMs"?,"id"?}` for `clusterId`. */
export function checkSubmission(clusterId: string, body: unknown): SubmissionCheck {
  const refuse = (outcome: CommandOutcome): SubmissionCheck => ({ kind: 'refused', outcome });
  if (!isId(clusterId)) return refuse(apiError(400, 'BAD_CLUSTER_ID', 'cluster id must be 1-128 characters of [A-Za-z0-9._:-]'));
  if (!isObject(body)) return refuse(apiError(400, 'BAD_REQUEST', 'body must be a JSON object'));
  const extra = Object.keys(body).find((k) => !SUBMISSION_FIELDS.has(k));
  if (extra !== undefined) return refuse(apiError(400, 'BAD_REQUEST', `unknown field "${extra.slice(0, 64)}"`));
  const suppliedId = body['id'];
  if (suppliedId !== undefined && !isId(suppliedId)) {
    return refuse(apiError(400, 'BAD_REQUEST', 'id must be 1-128 characters of [A-Za-z0-9._:-]'));
  }
  const id = suppliedId ?? randomUUID();
  const timeoutMs = body['timeoutMs'] ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const frame = { type: 'command', id, epoch: Number.MAX_SAFE_INTEGER, name: body['name'], timeoutMs, params: body['params'] };
  const decoded = decodeCommand(frame);
  if (decoded.kind === 'rejected') return refuse(apiError(400, decoded.code, decoded.message, id));
  if (decoded.kind !== 'message') return refuse(apiError(400, 'BAD_REQUEST', 'not a valid command', id));
  if (Buffer.byteLength(JSON.stringify(frame)) > MAX_FRAME_BYTES) {
    return refuse(apiError(413, 'BODY_TOO_LARGE', 'the command frame would exceed 1 MiB', id));
  }
  const name = body['name'] as string;
  const params = body['params'] as Record<string, unknown>;
  const fingerprint = stableStringify({ name, params, timeoutMs });
  return { kind: 'accepted', submission: { id, name, params, timeoutMs: timeoutMs as number, fingerprint } };
}
