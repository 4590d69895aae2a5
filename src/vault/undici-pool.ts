import Pool from 'undici/lib/dispatcher/pool.js';

/**
 * undici's Pool class, imported from its own module rather than from
 * undici's index, which also loads fetch, WebSocket, EventSource, the cache
 * and the mock agents that the gateway never uses (memory and start-up:
 * docs/benchmarks.md#memory-and-start-up). It is the very class
 * `import { Pool } from 'undici'` gives (a unit test checks the identity),
 * and undici is pinned to an exact version in package.json so the module
 * path cannot move under us (its type: ./undici-pool-module.d.ts).
 */
export { Pool };
