export type * from './types.js';
export { createVaultClient, type VaultClientDeps } from './pmp-client.js';
export { CONNECT_RETRY_DELAYS_MS } from './pmp-transport.js';
export {
  VaultHealthMonitor,
  type MonitoredVault,
  type VaultHealthEvents,
  type VaultHealthMonitorOptions,
  type VaultHealthState,
} from './health-monitor.js';
/** Re-exported until src/commands imports isPmpId from shared/. */
export { isPmpId } from '../shared/index.js';
export { VaultTrust, type TrustMode } from './vault-trust.js';
export { describeError } from './vault-errors.js';
export { describeTokenKind, otherTokenKindHint } from './auth-headers.js';
export { instrumentVault, type InstrumentedVault, type VaultCallObserver } from './instrumented-vault.js';
export { DnsIndex } from './dns-index.js';
export { needsDnsIndex, type DnsIndexOptions, type DnsIndexState, type DnsIndexStats, type DnsMatch } from './dns-index-options.js';
export { normalizeAddress } from './dns-index-address.js';
export type { AddressEntry, IndexedResource } from './dns-index-table.js';
