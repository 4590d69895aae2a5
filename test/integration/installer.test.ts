/**
 * installer/install.sh and uninstall.sh into a staging root: the layout,
 * modes and owners they produce, an upgrade that keeps config and state, the
 * config-rewrite rule (a root `credgw vault add` keeps config.json readable
 * by the service), which Node.js a source tree is installed with, and the
 * clear errors.
 *
 * Needs the built app: dist/ of this tree (`npm test` builds it first), or
 * CREDGW_TEST_APP_DIR pointing at a tree with dist/, package.json,
 * package-lock.json and node_modules/.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APP_DIR = process.env.CREDGW_TEST_APP_DIR ?? REPO;
const INSTALL = join(REPO, 'installer/install.sh');
const UNINSTALL = join(REPO, 'installer/uninstall.sh');
const IS_ROOT = process.getuid?.() === 0;
// The layout tests run the tree with this test's Node.js (the --node
// override, any release devEngines allows); 'the Node.js a source-tree
// install runs on' below covers the default, the pinned Node.js 24.
const DEV_NODE = ['--node', process.execPath];

/**
 * The bound of each test, against a hang only: an install takes seconds on
 * an idle host and has taken over a minute on a starved one, so no wait
 * below has a clock of its own.
 */
jest.setTimeout(180_000);

interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/** Runs `cmd` to its end and resolves with its exit and output (the wait is the process's own 'close'). */
function runToEnd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err) => {
      running.delete(child);
      reject(err);
    });
    child.once('close', (status, signal) => {
      running.delete(child);
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

// A test that timed out leaves no installer running into the next one.
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return runToEnd('bash', [script, ...args], { env });
}

function expectOk(r: Ran): void {
  if (r.status !== 0) throw new Error(`exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o7777).toString(8).padStart(4, '0');
}

/** uid/gid of NAME in the staging root's etc/passwd. */
function account(root: string, name: string): { uid: number; gid: number; shell: string; home: string } {
  const line = readFileSync(join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`${name} not in ${root}/etc/passwd`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '', shell: f[6] ?? '' };
}

function groupId(root: string, name: string): number | undefined {
  const line = readFileSync(join(root, 'etc/group'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(':')[2]) : undefined;
}

/** Checks mode, and (as root, where the installer can chown) owner and group. */
function expectNode(path: string, mode: string, uid: number, gid: number): void {
  expect({ path, mode: modeOf(path) }).toEqual({ path, mode });
  if (IS_ROOT) {
    const st = statSync(path);
    expect({ path, uid: st.uid, gid: st.gid }).toEqual({ path, uid, gid });
  }
}

describe('installer into a staging root', () => {
  let work: string;
  let root: string;

  beforeAll(() => {
    if (!existsSync(join(APP_DIR, 'dist/cli/main.js'))) {
      throw new Error(`no built app in ${APP_DIR}: run 'npm run build' first (or set CREDGW_TEST_APP_DIR)`);
    }
    work = mkdtempSync(join(tmpdir(), 'credgw-installer-'));
    root = join(work, 'root');
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('installs the app, the command, the unit, the account and the directories', async () => {
    const r = await run(INSTALL, ['--root', root, '--app-dir', APP_DIR, ...DEV_NODE]);
    expectOk(r);
    expect(r.stdout).toContain('installed credgw');

    const svc = account(root, 'credgw');
    expect(groupId(root, 'credgw')).toBe(svc.gid);
    expect(svc.shell).toBe('/usr/sbin/nologin');
    expect(svc.home).toBe('/var/lib/credgw');
    expect(svc.uid).toBeGreaterThanOrEqual(100);
    expect(svc.uid).toBeLessThan(1000);

    // The app: built code and production dependencies only.
    const app = join(root, 'usr/lib/credgw');
    expectNode(app, '0755', 0, 0);
    const entry = join(app, 'dist/cli/main.js');
    expectNode(entry, readFileSync(entry, 'utf8').startsWith('#!') ? '0755' : '0644', 0, 0);
    expectNode(join(app, 'dist/shared/clock.js'), '0644', 0, 0);
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(join(APP_DIR, 'package.json'), 'utf8')),
    );
    const pkg = JSON.parse(readFileSync(join(APP_DIR, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(existsSync(join(app, 'node_modules', dep, 'package.json'))).toBe(true);
    }
    for (const dev of Object.keys(pkg.devDependencies)) {
      expect({ dev, present: existsSync(join(app, 'node_modules', dev)) }).toEqual({ dev, present: false });
    }
    expect(existsSync(join(app, 'node_modules/.bin'))).toBe(false);
    expect(readdirSync(join(app, 'dist/cli')).some((f) => f.endsWith('.map'))).toBe(false);

    // The command on PATH runs the app with an absolute Node.js.
    const wrapper = join(root, 'usr/bin/credgw');
    expectNode(wrapper, '0755', 0, 0);
    expect(readFileSync(wrapper, 'utf8')).toMatch(/^exec \/\S+ \/usr\/lib\/credgw\/dist\/cli\/main\.js "\$@"$/m);

    const unit = join(root, 'lib/systemd/system/credgw.service');
    expectNode(unit, '0644', 0, 0);
    expect(readFileSync(unit, 'utf8')).toBe(readFileSync(join(REPO, 'systemd/credgw.service'), 'utf8'));
    const man = gunzipSync(readFileSync(join(root, 'usr/share/man/man1/credgw.1.gz'))).toString('utf8');
    expect(man).toContain('.TH CREDGW 1');

    // Config, credentials and state.
    expectNode(join(root, 'etc/credgw'), '0750', 0, svc.gid);
    expectNode(join(root, 'etc/credgw/config.json'), '0640', 0, svc.gid);
    expect(JSON.parse(readFileSync(join(root, 'etc/credgw/config.json'), 'utf8'))).toEqual({});
    // Token files: root:credgw, so root and group credgw read them with the CLI (credential://credgw_NAME).
    expectNode(join(root, 'etc/credgw/credentials'), '0750', 0, svc.gid);
    expectNode(join(root, 'var/lib/credgw'), '0750', svc.uid, svc.gid);
    // The audit file's directory (the unit's LogsDirectory=) and its rotation, reloading the service.
    expectNode(join(root, 'var/log/credgw'), '0750', svc.uid, svc.gid);
    const logrotate = join(root, 'etc/logrotate.d/credgw');
    expectNode(logrotate, '0644', 0, 0);
    expect(readFileSync(logrotate, 'utf8')).toMatch(/^\/var\/log\/credgw\/\*\.log \{$/m);
    expect(readFileSync(logrotate, 'utf8')).toMatch(/^\s+create 0640 credgw credgw$/m);
    expect(readFileSync(logrotate, 'utf8')).toMatch(/^\s+systemctl reload credgw\.service/m);
  });

  it('runs the staged app, whose production dependencies load', async () => {
    const r = await runToEnd(process.execPath, [join(root, 'usr/lib/credgw/dist/cli/main.js'), '--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('vault');
  });

  it('keeps owner, group and mode of config.json when root rewrites it with the CLI', async () => {
    const svc = account(root, 'credgw');
    const configDir = join(root, 'etc/credgw');
    const r = await runToEnd(
      process.execPath,
      [
        join(root, 'usr/lib/credgw/dist/cli/main.js'),
        '--config-dir',
        configDir,
        'vault',
        'add',
        'pmp-prod',
        '--url',
        'https://pmp.corp.example:7272',
        '--token',
        'credential://credgw_pmp-prod',
      ],
    );
    if (r.status !== 0) throw new Error(`vault add failed: ${r.stderr}${r.stdout}`);
    const config = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { vaults: Array<{ name: string }> };
    expect(config.vaults.map((v) => v.name)).toEqual(['pmp-prod']);
    expectNode(join(configDir, 'config.json'), '0640', 0, svc.gid);
    // No temp file of the atomic rewrite is left behind.
    expect(readdirSync(configDir).sort()).toEqual(['config.json', 'credentials']);
  });

  it('upgrades in place, keeping config, credentials and state', async () => {
    const svc = account(root, 'credgw');
    const config = readFileSync(join(root, 'etc/credgw/config.json'), 'utf8');
    writeFileSync(join(root, 'etc/credgw/credentials/pmp-prod'), 'not-a-real-token\n', { mode: 0o600 });
    writeFileSync(join(root, 'var/lib/credgw/epoch'), '7\n');
    // An older install made the credentials directory root-only; the upgrade opens it to group credgw.
    chmodSync(join(root, 'etc/credgw/credentials'), 0o700);
    // A file of the old version that the new one does not ship must go.
    writeFileSync(join(root, 'usr/lib/credgw/dist/stale.js'), '');

    const r = await run(INSTALL, ['--root', root, '--app-dir', APP_DIR, ...DEV_NODE]);
    expectOk(r);
    expect(r.stdout).toContain('upgraded credgw');
    expect(r.stdout).toContain('keeping existing /etc/credgw/config.json');

    expect(readFileSync(join(root, 'etc/credgw/config.json'), 'utf8')).toBe(config);
    expectNode(join(root, 'etc/credgw/config.json'), '0640', 0, svc.gid);
    expect(readFileSync(join(root, 'etc/credgw/credentials/pmp-prod'), 'utf8')).toBe('not-a-real-token\n');
    expectNode(join(root, 'etc/credgw/credentials'), '0750', 0, svc.gid);
    expect(readFileSync(join(root, 'var/lib/credgw/epoch'), 'utf8')).toBe('7\n');
    expect(existsSync(join(root, 'usr/lib/credgw/dist/stale.js'))).toBe(false);
    expect(existsSync(join(root, 'usr/lib/credgw.new'))).toBe(false);
    // The account is not added twice.
    const lines = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').filter((l) => l.startsWith('credgw:'));
    expect(lines).toHaveLength(1);
    expect(account(root, 'credgw')).toEqual(svc);
  });

  it('uninstalls, keeping config, state and the account without --purge', async () => {
    expectOk(await run(UNINSTALL, ['--root', root]));
    expect(existsSync(join(root, 'usr/lib/credgw'))).toBe(false);
    expect(existsSync(join(root, 'usr/bin/credgw'))).toBe(false);
    expect(existsSync(join(root, 'lib/systemd/system/credgw.service'))).toBe(false);
    expect(existsSync(join(root, 'usr/share/man/man1/credgw.1.gz'))).toBe(false);
    expect(existsSync(join(root, 'etc/logrotate.d/credgw'))).toBe(false);
    expect(existsSync(join(root, 'etc/credgw/config.json'))).toBe(true);
    expect(existsSync(join(root, 'etc/credgw/credentials/pmp-prod'))).toBe(true);
    expect(existsSync(join(root, 'var/lib/credgw/epoch'))).toBe(true);
    expect(account(root, 'credgw').uid).toBeGreaterThan(0);
  });

  it('reinstalls over kept config, then purges everything', async () => {
    expectOk(await run(INSTALL, ['--root', root, '--app-dir', APP_DIR, ...DEV_NODE]));
    expect(readFileSync(join(root, 'etc/credgw/config.json'), 'utf8')).toContain('pmp-prod');
    expectOk(await run(UNINSTALL, ['--root', root, '--purge']));
    for (const p of ['usr/lib/credgw', 'usr/bin/credgw', 'etc/credgw', 'var/lib/credgw', 'var/log/credgw']) {
      expect({ p, exists: existsSync(join(root, p)) }).toEqual({ p, exists: false });
    }
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).not.toContain('credgw:');
    expect(groupId(root, 'credgw')).toBeUndefined();
  });

  it('installs only the packaged files with --files-only', async () => {
    const filesRoot = join(work, 'files-only');
    expectOk(await run(INSTALL, ['--root', filesRoot, '--app-dir', APP_DIR, '--files-only', ...DEV_NODE]));
    expect(existsSync(join(filesRoot, 'usr/lib/credgw/dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(filesRoot, 'lib/systemd/system/credgw.service'))).toBe(true);
    // Under etc/ only the logrotate snippet (a conffile of the .deb); no config, no var/.
    expect(readdirSync(join(filesRoot, 'etc'), { recursive: true }).sort()).toEqual(['logrotate.d', 'logrotate.d/credgw']);
    expect(existsSync(join(filesRoot, 'var'))).toBe(false);
  });
});

describe('installer errors', () => {
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'credgw-installer-err-'));
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('refuses an unknown option with usage and exit 2', async () => {
    const r = await run(INSTALL, ['--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown option: --bogus');
    expect(r.stderr).toContain('Usage: install.sh');
  });

  it('says when the app is not built', async () => {
    const empty = join(work, 'empty-app');
    mkdirSync(empty);
    const r = await run(INSTALL, ['--root', join(work, 'r1'), '--app-dir', empty]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no built app');
    expect(r.stderr).toContain('npm run build');
  });

  it('says when Node.js is missing', async () => {
    const r = await run(INSTALL, ['--root', join(work, 'r2'), '--app-dir', APP_DIR, '--node', join(work, 'no-such-node')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is not executable');
  });

  it('says when Node.js is too old, naming the version required', async () => {
    // The real node, reporting an old version to the installer's check.
    const preload = join(work, 'old-version.cjs');
    writeFileSync(preload, "Object.defineProperty(process, 'version', { value: 'v18.19.0' });\n");
    const fakeNode = join(work, 'node18');
    writeFileSync(fakeNode, `#!/bin/sh\nexec "${process.execPath}" -r "${preload}" "$@"\n`);
    chmodSync(fakeNode, 0o755);
    const r = await run(INSTALL, ['--root', join(work, 'r3'), '--app-dir', APP_DIR, '--node', fakeNode]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Node\.js v18\.19\.0 at \S+ is too old: credgw needs 20\.18\.1 or newer/);
    expect(existsSync(join(work, 'r3/usr/lib/credgw'))).toBe(false);
  });

  it('refuses to install into / unless root', async () => {
    // As root, drop to nobody for this one run (setpriv is in util-linux).
    const asUser = IS_ROOT ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash'] : ['bash'];
    const [cmd, ...pre] = asUser as [string, ...string[]];
    // Copies in a world-readable place: the checkout itself may sit under a
    // directory nobody cannot enter (/root).
    const scripts = join(work, 'scripts', 'installer');
    mkdirSync(scripts, { recursive: true });
    for (const d of [work, join(work, 'scripts'), scripts]) chmodSync(d, 0o755);
    const copies = [INSTALL, UNINSTALL].map((src) => {
      const dest = join(scripts, src.split('/').pop()!);
      writeFileSync(dest, readFileSync(src));
      chmodSync(dest, 0o755);
      return dest;
    });
    for (const script of copies) {
      const r = await runToEnd(cmd, [...pre, script], { cwd: '/' });
      expect({ script, status: r.status }).toEqual({ script, status: 1 });
      expect(r.stderr).toContain('must run as root');
    }
  });
});

describe('the Node.js a source-tree install runs on', () => {
  let work: string;
  let app: string;
  let arch: string;
  let pinnedVersion: string;

  /** A Node.js reporting VERSION: the real one, with process.version replaced (as the installer reads it). */
  function nodeReporting(version: string, dir: string): string {
    mkdirSync(dir, { recursive: true });
    const preload = join(dir, 'version.cjs');
    writeFileSync(preload, `Object.defineProperty(process, 'version', { value: '${version}' });\n`);
    const node = join(dir, 'node');
    writeFileSync(node, `#!/bin/sh\nexec "${process.execPath}" -r "${preload}" "$@"\n`);
    chmodSync(node, 0o755);
    return node;
  }

  /** PATH with DIR first, then the system's directories (where the real node may be too). */
  const pathWith = (dir: string): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin` });

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'credgw-installer-node-'));
    // A source tree of its own, so that its build/cache is this test's: the
    // built app of APP_DIR, its package files and node_modules (linked).
    app = join(work, 'app');
    mkdirSync(join(app, 'scripts'), { recursive: true });
    cpSync(join(APP_DIR, 'dist'), join(app, 'dist'), { recursive: true });
    for (const f of ['package.json', 'package-lock.json']) cpSync(join(APP_DIR, f), join(app, f));
    cpSync(join(REPO, 'scripts/node-runtime.json'), join(app, 'scripts/node-runtime.json'));
    symlinkSync(join(APP_DIR, 'node_modules'), join(app, 'node_modules'));
    pinnedVersion = (JSON.parse(readFileSync(join(app, 'scripts/node-runtime.json'), 'utf8')) as { version: string }).version;
    arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('package.json: engines is Node.js 24 LTS, devEngines allows the development releases', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
      engines: { node: string };
      devEngines: { runtime: { name: string; version: string } };
    };
    expect(pkg.engines.node).toBe('^24.11.0');
    expect(pinnedVersion).toMatch(/^24\./);
    expect(pkg.devEngines.runtime).toMatchObject({ name: 'node', version: '>=20.18.1' });
  });

  it('refuses a Node.js on PATH that is not 24 LTS when no pinned runtime was fetched, naming both ways out', async () => {
    const bin = join(work, 'path22');
    nodeReporting('v22.12.0', bin);
    const r = await run(INSTALL, ['--root', join(work, 'r-path22'), '--app-dir', app], pathWith(bin));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Node\.js v22\.12\.0 at \S+ is not the Node\.js 24 LTS credgw runs on \(\^24\.11\.0\)/);
    expect(r.stderr).toContain("run 'npm run package:binary'");
    expect(r.stderr).toContain('or pass --node PATH (development: >=20.18.1)');
    expect(existsSync(join(work, 'r-path22/usr/lib/credgw'))).toBe(false);
  });

  it('runs the tree with a Node.js 24 on PATH, by its absolute path, when no pinned runtime was fetched', async () => {
    const bin = join(work, 'path24');
    const node = nodeReporting('v24.11.0', bin);
    const root = join(work, 'r-path24');
    const r = await run(INSTALL, ['--root', root, '--app-dir', app], pathWith(bin));
    expectOk(r);
    expect(r.stdout).toContain(`Node.js v24.11.0 at ${node}`);
    expect(readFileSync(join(root, 'usr/bin/credgw'), 'utf8')).toContain(`exec ${node} /usr/lib/credgw/dist/cli/main.js "$@"`);
    expect(existsSync(join(root, 'usr/lib/credgw/node'))).toBe(false);
  });

  it('takes an older development release with --node, saying it is not the shipped runtime', async () => {
    const node = nodeReporting('v20.18.1', join(work, 'dev20'));
    const root = join(work, 'r-dev20');
    const r = await run(INSTALL, ['--root', root, '--app-dir', app, '--node', node]);
    expectOk(r);
    expect(r.stdout).toContain(`Node.js v20.18.1 at ${node}: a development set-up; credgw ships on Node.js 24 LTS (^24.11.0)`);
    expect(readFileSync(join(root, 'usr/bin/credgw'), 'utf8')).toContain(`exec ${node} /usr/lib/credgw/dist/cli/main.js "$@"`);
  });

  it('by default copies the pinned Node.js 24 from build/cache into /usr/lib/credgw/node and runs the tree with it', async () => {
    // What `npm run package:binary` leaves in build/cache, here a Node.js reporting the pinned version.
    const cached = join(app, 'build/cache', `node-linux-${arch}-${pinnedVersion}`);
    const pinned = nodeReporting(`v${pinnedVersion}`, join(cached, 'bin'));
    writeFileSync(join(cached, 'LICENSE'), 'Node.js licence text\n');
    // On PATH only a Node.js that the default would refuse: the pinned one wins.
    const bin = join(work, 'path22-b');
    nodeReporting('v22.12.0', bin);
    const root = join(work, 'r-pinned');
    const r = await run(INSTALL, ['--root', root, '--app-dir', app], pathWith(bin));
    expectOk(r);
    expect(r.stdout).toContain(`Node.js v${pinnedVersion}: the pinned runtime from build/cache, installed as /usr/lib/credgw/node/bin/node`);
    const copied = join(root, 'usr/lib/credgw/node/bin/node');
    expectNode(copied, '0755', 0, 0);
    expect(readFileSync(copied, 'utf8')).toBe(readFileSync(pinned, 'utf8'));
    expect(readFileSync(join(root, 'usr/lib/credgw/node/LICENSE'), 'utf8')).toBe('Node.js licence text\n');
    expect(readFileSync(join(root, 'usr/bin/credgw'), 'utf8')).toMatch(/^exec \/usr\/lib\/credgw\/node\/bin\/node \/usr\/lib\/credgw\/dist\/cli\/main\.js "\$@"$/m);
    // The staged tree runs with the copy.
    const help = spawnSync(copied, [join(root, 'usr/lib/credgw/dist/cli/main.js'), '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('vault');
  });
});
