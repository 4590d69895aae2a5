import { GatewayError, isHeaderValue } from '../shared/index.js';
import type { CallOptions } from './types.js';

/**
 * The organisation of a call: its own (checked to be a header value, else
 * RESOURCE_NOT_MAPPED: the resource's attribute names no usable
 * organisation), else the profile's (`profileOrg`).
 */
export function callOrg(opts: CallOptions | undefined, profileOrg: string | null): string | null {
  const org = opts?.orgName;
  if (org === undefined) return profileOrg;
  if (org === null) return null;
  if (typeof org !== 'string' || !isHeaderValue(org)) {
    throw new GatewayError('RESOURCE_NOT_MAPPED', 'the resource\'s organisation cannot be sent to the vault', {
      detail: 'orgName must be 1-256 printable ISO-8859-1 characters without leading or trailing spaces',
    });
  }
  return org;
}
