import { createRequire } from 'node:module';
import type * as Forge from 'node-forge';

/**
 * node-forge, loaded on first use. Loading it costs ~20 ms and several MiB
 * of resident memory, and the daemon needs it only for sealed delivery and
 * SPKI pins, so it stays out of start-up. node-forge is CommonJS, so a
 * synchronous require keeps every caller synchronous.
 */

export type ForgeModule = typeof Forge;

let loaded: ForgeModule | undefined;

/** The node-forge module (required once, then cached). */
export function loadForge(): ForgeModule {
  loaded ??= createRequire(import.meta.url)('node-forge') as ForgeModule;
  return loaded;
}
