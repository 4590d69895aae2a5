import { createRequire } from 'node:module';
import type * as Forge from 'node-forge';

/**
 * node-forge, loaded on first use: only certificate making (the simulators,
 * the demo, tests) needs it, so it stays out of the daemon (start-up and
 * memory: docs/benchmarks.md#memory-and-start-up). node-forge is
 * CommonJS, so a synchronous require keeps every caller synchronous.
 */

export type ForgeModule = typeof Forge;

let loaded: ForgeModule | undefined;

/** The node-forge module (required once, then cached). */
export function loadForge(): ForgeModule {
  loaded ??= createRequire(import.meta.url)('node-forge') as ForgeModule;
  return loaded;
}
