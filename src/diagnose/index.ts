export { runDiagnostics, type DiagnoseOptions } from './run-diagnostics.js';
export { formatCheck, summarize, type CheckLevel, type CheckResult } from './check.js';
export { CERT_EXPIRY_WARN_MS, SKEW_FAIL_MS, SKEW_WARN_MS } from './controller.js';
export { testVaultConnection, type TestVaultConnectionOptions, type VaultCheck } from './vault.js';
