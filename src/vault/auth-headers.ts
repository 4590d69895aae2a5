import type { VaultProfile } from '../config/index.js';

/**
 * How a profile's token travels (protocol section 9): an API user's key as
 * the AUTHTOKEN header, or a PAM360 integration (application) token as
 * APP_AUTHTOKEN with the profile's appName as APP_NAME, the way
 * ManageEngine's own integrations send it. Always a header, never the query
 * string (which proxies and access logs keep).
 */

/** The header that carries the token for this profile. */
export function tokenHeaderName(profile: Pick<VaultProfile, 'tokenKind'>): 'AUTHTOKEN' | 'APP_AUTHTOKEN' {
  return profile.tokenKind === 'integration' ? 'APP_AUTHTOKEN' : 'AUTHTOKEN';
}

/** The headers that authenticate a request: the token (already checked to be a header value) and, for integrations, APP_NAME. */
export function tokenHeaders(profile: Pick<VaultProfile, 'tokenKind' | 'appName'>, token: string): Record<string, string> {
  return profile.tokenKind === 'integration' ? { APP_AUTHTOKEN: token, APP_NAME: profile.appName } : { AUTHTOKEN: token };
}

/** What the token is and how it is sent, for `vault test` and diagnose: never the token itself. */
export function describeTokenKind(profile: Pick<VaultProfile, 'tokenKind' | 'appName'>): string {
  return profile.tokenKind === 'integration'
    ? `an integration token (APP_AUTHTOKEN header, APP_NAME "${profile.appName}")`
    : "an API user's key (AUTHTOKEN header)";
}

/**
 * What to try when the vault refused the token: the other kind may be the
 * right one. A hint only: credgw never re-sends a token in another form on
 * its own (a refused attempt is one more audit entry and failed-login count
 * in the vault).
 */
export function otherTokenKindHint(profile: Pick<VaultProfile, 'tokenKind' | 'name'>): string {
  const other = profile.tokenKind === 'integration' ? 'apiUser' : 'integration';
  const what = other === 'integration' ? 'a PAM360 integration token' : "an API user's key";
  // A name with dots needs the bracket form of a key path (docs/configuration.md).
  const key = profile.name.includes('.') ? `'vaults["${profile.name}"].tokenKind'` : `vaults.${profile.name}.tokenKind`;
  return `if this token is ${what}, set tokenKind "${other}": credgw config set ${key} ${other}`;
}
