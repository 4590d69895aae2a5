// Prints Debian copyright-format paragraphs for every npm package bundled
// into the binary, read from esbuild's metafile (build/sea/meta.json, written
// by scripts/build-binary.mjs) and each package's own package.json.
//
//   node scripts/bundled-licenses.mjs build/sea/meta.json

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const metaPath = resolve(process.argv[2] ?? 'build/sea/meta.json');
const root = resolve(dirname(metaPath), '../..');
const meta = JSON.parse(readFileSync(metaPath, 'utf8'));
const dirs = new Set();
for (const input of Object.keys(meta.inputs)) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) dirs.add(m[1]);
}
const seen = new Set(['MIT']);
const lines = [];
for (const dir of [...dirs].sort()) {
  const pj = join(root, dir, 'package.json');
  if (!existsSync(pj)) continue;
  const p = JSON.parse(readFileSync(pj, 'utf8'));
  let lic = p.license ?? (Array.isArray(p.licenses) ? p.licenses.map((l) => l.type ?? l).join(' or ') : 'unknown');
  if (typeof lic === 'object') lic = lic.type ?? 'unknown';
  lic = String(lic).replace(/^\((.*)\)$/, '$1').replace(/ OR /g, ' or ').replace(/ AND /g, ' and ');
  lines.push(` ${p.name} ${p.version}: ${lic}`);
  for (const part of lic.split(/ or | and /)) seen.add(part.trim());
}
const licenses = [...seen].sort();
// One paragraph for the binary: Node.js (MIT) and every bundled package.
console.log('Files: usr/bin/credgw');
console.log('Copyright: Node.js contributors; the authors of each bundled npm package');
console.log(`License: ${licenses.join(' and ')}`);
console.log('Comment: Node.js and its own third-party code are listed in its LICENSE file');
console.log(' (https://github.com/nodejs/node/blob/main/LICENSE). Bundled npm packages:');
for (const l of lines) console.log(l);
for (const l of licenses) {
  console.log(`\nLicense: ${l}\n The full text is in the LICENSE file of each package listed with this\n license (the CycloneDX SBOM beside the package names their versions).`);
}
