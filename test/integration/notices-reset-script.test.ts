import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoticeListener } from '../../src/notices/index.js';
import { ManualClock } from '../../src/shared/clock.js';
import { FakeRecorder, FakeVaults, logCapture } from '../helpers/notice-harness.js';
import { testPki } from '../helpers/pki.js';

/**
 * contrib/reset-listener/credgw-notify.sh run by real shells (dash as
 * `sh`, and bash) the way PMP runs it, against real notice listeners:
 * which gateways took the notice decides the exit code, and neither
 * password nor the token is ever in a child's argv or environment, in a
 * file the run left, in its output, or in the gateway's log.
 */

const SCRIPT = join(process.cwd(), 'contrib/reset-listener/credgw-notify.sh');
const TOKEN = 'tok-Zq81-notice';
const OLD_PW = 'Old-pw-7Hq!$`"x\\';
const NEW_PW = "New-pw-9Zk;&|x' $(id)";
const SECRETS = [OLD_PW, NEW_PW, TOKEN];
const CURL = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
const STRACE = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).stdout.trim();

interface Run {
  code: number | null;
  out: string;
  err: string;
  /** Every file the run created or changed (outside the curl wrapper's own records). */
  files: Map<string, string>;
  /** One entry per curl call: its argv (one per line) and its stdin. */
  curls: { argv: string; stdin: string }[];
  /** execve lines of every child (strace), or null without strace. */
  execs: string[] | null;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function listFiles(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) listFiles(path, out);
    else out.set(path, readFileSync(path, 'latin1'));
  }
  return out;
}

describe('credgw-notify.sh (reset listener script under real shells)', () => {
  const pki = testPki();
  const logs = logCapture();
  const work = mkdtempSync(join(tmpdir(), 'credgw-notify-'));
  const listeners: NoticeListener[] = [];
  const recorders: FakeRecorder[] = [];
  let pinUrl = '';
  let caUrl = '';
  let downUrl = '';

  beforeAll(async () => {
    // Gateway A: self-signed, trusted by its pin. Gateway B: CA-signed, trusted by a CA file.
    for (const cert of [pki.selfSigned, pki.server]) {
      const recorder = new FakeRecorder();
      recorders.push(recorder);
      listeners.push(
        await NoticeListener.start({
          listen: '127.0.0.1:0',
          certPem: cert.certPem,
          keyPem: cert.keyPem,
          token: TOKEN,
          vaults: new FakeVaults({ 'pmp-prod': 'ok' }),
          recorder,
          clock: new ManualClock(),
          logger: logs.logger,
        }),
      );
    }
    pinUrl = `https://127.0.0.1:${listeners[0]!.address.port} sha256//${pki.selfSigned.pin}`;
    caUrl = `https://localhost:${listeners[1]!.address.port} cafile:${join(pki.dir, 'ca.crt')}`;
    downUrl = `https://127.0.0.1:${await freePort()} sha256//${pki.selfSigned.pin}`;
  });

  afterAll(async () => {
    await Promise.all(listeners.map((l) => l.close()));
    rmSync(work, { recursive: true, force: true });
    const text = logs.text();
    for (const s of SECRETS) expect(text).not.toContain(s);
  });

  let runs = 0;
  /** Lays out a PMP host (script, conf, token 0600) and runs the script as PMP would. */
  async function run(opts: { shell: 'sh' | 'bash'; conf: string[]; args?: string[]; token?: string }): Promise<Run> {
    const root = join(work, `run-${++runs}`);
    const host = join(root, 'pmp');
    const home = join(root, 'home');
    const tmp = join(root, 'tmp');
    const bin = join(root, 'bin');
    const records = join(root, 'curl-records');
    for (const d of [host, home, tmp, bin, records]) mkdirSync(d, { recursive: true });
    copyFileSync(SCRIPT, join(host, 'credgw-notify.sh'));
    writeFileSync(join(host, 'credgw-notify.conf'), `# test\n${opts.conf.join('\n')}\n`);
    writeFileSync(join(host, 'credgw-notify.token'), `${opts.token ?? TOKEN}\n`, { mode: 0o600 });
    // A curl first on PATH that records its argv and stdin, then runs the real one.
    writeFileSync(
      join(bin, 'curl'),
      `#!/bin/sh\nn=$$\nprintf '%s\\n' "$@" > "${records}/argv.$n"\ncat > "${records}/stdin.$n"\nexec ${CURL} "$@" < "${records}/stdin.$n"\n`,
      { mode: 0o755 },
    );
    const before = listFiles(host);
    const args = opts.args ?? ['Windows_Jump_Box', 'jump01.corp.local', 'administrator', OLD_PW, NEW_PW];
    const trace = join(records, 'strace.txt');
    const command = STRACE ? STRACE : opts.shell;
    const argv = STRACE ? ['-f', '-qq', '-v', '-s', '65535', '-e', 'trace=execve', '-o', trace, opts.shell, join(host, 'credgw-notify.sh'), ...args] : [join(host, 'credgw-notify.sh'), ...args];
    const child = spawn(command, argv, {
      cwd: host,
      env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    const files = new Map<string, string>();
    for (const dir of [host, home, tmp]) for (const [p, text] of listFiles(dir)) if (before.get(p) !== text) files.set(p, text);
    const names = readdirSync(records);
    const curls = names
      .filter((n) => n.startsWith('argv.'))
      .map((n) => ({ argv: readFileSync(join(records, n), 'utf8'), stdin: readFileSync(join(records, `stdin.${n.slice(5)}`), 'utf8') }));
    // The first execve is PMP starting the script (its argv holds the passwords: PMP's doing); the rest are the script's children.
    const execs = STRACE ? readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('execve(')).slice(1) : null;
    return { code, out, err, files, curls, execs };
  }

  /** Nothing of the run holds a secret, except the token on curl's stdin (where it must be). */
  function expectNoLeak(r: Run): void {
    for (const s of SECRETS) {
      expect(r.out).not.toContain(s);
      expect(r.err).not.toContain(s);
      for (const [path, text] of r.files) expect({ path, leaked: text.includes(s) }).toEqual({ path, leaked: false });
      for (const c of r.curls) {
        expect(c.argv).not.toContain(s);
        if (s !== TOKEN) expect(c.stdin).not.toContain(s);
      }
      // strace writes " and \ escaped.
      const traced = s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
      for (const e of r.execs ?? []) expect({ exec: e.slice(0, 80), leaked: e.includes(s) || e.includes(traced) }).toEqual({ exec: e.slice(0, 80), leaked: false });
    }
    for (const c of r.curls) expect(c.stdin).toContain(`Authorization: Bearer ${TOKEN}`);
  }

  it('has curl to run the script with (strace, when present, also checks every other child)', () => {
    expect(CURL).not.toBe('');
  });

  it('sh (dash): one gateway down → exit 0, the other took the notice; no secret anywhere', async () => {
    recorders.forEach((r) => r.notices.splice(0));
    const r = await run({ shell: 'sh', conf: ['VAULT=pmp-prod', `GATEWAY=${downUrl}`, `GATEWAY=${pinUrl}`] });
    expect(r.err).toContain('1/2 gateways took the notice');
    expect(r.code).toBe(0);
    expect(recorders[0]!.notices).toEqual([
      { vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', dnsName: 'jump01.corp.local', accountName: 'administrator', rotatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/), source: 'listener' },
    ]);
    expect(r.curls).toHaveLength(2);
    if (r.execs) expect(r.execs.length).toBeGreaterThanOrEqual(3);
    expectNoLeak(r);
  });

  it('bash: both gateways (pin and CA file) take the same notice → exit 0', async () => {
    recorders.forEach((r) => r.notices.splice(0));
    const r = await run({ shell: 'bash', conf: ['VAULT=pmp-prod', `GATEWAY=${pinUrl}`, `GATEWAY=${caUrl}`], args: ['Jump "Box" \\ é', '', 'svc backup', OLD_PW, NEW_PW] });
    expect(r.code).toBe(0);
    expect(r.err).toContain('2/2 gateways took the notice');
    expect(recorders[0]!.notices).toHaveLength(1);
    expect(recorders[1]!.notices).toEqual(recorders[0]!.notices);
    expect(recorders[0]!.notices[0]).toMatchObject({ resourceName: 'Jump "Box" \\ é', accountName: 'svc backup' });
    expect(recorders[0]!.notices[0]).not.toHaveProperty('dnsName');
    expectNoLeak(r);
  });

  it.each(['sh', 'bash'] as const)('%s: both gateways down → exit 1', async (shell) => {
    const r = await run({ shell, conf: ['VAULT=pmp-prod', `GATEWAY=${downUrl}`, `GATEWAY=https://127.0.0.1:${await freePort()}`] });
    expect(r.code).toBe(1);
    expect(r.err).toContain('0/2 gateways took the notice');
    expectNoLeak(r);
  });

  it('a wrong token (401) or a wrong pin is not a notice taken → exit 1', async () => {
    const wrongToken = await run({ shell: 'sh', conf: ['VAULT=pmp-prod', `GATEWAY=${pinUrl}`], token: 'not-the-token' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.err).toContain('HTTP 401');
    const wrongPin = await run({ shell: 'sh', conf: ['VAULT=pmp-prod', `GATEWAY=https://127.0.0.1:${listeners[0]!.address.port} sha256//${pki.server.pin}`] });
    expect(wrongPin.code).toBe(1);
    expectNoLeak(wrongPin);
  });

  it('another argument order (PAM360 with a mode): a pre-reset run sends nothing, a post-reset run sends', async () => {
    recorders.forEach((r) => r.notices.splice(0));
    const conf = ['VAULT=pmp-prod', `GATEWAY=${pinUrl}`, 'ARGS=mode,resource,account,dns,new,old'];
    const pre = await run({ shell: 'sh', conf, args: ['pre', 'srv1', 'root', 'srv1.corp.local', NEW_PW, OLD_PW] });
    expect(pre.code).toBe(0);
    expect(pre.curls).toHaveLength(0);
    expect(recorders[0]!.notices).toHaveLength(0);
    const post = await run({ shell: 'sh', conf, args: ['post', 'srv1', 'root', 'srv1.corp.local', NEW_PW, OLD_PW, 'extra-arg'] });
    expect(post.code).toBe(0);
    expect(recorders[0]!.notices[0]).toMatchObject({ resourceName: 'srv1', accountName: 'root', dnsName: 'srv1.corp.local' });
    expectNoLeak(post);
  });

  it.each([
    [['GATEWAY=https://x:1'], 'VAULT is required'],
    [['VAULT=pmp-prod'], 'at least one GATEWAY'],
    [['VAULT=pmp-prod', 'GATEWAY=https://x:1', 'TIMEOUT=5s'], 'TIMEOUT'],
    [['VAULT=pmp-prod', 'GATEWAY=https://x:1', 'COLOUR=blue'], 'unknown key COLOUR'],
    [['VAULT=pmp-prod', 'GATEWAY=https://x:1', 'ARGS=resource account password'], 'unknown name password'],
  ])('a configuration error exits 2 and sends nothing (%#)', async (conf, message) => {
    const r = await run({ shell: 'sh', conf });
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.curls).toHaveLength(0);
    expectNoLeak(r);
  });

  it('refuses to run without a resource or account name', async () => {
    const r = await run({ shell: 'sh', conf: ['VAULT=pmp-prod', `GATEWAY=${pinUrl}`], args: ['', 'dns', 'acct', OLD_PW, NEW_PW] });
    expect(r.code).toBe(2);
    expect(r.err).toContain('no resource name');
  });
});
