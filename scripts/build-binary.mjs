// Builds build/bin/credgw-linux-<arch>: credgw as a Node.js single executable
// application (https://nodejs.org/api/single-executable-applications.html) on
// the pinned Node of scripts/node-runtime.json.
//
//   node scripts/build-binary.mjs [--arch x64|arm64|all] [--out DIR]
//
// Needs a built dist/ (npm run build). Steps: esbuild bundles dist/cli/main.js
// into one CommonJS script; the pinned Node of the target arch writes the SEA
// blob (with V8's code cache when it can run: natively, or arm64 under
// qemu-aarch64-static); postject injects it into a stripped copy of that Node.
// Reproducible: the same commit and SOURCE_DATE_EPOCH give the same bytes.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ARCHES = ['x64', 'arm64'];
// Node's SEA fuse, the same in every release (the docs' postject example).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const QEMU = { arm64: 'qemu-aarch64-static' };
// The target's libc for qemu-user (Debian: libc6-arm64-cross, libstdc++6-arm64-cross).
const QEMU_LD_PREFIX = { arm64: '/usr/aarch64-linux-gnu' };
// qemu-user runs a foreign Node only with that libc; otherwise the blob is made without code cache.
function emulator(arch, node) {
  const qemu = QEMU[arch] && which(QEMU[arch]);
  if (!qemu || !existsSync(QEMU_LD_PREFIX[arch])) return null;
  process.env.QEMU_LD_PREFIX ??= QEMU_LD_PREFIX[arch];
  try {
    execFileSync(qemu, [node, '--version'], { stdio: 'ignore' });
    return qemu;
  } catch {
    return null;
  }
}
const STRIP = { x64: { x64: 'strip', arm64: 'aarch64-linux-gnu-strip' }, arm64: { arm64: 'strip', x64: 'x86_64-linux-gnu-strip' } };

function die(msg) {
  console.error(`build-binary: error: ${msg}`);
  process.exit(1);
}
function note(msg) {
  console.error(`build-binary: ${msg}`);
}
function which(cmd) {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const args = process.argv.slice(2);
let archArg = process.arch;
let out = join(ROOT, 'build/bin');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--arch') archArg = args[++i];
  else if (args[i] === '--out') out = resolve(args[++i]);
  else die(`unknown option ${args[i]}`);
}
const arches = archArg === 'all' ? ARCHES : [archArg];
for (const a of arches) if (!ARCHES.includes(a)) die(`unsupported arch ${a} (x64, arm64, all)`);

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const runtime = JSON.parse(readFileSync(join(ROOT, 'scripts/node-runtime.json'), 'utf8'));
if (!existsSync(join(ROOT, 'dist/cli/main.js')) || !existsSync(join(ROOT, 'dist/config/config-validator.js'))) {
  die('dist/ is not built: run npm run build first');
}
const git = (...a) => execFileSync('git', ['-C', ROOT, ...a], { encoding: 'utf8' }).trim();
let commit = process.env.CREDGW_COMMIT || null;
if (!commit) {
  try {
    commit = git('rev-parse', 'HEAD');
    if (git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'package.json', 'package-lock.json')) commit += '-dirty';
  } catch {
    commit = null;
  }
}
let epoch = process.env.SOURCE_DATE_EPOCH;
if (!epoch) {
  try {
    epoch = git('log', '-1', '--format=%ct');
  } catch {
    die('SOURCE_DATE_EPOCH is not set and there is no git history to take it from');
  }
}
const builtAt = new Date(Number(epoch) * 1000).toISOString();

const work = join(ROOT, 'build/sea');
const cache = join(ROOT, 'build/cache');
mkdirSync(work, { recursive: true });
mkdirSync(cache, { recursive: true });
mkdirSync(out, { recursive: true });

// --- the pinned Node, from the npm registry, checked against its pinned integrity ---
function nodeFor(arch) {
  const name = `node-linux-${arch}`;
  const tgz = join(cache, `${name}-${runtime.version}.tgz`);
  const bin = join(cache, `${name}-${runtime.version}`, 'bin/node');
  if (!existsSync(tgz)) {
    note(`fetching ${name}@${runtime.version} from the npm registry`);
    execFileSync('npm', ['pack', `${name}@${runtime.version}`, '--pack-destination', cache, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const got = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (got !== runtime.integrity[arch]) {
    rmSync(tgz, { force: true });
    die(`${tgz}: integrity ${got} is not the pinned ${runtime.integrity[arch]} (scripts/node-runtime.json)`);
  }
  if (!existsSync(bin)) {
    const dir = join(cache, `${name}-${runtime.version}`);
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1', 'package/bin/node', 'package/LICENSE']);
  }
  return bin;
}

// --- the bundle ---------------------------------------------------------------
const bundle = join(work, 'credgw.cjs');
const result = await build({
  entryPoints: [join(ROOT, 'dist/cli/main.js')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${runtime.version.split('.')[0]}`,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  logLevel: 'warning',
  // ws tries its optional native add-ons in a try/catch and falls back to
  // JavaScript. Left out of the bundle whatever node_modules holds, so the
  // binary always takes the fallback: the SEA's require() refuses them
  // (silently: disableExperimentalSEAWarning also mutes its warning).
  external: ['bufferutil', 'utf-8-validate'],
  // import.meta.url only feeds the paths a dist/ run uses (guarded by runningAsBinary()).
  banner: { js: 'var __credgwMetaUrl = require("node:url").pathToFileURL(process.execPath).href;' },
  define: {
    'import.meta.url': '__credgwMetaUrl',
    CREDGW_BUILD: JSON.stringify({ commit, builtAt }),
  },
  metafile: true,
});
if (result.errors.length) die('esbuild failed');
writeFileSync(join(work, 'meta.json'), JSON.stringify(result.metafile));
note(`bundle ${bundle} (${readFileSync(bundle).length} bytes)`);

// --- blob and injection, per arch ----------------------------------------------------
const { inject } = require('postject');
for (const arch of arches) {
  const node = nodeFor(arch);
  // The blob is made by the very Node it is injected into; the code cache
  // only when that Node can run here.
  let runner = null;
  if (arch === process.arch) runner = [node];
  else if (emulator(arch, node)) runner = [emulator(arch, node), node];
  const useCodeCache = runner !== null;
  if (!runner) {
    note(`${arch}: cannot run its Node here (${QEMU[arch] ?? 'an emulator'} with ${QEMU_LD_PREFIX[arch]}): blob without code cache, made by this arch's Node ${runtime.version}`);
    const native = nodeFor(process.arch);
    runner = [native];
  }
  const blob = join(work, `credgw-${arch}.blob`);
  const seaConfig = join(work, `sea-config-${arch}.json`);
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache,
      assets: { 'credgw.example.json': join(ROOT, 'config/credgw.example.json') },
    }),
  );
  // A fixed random seed makes V8's code cache the same bytes on every build
  // (the cache is still accepted by a runtime without the flag).
  execFileSync(runner[0], [...runner.slice(1), '--random-seed=1', '--experimental-sea-config', seaConfig], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const target = join(out, `credgw-linux-${arch}`);
  rmSync(target, { force: true });
  copyFileSync(node, target);
  chmodSync(target, 0o755);
  const strip = STRIP[process.arch]?.[arch];
  if (!strip || !which(strip)) die(`${strip ?? 'a strip for ' + arch} not found (apt-get install binutils${arch === process.arch ? '' : '-aarch64-linux-gnu'})`);
  execFileSync(strip, ['--strip-all', target]);
  await inject(target, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  chmodSync(target, 0o755);
  utimesSync(target, Number(epoch), Number(epoch));

  if (useCodeCache) {
    const cmd = arch === process.arch ? [target] : [emulator(arch, node), target];
    const v = JSON.parse(execFileSync(cmd[0], [...cmd.slice(1), 'version', '--json'], { encoding: 'utf8' }));
    if (v.version !== pkg.version || v.node !== `v${runtime.version}` || v.packaging !== 'binary') die(`${target}: unexpected version report ${JSON.stringify(v)}`);
    note(`${target}: ${JSON.stringify(v)}${arch === process.arch ? '' : ` (run under ${QEMU[arch]})`}`);
  }
  const sha = createHash('sha256').update(readFileSync(target)).digest('hex');
  console.log(`${target} ${sha}`);
}
