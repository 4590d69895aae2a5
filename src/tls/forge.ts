import type * as Forge from 'node-forge';

/**
 * node-forge, loaded on first use: only certificate making (the simulators,
 * the demo, the notice listener's first start, tests) needs it, so it stays
 * out of the daemon's start (start-up and memory:
 * docs/benchmarks.md#memory-and-start-up). A dynamic import of a literal
 * name, which Node, jest and esbuild (the binary's bundle) all keep lazy.
 */

export type ForgeModule = typeof Forge;

let loaded: Promise<ForgeModule> | undefined;

/** The node-forge module (imported once, then cached). */
export function loadForge(): Promise<ForgeModule> {
  // node-forge is CommonJS: its module.exports is the default export.
  loaded ??= import('node-forge').then((m) => m.default);
  return loaded;
}
