import type { VaultProfile } from '../../src/config/types.js';

/** A compiled vault profile for `url` as the vault suites use it (schema defaults, a 5 s time-out, no trust set), with `over` applied. */
export function testVaultProfile(url: string, over: Partial<VaultProfile> = {}): VaultProfile {
  return {
    name: 'pmp',
    url,
    token: 'env://PMP_TOKEN',
    tokenKind: 'apiUser',
    appName: 'credgw',
    orgName: null,
    orgNameAttribute: null,
    accountPaging: 'auto',
    resourceIdAttribute: 'PMP Resource ID',
    includeAccountNotes: false,
    requireTicketId: false,
    caFile: null,
    pinSha256: null,
    timeoutMs: 5000,
    maxConnections: 2,
    metadataTtlMs: 30_000,
    notesConcurrency: 2,
    healthIntervalMs: 15_000,
    maxResponseBytes: 24 * 1024 * 1024,
    rotationNotices: false,
    resourceMatch: ['attribute'],
    dnsIndex: { maxCallsPerMinute: 120, refreshIntervalMs: 900_000 },
    ...over,
  };
}
