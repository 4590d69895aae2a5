/**
 * The package version, as package.json has it. A constant, so that every
 * way credgw runs (dist/, the tests, the single-executable binary) has it
 * without reading a file: `npm version` rewrites it
 * (scripts/sync-version.mjs) and test/unit/shared/version.test.ts fails
 * when the two differ.
 */
export const VERSION = '0.1.0';
