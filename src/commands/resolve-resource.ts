import type { ResourceRef } from '../protocol/index.js';
import { GatewayError, isHeaderValue, isPmpId } from '../shared/index.js';
import { checkNotAborted, type AuditFacts, type CommandContext } from './command-context.js';
import type { CommandProfile, VaultLease, VaultPort } from './ports.js';

/**
 * Finding the PMP resource behind a cloud resource (protocol section 5):
 * the value of the profile's `resourceIdAttribute` in
 * `resource.customAttributes` is a PMP resource ID (digits) or name. A
 * profile may also map by address (section 9): `resourceMatch` orders the
 * ways, and `resource.hostName` / `resource.ipAddress` are looked up in the
 * profile's DNS-name index (addressResource).
 */

/** What resolving needs of the command: its signal, and its facts to record what it found. */
export type ResolveContext = Pick<CommandContext, 'signal' | 'facts'>;

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
 * The value of the profile's attribute on the resource, recorded in the
 * facts; RESOURCE_NOT_MAPPED when there is none, DEADLINE_EXCEEDED (thrown)
 * once the command's signal has fired.
 */
export function mappedResource(resource: ResourceRef, profile: CommandProfile, ctx: ResolveContext): string {
  const ref = findResourceAttribute(resource, profile.resourceIdAttribute);
  if (ref === undefined) {
    throw new GatewayError('RESOURCE_NOT_MAPPED', `the resource has no "${profile.resourceIdAttribute}" custom attribute`);
  }
  ctx.facts.resource = ref;
  checkNotAborted(ctx.signal);
  return ref;
}

/**
 * The PAM360 organisation of the command (protocol section 9): the value of
 * the profile's `orgNameAttribute` on the resource, found as the resource
 * attribute is; undefined when the profile maps no organisation (its fixed
 * orgName, or none, applies). Missing or empty, or a value the orgName
 * header cannot carry (printable ISO-8859-1, shared/header-value.ts):
 * RESOURCE_NOT_MAPPED, before any vault call.
 */
export function mappedOrg(resource: ResourceRef, profile: CommandProfile): string | undefined {
  const attribute = profile.orgNameAttribute;
  if (!attribute) return undefined;
  const org = findResourceAttribute(resource, attribute);
  if (org === undefined) {
    throw new GatewayError('RESOURCE_NOT_MAPPED', `the resource has no "${attribute}" custom attribute (its PAM360 organisation)`);
  }
  if (!isHeaderValue(org)) {
    throw new GatewayError('RESOURCE_NOT_MAPPED', `the resource's "${attribute}" attribute names an organisation that cannot be sent to the vault`, {
      detail: 'an organisation name must be printable ISO-8859-1 (Latin-1)',
    });
  }
  return org;
}

/**
 * The resource of `ref` when no vault call is needed: a PMP resource ID is
 * taken as it is (the common case, one per command). Undefined for a name,
 * which only the vault resolves (lookupResource).
 */
export function knownResource(ref: string, facts: AuditFacts): ResolvedResource | undefined {
  if (!isPmpId(ref)) return undefined;
  facts.resourceId = ref;
  return { ref, id: ref, name: undefined };
}

/**
 * The resource found by address when the profile's `resourceMatch` says so
 * (protocol section 9): the first way the command carries a value for
 * decides, and a miss there is final. Undefined when the attribute decides
 * (then mappedResource and the rest, as before); RESOURCE_NOT_MAPPED
 * (thrown) when no way has a value and the attribute is not one of them.
 */
export function addressResource(resource: ResourceRef, lease: VaultLease, ctx: ResolveContext): Promise<ResolvedResource> | undefined {
  const ways = lease.profile.resourceMatch;
  // The default profile maps by attribute alone: nothing to look at.
  if (ways.length === 1 && ways[0] === 'attribute') return undefined;
  for (const way of ways) {
    if (way === 'attribute') {
      if (findResourceAttribute(resource, lease.profile.resourceIdAttribute) !== undefined) return undefined;
      continue;
    }
    const address = resource[way]?.trim();
    if (!address) continue;
    ctx.facts.resource = address;
    checkNotAborted(ctx.signal);
    const index = lease.addressIndex;
    if (!index) return Promise.reject(new GatewayError('INTERNAL', `vault profile "${lease.profile.name}" has no address index`));
    return index.lookup(address, { signal: ctx.signal }).then((found) => {
      ctx.facts.resourceId = found.id;
      return { ref: address, id: found.id, name: found.name };
    });
  }
  if (ways.includes('attribute')) return undefined;
  throw new GatewayError('RESOURCE_NOT_MAPPED', `the resource has no ${ways.join(' or ')}`);
}

/**
 * The resource of `ref` as the vault resolves it, in the command's
 * organisation (`orgName`, mappedOrg) (RESOURCE_NOT_FOUND and vault codes
 * come from the client).
 */
export function lookupResource(ref: string, vault: VaultPort, ctx: ResolveContext, orgName?: string): Promise<ResolvedResource> {
  return vault.resolveResource(ref, { signal: ctx.signal, orgName }).then((found) => {
    ctx.facts.resourceId = found.id;
    return { ref, id: found.id, name: found.name };
  });
}

/** The resource and organisation of a command that names one resource (listAccounts, checkInPassword): by address, else by attribute. */
export async function resolveCommandResource(
  resource: ResourceRef,
  lease: VaultLease,
  ctx: ResolveContext,
): Promise<{ resource: ResolvedResource; orgName: string | undefined }> {
  const { profile, client } = lease;
  const byAddress = addressResource(resource, lease, ctx);
  if (byAddress) {
    // Settled before the organisation is read, so a missing one cannot leave the lookup's rejection unhandled.
    const found = await byAddress;
    return { resource: found, orgName: mappedOrg(resource, profile) };
  }
  const ref = mappedResource(resource, profile, ctx);
  const orgName = mappedOrg(resource, profile);
  return { resource: knownResource(ref, ctx.facts) ?? (await lookupResource(ref, client, ctx, orgName)), orgName };
}
