import { fileURLToPath } from 'node:url';
import { runningAsBinary } from '../shared/index.js';

/**
 * How credgw starts itself again as a child process (the demo's simulators
 * and gateways): the single-executable binary runs itself, a `node
 * dist/cli/main.js` run starts the same Node on main.js.
 */

/** The CLI the children run: the binary itself, or main.js beside this module (dist/cli/main.js). */
export function defaultCliEntry(): string {
  return runningAsBinary() ? process.execPath : fileURLToPath(new URL('./main.js', import.meta.url));
}
