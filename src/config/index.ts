export * from './types.js';
export * from './defaults.js';
export * from './schema.js';
export { schemaProblems, keyPath, formatKeyPath } from './schema-errors.js';
export * from './config-error.js';
export * from './compile.js';
export * from './secrets.js';
export { configFile, readConfigFile, resolveConfigDir, type ConfigFile } from './config-file.js';
export type { ConfigStore, ConfigStoreOptions } from './store.js';
/**
 * The conf-backed store (writes config.json), loaded on demand: conf and
 * its dependencies (Ajv, semver, atomically) cost the daemon, which only
 * reads its config, memory and start time (docs/benchmarks.md).
 */
export const loadConfigStoreModule = (): Promise<typeof import('./store.js')> => import('./store.js');
export * from './starting-config.js';
export * from './key-path.js';
export * from './cached-secret.js';
