import { GatewayError, isPmpId } from '../shared/index.js';
import type { PasswordRequest } from './types.js';

/** Re-exported for commands/resolve-resource.ts until it imports isPmpId from shared/. */
export { isPmpId };

/**
 * The URLs of the PMP REST API (shared/reference/pmp-api.md). Only IDs
 * ever reach a path, and only after they are checked to be digits: a
 * resource "name" such as `../../user/regenerateAuthtoken` can never turn
 * into a call to another endpoint. Names travel only as query values.
 */

export const API_BASE = '/restapi/json/v1';

/** 6. The cheap authenticated call used as a health probe. */
export const PROBE_PATH = `${API_BASE}/resources/resourcetypes`;

/** 1. All resources of the API user. */
export const RESOURCES_PATH = `${API_BASE}/resources`;

export function assertResourceId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !isPmpId(id)) {
    throw new GatewayError('RESOURCE_NOT_FOUND', 'a resource ID must be a number', { detail: 'resource ID is not 1-18 digits' });
  }
}

export function assertAccountId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !isPmpId(id)) {
    throw new GatewayError('ACCOUNT_NOT_FOUND', 'an account ID must be a number', { detail: 'account ID is not 1-18 digits' });
  }
}

// Each path function checks its IDs itself, right before they are written into
// the path: digits only, which need no percent-encoding.

/** 2. Accounts of a resource. */
export function accountsPath(resourceId: string): string {
  assertResourceId(resourceId);
  return `${API_BASE}/resources/${resourceId}/accounts`;
}

/** 3. Details (notes) of an account. */
export function accountDetailsPath(resourceId: string, accountId: string): string {
  assertResourceId(resourceId);
  assertAccountId(accountId);
  return `${API_BASE}/resources/${resourceId}/accounts/${accountId}`;
}

/** 4. The password of an account. */
export function passwordPath(resourceId: string, accountId: string): string {
  return `${accountDetailsPath(resourceId, accountId)}/password`;
}

/**
 * The password call's query string: `INPUT_DATA` with REASON and TICKETID
 * (only those given), or undefined when there is neither.
 */
export function passwordQuery(req: PasswordRequest): string | undefined {
  if (!req.reason && !req.ticketId) return undefined;
  const details: Record<string, string> = {};
  if (req.reason) details['REASON'] = req.reason;
  if (req.ticketId) details['TICKETID'] = req.ticketId;
  if (Object.keys(details).length === 0) return undefined;
  return `INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: details } }))}`;
}

/**
 * The account list call's paging query: `INPUT_DATA` with STARTINDEX and
 * LIMIT, as PAM360's "Fetch the Accounts that are Part of a Resource" page
 * documents them (numbers; whether STARTINDEX counts from 0 or 1 is not
 * documented: account-pager.ts learns it).
 */
export function accountPageQuery(startIndex: number, limit: number): string {
  if (!Number.isSafeInteger(startIndex) || startIndex < 0 || !Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError('STARTINDEX must be an integer >= 0 and LIMIT an integer >= 1');
  }
  return `INPUT_DATA=${encodeURIComponent(JSON.stringify({ operation: { Details: { STARTINDEX: startIndex, LIMIT: limit } } }))}`;
}
