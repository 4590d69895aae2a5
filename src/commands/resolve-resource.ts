import type { AbortLike } from '../shared/abort.js';
import type { VaultProfile } from '../config/types.js';
import type { ResourceRef } from '../protocol/index.js';
import { GatewayError } from '../shared/errors.js';
import { isPmpId } from '../vault/pmp-paths.js';
import type { VaultClient } from '../vault/types.js';
import { checkNotAborted, type AuditFacts } from './command-context.js';

/**
 * Finding the PMP resource behind a cloud resource (protocol section 5):
 * the value of the profile's `resourceIdAttribute` in
 * `resource.customAttributes` is a PMP resource ID (digits) or name.
 */

export interface ResolvedResource {
  /** The attribute's value as the cloud sent it (trimmed). */
  ref: string;
  /** PMP RESOURCE ID. */
  id: string;
  /** PMP RESOURCE NAME when the client knows it (a lookup by ID may not). */
  name: string | undefined;
}

/**
 * The attribute's value, or undefined when the resource does not carry it.
 *
 * The exact key wins. Failing that, a key that differs only in letter case
 * is accepted: cloud consoles and operators spell attribute labels
 * inconsistently ("PMP Resource Id"), and matching is safe because the value
 * still has to resolve in PMP and pass the allow-list. When two or more keys
 * match case-insensitively and none exactly, the choice would be a guess, so
 * the resource counts as not mapped. Values are trimmed; an empty value is
 * not a mapping.
 */
export function findResourceAttribute(resource: ResourceRef, attribute: string): string | undefined {
  const attrs = resource.customAttributes;
  let value: string | undefined;
  if (Object.prototype.hasOwnProperty.call(attrs, attribute)) {
    value = attrs[attribute];
  } else {
    const wanted = attribute.toLowerCase();
    const matches = Object.keys(attrs).filter((k) => k.toLowerCase() === wanted);
    if (matches.length === 1) value = attrs[matches[0] as string];
  }
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * The resolved resource, or RESOURCE_NOT_MAPPED (thrown, as is
 * DEADLINE_EXCEEDED once the signal has fired). A PMP resource ID needs no
 * vault call and is the common case (one per command): it comes back as it
 * is, with no promise. A name comes back as a promise of the client's lookup
 * (RESOURCE_NOT_FOUND and vault codes come from the client).
 */
export function resolveResource(
  resource: ResourceRef,
  profile: VaultProfile,
  client: VaultClient,
  signal: AbortLike,
  facts: AuditFacts,
): ResolvedResource | Promise<ResolvedResource> {
  const ref = findResourceAttribute(resource, profile.resourceIdAttribute);
  if (ref === undefined) {
    throw new GatewayError('RESOURCE_NOT_MAPPED', `the resource has no "${profile.resourceIdAttribute}" custom attribute`);
  }
  facts.resource = ref;
  checkNotAborted(signal);
  if (isPmpId(ref)) {
    facts.resourceId = ref;
    return { ref, id: ref, name: undefined };
  }
  return client.resolveResource(ref, { signal }).then((found) => {
    facts.resourceId = found.id;
    return { ref, id: found.id, name: found.name };
  });
}
