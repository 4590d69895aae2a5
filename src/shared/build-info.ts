import { isSea } from 'node:sea';

/** What a packaged build knows about itself (`credgw version --json`); the version is VERSION (./version.ts). */
export interface BuildInfo {
  /** The git commit built, or null when it was not known. */
  commit: string | null;
  /** When it was built (ISO 8601, from SOURCE_DATE_EPOCH), or null. */
  builtAt: string | null;
}

// Replaced with a literal by esbuild's `define` in scripts/build-binary.mjs;
// undeclared (typeof "undefined") when running from dist/ or src/.
declare const CREDGW_BUILD: BuildInfo | undefined;

/** The build stamp of the single-executable binary; undefined from dist/. */
export const BUILD_INFO: BuildInfo | undefined = typeof CREDGW_BUILD === 'undefined' ? undefined : CREDGW_BUILD;

/** True inside the single-executable binary (Node SEA), false under `node dist/cli/main.js`. */
export function runningAsBinary(): boolean {
  return isSea();
}
