import { ERROR_RETRYABLE, isErrorCode } from '../shared/index.js';
import { decodeAccessParams } from './access-params.js';
import { decodeAck, decodeEvent } from './event-codec.js';
import type { Decoded, ProtocolViolation, RejectedCommand } from './decoded.js';
import { jsonShapeProblem, type JsonShapeProblem } from './json-shape.js';
import {
  COMMAND_NAMES,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_LIST_LIMIT,
  MAX_FRAME_BYTES,
  MAX_LIST_LIMIT,
  MAX_COMMAND_TIMEOUT_MS,
  MIN_COMMAND_TIMEOUT_MS,
  PROTOCOL_VERSION,
  type CommandMessage,
  type ControllerMessage,
  type GatewayMessage,
  type HealthMessage,
  type HelloMessage,
  type ResourceRef,
  type ResultError,
  type ResultMessage,
  type Role,
  type VaultHealth,
} from './messages.js';
import { isEpoch, isId, isNonEmptyString, isObject, isOptionalString } from './validate.js';

/**
 * Decoding and validation of frames, both directions. Pure: text in,
 * a typed message or a precise verdict out. Limits not fixed by
 * shared/design/protocol.md are ours and written in docs/protocol.md.
 */

export const LIMITS = {
  vaultName: 128,
  resourceField: 512,
  attributeName: 256,
  attributeValue: 512,
  attributes: 256,
  accountId: 64,
  ticketId: 256,
  reason: 1024,
  requestedBy: 256,
  recipientKey: 16 * 1024,
  version: 64,
  vaults: 64,
  capabilities: 32,
  message: 4096,
} as const;


function violation(reason: string): ProtocolViolation {
  return { kind: 'violation', reason };
}

/** What parseJson returns for text that is not JSON (no wrapper object per frame). */
const NOT_JSON: unique symbol = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

// ---- controller → gateway -------------------------------------------------

/** Decodes a frame the gateway received. */
export function decodeControllerFrame(text: string): Decoded<ControllerMessage> {
  const shape = jsonShapeProblem(text);
  if (shape !== null) return refuseShape(shape);
  const v = parseJson(text);
  if (v === NOT_JSON) return violation('frame is not JSON');
  if (!isObject(v)) return violation('frame is not a JSON object');
  switch (v['type']) {
    case 'welcome':
      return decodeWelcome(v);
    case 'role':
      return decodeRole(v);
    case 'command':
      return decodeCommand(v);
    case 'ack':
      return decodeAck(v);
    default:
      return violation(typeof v['type'] === 'string' ? `unknown frame type "${truncate(v['type'], 40)}"` : 'frame has no type');
  }
}

/** A frame too deep or too large to parse: a command with a usable id still gets its BAD_REQUEST (section 5). */
function refuseShape({ problem, head }: JsonShapeProblem): Decoded<ControllerMessage> {
  if (head.type !== 'command' || !isId(head.id)) return violation(problem);
  return { kind: 'rejected', id: head.id, epoch: isEpoch(head.epoch) ? head.epoch : null, code: 'BAD_REQUEST', message: problem };
}

function isRole(v: unknown): v is Role {
  return v === 'active' || v === 'standby';
}

function decodeWelcome(v: Record<string, unknown>): Decoded<ControllerMessage> {
  if (v['protocol'] !== PROTOCOL_VERSION) return { kind: 'version', reason: `welcome speaks protocol ${String(v['protocol'])}` };
  const heartbeatMs = v['heartbeatMs'] ?? DEFAULT_HEARTBEAT_MS;
  if (typeof heartbeatMs !== 'number' || !Number.isInteger(heartbeatMs) || heartbeatMs < 50 || heartbeatMs > 600_000) {
    return violation('welcome.heartbeatMs must be an integer from 50 to 600000');
  }
  if (!isRole(v['role'])) return violation('welcome.role must be "active" or "standby"');
  if (!isEpoch(v['epoch'])) return violation('welcome.epoch must be a non-negative integer');
  return { kind: 'message', message: { type: 'welcome', protocol: PROTOCOL_VERSION, heartbeatMs, role: v['role'], epoch: v['epoch'] } };
}

function decodeRole(v: Record<string, unknown>): Decoded<ControllerMessage> {
  if (!isRole(v['role'])) return violation('role.role must be "active" or "standby"');
  if (!isEpoch(v['epoch'])) return violation('role.epoch must be a non-negative integer');
  return { kind: 'message', message: { type: 'role', role: v['role'], epoch: v['epoch'] } };
}

/** The optional string params of getPassword and checkInPassword and their limits (one constant, not an array per frame). */
const OPTIONAL_ACCOUNT_STRINGS = [
  ['ticketId', LIMITS.ticketId],
  ['reason', LIMITS.reason],
  ['requestedBy', LIMITS.requestedBy],
] as const;

/** Validates a `command` frame (section 5). */
export function decodeCommand(v: Record<string, unknown>): Decoded<ControllerMessage> {
  const id = v['id'];
  if (!isId(id)) return violation('command.id must be 1-128 characters of [A-Za-z0-9._:-]');
  const epochValue = v['epoch'];
  const epoch = isEpoch(epochValue) ? epochValue : null;
  const reject = (code: RejectedCommand['code'], message: string): RejectedCommand => ({ kind: 'rejected', id, epoch, code, message });
  if (epoch === null) return reject('BAD_REQUEST', 'epoch must be a non-negative integer');
  const name = v['name'];
  if (typeof name !== 'string') return reject('BAD_REQUEST', 'name must be a string');
  if (!(COMMAND_NAMES as readonly string[]).includes(name)) {
    return reject('UNKNOWN_COMMAND', `unknown command "${truncate(name, 64)}"`);
  }
  const timeoutMs = v['timeoutMs'] ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < MIN_COMMAND_TIMEOUT_MS || timeoutMs > MAX_COMMAND_TIMEOUT_MS) {
    return reject('BAD_REQUEST', `timeoutMs must be an integer from ${MIN_COMMAND_TIMEOUT_MS} to ${MAX_COMMAND_TIMEOUT_MS}`);
  }
  const p = v['params'];
  if (!isObject(p)) return reject('BAD_REQUEST', 'params must be an object');
  if (!isNonEmptyString(p['vault'], LIMITS.vaultName)) return reject('BAD_REQUEST', `params.vault must be a string of 1-${LIMITS.vaultName} characters`);
  const resource = decodeResource(p['resource']);
  if (typeof resource === 'string') return reject('BAD_REQUEST', resource);
  if (name === 'listAccounts') {
    const offset = p['offset'] ?? 0;
    if (!isEpoch(offset)) return reject('BAD_REQUEST', 'params.offset must be a non-negative integer');
    const limit = p['limit'] ?? DEFAULT_LIST_LIMIT;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      return reject('BAD_REQUEST', `params.limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    return { kind: 'message', message: { type: 'command', id, epoch, timeoutMs, name, params: { vault: p['vault'], resource, offset, limit } } };
  }
  const accountId = p['accountId'];
  if (typeof accountId !== 'string' || !/^\d{1,64}$/.test(accountId)) {
    return reject('BAD_REQUEST', 'params.accountId must be a PMP account ID (a string of digits)');
  }
  for (const [key, max] of OPTIONAL_ACCOUNT_STRINGS) {
    if (!isOptionalString(p[key], max)) return reject('BAD_REQUEST', `params.${key} must be a string of at most ${max} characters`);
  }
  const ticketId = emptyToUndefined(p['ticketId'] as string | undefined);
  const reason = emptyToUndefined(p['reason'] as string | undefined);
  const requestedBy = emptyToUndefined(p['requestedBy'] as string | undefined);
  if (name === 'checkInPassword') {
    // The password-only params (recipientKey, requestAccess, accessWindow) are extra fields here: ignored (rule 7).
    const params = { vault: p['vault'], resource, accountId, ticketId, reason, requestedBy };
    return { kind: 'message', message: { type: 'command', id, epoch, timeoutMs, name, params } };
  }
  if (!isOptionalString(p['recipientKey'], LIMITS.recipientKey)) {
    return reject('BAD_REQUEST', `params.recipientKey must be a string of at most ${LIMITS.recipientKey} characters`);
  }
  const access = decodeAccessParams(p);
  if (typeof access === 'string') return reject('BAD_REQUEST', access);
  const command: CommandMessage = {
    type: 'command',
    id,
    epoch,
    timeoutMs,
    name: 'getPassword',
    params: {
      vault: p['vault'],
      resource,
      accountId,
      ticketId,
      reason,
      requestedBy,
      recipientKey: emptyToUndefined(p['recipientKey'] as string | undefined),
      requestAccess: access.requestAccess,
      accessWindow: access.accessWindow,
    },
  };
  return { kind: 'message', message: command };
}

function emptyToUndefined(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s;
}

/**
 * `params.resource`: an object; `customAttributes`, when present, an object.
 * Attribute values that are strings are kept, integers are turned into
 * strings, anything else is dropped (it cannot name a PMP resource; if it was
 * the profile's attribute the command gets RESOURCE_NOT_MAPPED).
 */
function decodeResource(r: unknown): ResourceRef | string {
  if (!isObject(r)) return 'params.resource must be an object';
  if (!isOptionalString(r['id'], LIMITS.resourceField)) return 'params.resource.id must be a string';
  if (!isOptionalString(r['name'], LIMITS.resourceField)) return 'params.resource.name must be a string';
  // null is "not known" for these two: a cloud record may have no address, and the attribute may still map it.
  if (r['hostName'] !== null && !isOptionalString(r['hostName'], LIMITS.resourceField)) return 'params.resource.hostName must be a string';
  if (r['ipAddress'] !== null && !isOptionalString(r['ipAddress'], LIMITS.resourceField)) return 'params.resource.ipAddress must be a string';
  const raw = r['customAttributes'] ?? {};
  if (!isObject(raw)) return 'params.resource.customAttributes must be an object';
  const entries = Object.entries(raw);
  if (entries.length > LIMITS.attributes) return `params.resource.customAttributes has more than ${LIMITS.attributes} entries`;
  const customAttributes: Record<string, string> = {};
  for (const [k, value] of entries) {
    if (k.length > LIMITS.attributeName) return 'params.resource.customAttributes has a name that is too long';
    if (typeof value === 'string') {
      if (value.length > LIMITS.attributeValue) return `params.resource.customAttributes["${truncate(k, 40)}"] is too long`;
      customAttributes[k] = value;
    } else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      customAttributes[k] = String(value);
    }
  }
  const resource: ResourceRef = { id: r['id'] as string | undefined, name: r['name'] as string | undefined, customAttributes };
  // Only when sent, so a resource without them decodes as it always has.
  if (typeof r['hostName'] === 'string') resource.hostName = r['hostName'];
  if (typeof r['ipAddress'] === 'string') resource.ipAddress = r['ipAddress'];
  return resource;
}

// ---- gateway → controller -------------------------------------------------

/** Decodes a frame the controller received. */
export function decodeGatewayFrame(text: string): Decoded<GatewayMessage> {
  const shape = jsonShapeProblem(text);
  if (shape !== null) return violation(shape.problem);
  const v = parseJson(text);
  if (v === NOT_JSON) return violation('frame is not JSON');
  if (!isObject(v)) return violation('frame is not a JSON object');
  switch (v['type']) {
    case 'hello':
      return decodeHello(v);
    case 'result':
      return decodeResult(v);
    case 'resign':
      return isEpoch(v['epoch']) ? { kind: 'message', message: { type: 'resign', epoch: v['epoch'] } } : violation('resign.epoch must be a non-negative integer');
    case 'health': {
      const vaults = decodeVaultHealth(v['vaults']);
      if (typeof vaults === 'string') return violation(vaults);
      const message: HealthMessage = { type: 'health', vaults };
      return { kind: 'message', message };
    }
    case 'event':
      return decodeEvent(v);
    default:
      return violation(typeof v['type'] === 'string' ? `unknown frame type "${truncate(v['type'], 40)}"` : 'frame has no type');
  }
}

function decodeVaultHealth(v: unknown): VaultHealth[] | string {
  if (!Array.isArray(v) || v.length > LIMITS.vaults) return `vaults must be an array of at most ${LIMITS.vaults} entries`;
  const out: VaultHealth[] = [];
  for (const item of v) {
    if (!isObject(item) || !isNonEmptyString(item['name'], LIMITS.vaultName) || typeof item['healthy'] !== 'boolean') {
      return 'each vault must have a name and a boolean healthy';
    }
    const error = item['error'];
    out.push({ name: item['name'], healthy: item['healthy'], ...(isErrorCode(error) ? { error } : {}) });
  }
  return out;
}

function decodeHello(v: Record<string, unknown>): Decoded<GatewayMessage> {
  if (v['protocol'] !== PROTOCOL_VERSION) return { kind: 'version', reason: `hello speaks protocol ${String(v['protocol'])}` };
  if (!isId(v['gatewayId'])) return violation('hello.gatewayId is not a valid id');
  if (!isId(v['clusterId'])) return violation('hello.clusterId is not a valid id');
  if (!isNonEmptyString(v['version'], LIMITS.version)) return violation('hello.version must be a string');
  const priority = v['priority'] ?? 0;
  if (typeof priority !== 'number' || !Number.isSafeInteger(priority)) return violation('hello.priority must be an integer');
  const caps = v['capabilities'] ?? [];
  if (!Array.isArray(caps) || caps.length > LIMITS.capabilities || !caps.every((c) => typeof c === 'string')) {
    return violation('hello.capabilities must be an array of strings');
  }
  const vaults = decodeVaultHealth(v['vaults'] ?? []);
  if (typeof vaults === 'string') return violation(vaults);
  const message: HelloMessage = {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    gatewayId: v['gatewayId'],
    clusterId: v['clusterId'],
    version: v['version'],
    priority,
    capabilities: caps as string[],
    vaults,
  };
  return { kind: 'message', message };
}

function decodeResult(v: Record<string, unknown>): Decoded<GatewayMessage> {
  if (!isId(v['id'])) return violation('result.id is not a valid id');
  if (!isEpoch(v['epoch'])) return violation('result.epoch must be a non-negative integer');
  if (v['ok'] === true) {
    if (!isObject(v['data'])) return violation('result.data must be an object');
    const message: ResultMessage = { type: 'result', id: v['id'], epoch: v['epoch'], ok: true, data: v['data'] };
    return { kind: 'message', message };
  }
  if (v['ok'] === false) {
    const e = v['error'];
    if (!isObject(e) || !isErrorCode(e['code']) || typeof e['message'] !== 'string' || typeof e['retryable'] !== 'boolean') {
      return violation('result.error must have a known code, a message and retryable');
    }
    const error: ResultError['error'] = { code: e['code'], message: truncate(e['message'], LIMITS.message), retryable: e['retryable'] };
    // A hint only (section 10): a value that is not a non-negative integer is dropped, not a violation.
    if (isEpoch(e['retryAfterMs'])) error.retryAfterMs = e['retryAfterMs'];
    const message: ResultMessage = { type: 'result', id: v['id'], epoch: v['epoch'], ok: false, error };
    return { kind: 'message', message };
  }
  return violation('result.ok must be a boolean');
}

// ---- encoding -------------------------------------------------------------

/** One frame's text. Messages are plain data; JSON.stringify is the encoder. */
export function encode(message: GatewayMessage | ControllerMessage): string {
  return JSON.stringify(message);
}

/** True when `text` would not fit in one frame (section 1). */
export function exceedsFrame(text: string): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only long texts need counting.
  return text.length * 3 > MAX_FRAME_BYTES && Buffer.byteLength(text) > MAX_FRAME_BYTES;
}

/**
 * What goes out in place of a result too large for one frame (section 5):
 * RESULT_TOO_LARGE for the same id and epoch, so the command still gets its
 * one result.
 */
export function resultTooLarge(message: ResultMessage, bytes: number): ResultMessage {
  return {
    type: 'result',
    id: message.id,
    epoch: message.epoch,
    ok: false,
    error: { code: 'RESULT_TOO_LARGE', message: `the result is ${bytes} bytes, over the ${MAX_FRAME_BYTES}-byte frame limit`, retryable: ERROR_RETRYABLE.RESULT_TOO_LARGE },
  };
}

/** Shortens text for logs of bad frames (never logs a whole frame). */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
