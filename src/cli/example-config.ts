import { readFileSync } from 'node:fs';
import { getAsset } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { runningAsBinary } from '../shared/index.js';

/**
 * The annotated example config (config/credgw.example.json). The binary
 * carries it as an embedded asset (scripts/build-binary.mjs) and the
 * packages also install it under /usr/share/doc, which minimal images may
 * leave out; a source tree reads it from config/.
 */

/** The asset key the binary's build stores the example under. */
export const EXAMPLE_CONFIG_ASSET = 'credgw.example.json';

/** Where the .deb, the .rpm and install.sh put the example. */
export const PACKAGED_EXAMPLE_CONFIG_PATH = '/usr/share/doc/credgw/examples/credgw.example.json';

/** The example's path on disk: the packaged copy for the binary, config/ of the source tree otherwise. */
export function exampleConfigPath(): string {
  return runningAsBinary()
    ? PACKAGED_EXAMPLE_CONFIG_PATH
    : fileURLToPath(new URL('../../config/credgw.example.json', import.meta.url));
}

/** The example's text: the embedded asset in the binary, the file otherwise. */
export function exampleConfigText(): string {
  return runningAsBinary() ? getAsset(EXAMPLE_CONFIG_ASSET, 'utf8') : readFileSync(exampleConfigPath(), 'utf8');
}
