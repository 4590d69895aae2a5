import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

/**
 * undici's Pool class, loaded from its own module rather than from undici's
 * index. The index also loads fetch, WebSocket, EventSource, the cache and
 * the mock agents, which the gateway never uses: ≈ 9 MiB of resident memory
 * and ≈ 35 ms of start-up in a daemon whose RSS budget is 80 MB. It is the
 * very class `import { Pool } from 'undici'` gives (a unit test checks the
 * identity), and undici is pinned to an exact version in package.json so
 * the module path cannot move under us.
 */
export const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
