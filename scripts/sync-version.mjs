// npm's `version` lifecycle script (package.json): after `npm version X` has
// bumped package.json, writes that version into src/shared/version.ts, which
// npm then commits with it. credgw reads its version from that constant (a
// static import works the same in dist/, the tests and the binary's bundle);
// test/unit/shared/version.test.ts holds the two equal.

import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const file = new URL('src/shared/version.ts', root);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
if (typeof version !== 'string' || !/^[0-9A-Za-z.+-]+$/.test(version)) {
  console.error(`sync-version: error: package.json's version ${JSON.stringify(version)} is not a semver version`);
  process.exit(1);
}
const text = readFileSync(file, 'utf8');
const constant = /^export const VERSION = '[^'\n]*';$/m;
if (!constant.test(text)) {
  console.error(`sync-version: error: no "export const VERSION = '…';" line in ${file.pathname}`);
  process.exit(1);
}
writeFileSync(file, text.replace(constant, `export const VERSION = '${version}';`));
