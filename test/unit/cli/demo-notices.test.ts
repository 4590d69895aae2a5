import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findResetListener, freePorts, gatewayNotices, prepareNotices, simNoticeArgs, writeNotifyConf } from '../../../src/cli/demo-notices.js';

/**
 * How the demo finds the reset-listener script beside the credgw it runs
 * (source tree, tarball, package, or none: the single binary alone), and
 * what it sets up with it, on a real file system.
 */

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'credgw-demo-notices-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fake CLI entry at `rel` under a fresh root, with the script at `scriptRel` when given. */
function layout(name: string, rel: string, scriptRel?: string): { root: string; entry: string } {
  const root = join(dir, name);
  const entry = join(root, rel);
  mkdirSync(join(entry, '..'), { recursive: true });
  writeFileSync(entry, '');
  if (scriptRel) {
    mkdirSync(join(root, scriptRel), { recursive: true });
    writeFileSync(join(root, scriptRel, 'credgw-notify.sh'), '#!/bin/sh\n');
  }
  return { root, entry };
}

const nowhere = join(dir, 'no-package');

describe('findResetListener', () => {
  it("finds the source tree's contrib/ from dist/cli/main.js and from a binary in build/bin/", () => {
    const tree = layout('tree', 'dist/cli/main.js', 'contrib/reset-listener');
    expect(findResetListener(tree.entry, nowhere)).toBe(join(tree.root, 'contrib/reset-listener/credgw-notify.sh'));
    const bin = join(tree.root, 'build/bin/credgw-linux-x64');
    mkdirSync(join(bin, '..'), { recursive: true });
    writeFileSync(bin, '');
    expect(findResetListener(bin, nowhere)).toBe(join(tree.root, 'contrib/reset-listener/credgw-notify.sh'));
  });

  it("finds the tarball's reset-listener/ beside the binary", () => {
    const tar = layout('tar', 'credgw', 'reset-listener');
    expect(findResetListener(tar.entry, nowhere)).toBe(join(tar.root, 'reset-listener/credgw-notify.sh'));
  });

  it("finds a package's share/credgw/reset-listener through the link /usr/bin/credgw may be", () => {
    const pkg = layout('pkg', 'usr/bin/credgw', 'usr/share/credgw/reset-listener');
    const link = join(dir, 'credgw-link');
    symlinkSync(pkg.entry, link);
    expect(findResetListener(link, nowhere)).toBe(join(pkg.root, 'usr/share/credgw/reset-listener/credgw-notify.sh'));
  });

  it('falls back to the packaged place, else finds nothing (the binary on its own)', () => {
    const alone = layout('alone', 'opt/credgw');
    expect(findResetListener(alone.entry, nowhere)).toBeUndefined();
    const packaged = layout('packaged', 'x', 'share');
    expect(findResetListener(alone.entry, join(packaged.root, 'share'))).toBe(join(packaged.root, 'share/credgw-notify.sh'));
  });

  it("finds this repository's script from its dist/", () => {
    expect(findResetListener(join(REPO, 'dist/cli/main.js'), nowhere)).toBe(join(REPO, 'contrib/reset-listener/credgw-notify.sh'));
  });
});

describe('freePorts', () => {
  it('picks distinct ports below the ephemeral range, each free to listen on', async () => {
    const ports = await freePorts(4, 32_768);
    expect(new Set(ports).size).toBe(4);
    for (const p of ports) expect(p >= 10_000 && p < 32_768).toBe(true);
    const servers = await Promise.all(ports.map((port) => new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    })));
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it("without room below the ephemeral range, takes the kernel's picks", async () => {
    const ports = await freePorts(3, 10_005);
    expect(new Set(ports).size).toBe(3);
    for (const p of ports) expect(p).toBeGreaterThan(0);
  });
});

describe('prepareNotices', () => {
  it('with the script: a private copy, its token (0600) and, once the pins are known, its configuration; four distinct ports', async () => {
    const work = join(dir, 'work-with');
    mkdirSync(work);
    const n = await prepareNotices(work, join(REPO, 'dist/cli/main.js'), { PATH: process.env['PATH'] });
    const ports = [...n.ports.values()].flatMap((p) => [p.listener, p.syslog]);
    expect(new Set(ports).size).toBe(4);
    if (n.script === null) {
      // This host has no curl (or /bin/sh): the demo says so and uses syslog only.
      expect(n.scriptWhyNot).toMatch(/not on PATH|not found/);
      return;
    }
    expect(n.script.from).toBe(join(REPO, 'contrib/reset-listener/credgw-notify.sh'));
    expect(readFileSync(n.script.path, 'utf8')).toBe(readFileSync(n.script.from, 'utf8'));
    expect(statSync(n.script.path).mode & 0o777).toBe(0o700);
    const token = readFileSync(fileURLToPath(n.tokenRef), 'utf8');
    expect(readFileSync(join(work, 'reset-listener/credgw-notify.token'), 'utf8')).toBe(`${token}\n`);
    expect(statSync(join(work, 'reset-listener/credgw-notify.token')).mode & 0o777).toBe(0o600);
    expect(simNoticeArgs(n)).toEqual(['--reset-listener', n.script.path, '--syslog', `tcp://127.0.0.1:${n.ports.get('gw-a')!.syslog}`, '--syslog', `tcp://127.0.0.1:${n.ports.get('gw-b')!.syslog}`]);

    writeNotifyConf(n, new Map([['gw-a', 'AAAA='], ['gw-b', 'sha256//BBBB=']]));
    const conf = readFileSync(join(work, 'reset-listener/credgw-notify.conf'), 'utf8');
    expect(conf).toContain('VAULT=pmp-demo\n');
    expect(conf).toContain(`GATEWAY=https://127.0.0.1:${n.ports.get('gw-a')!.listener} sha256//AAAA=\n`);
    expect(conf).toContain(`GATEWAY=https://127.0.0.1:${n.ports.get('gw-b')!.listener} sha256//BBBB=\n`);
    expect(conf).not.toContain(token);
  });

  it('without curl on PATH: no script, syslog to both gateways, and why', async () => {
    const work = join(dir, 'work-without');
    mkdirSync(work);
    const n = await prepareNotices(work, join(REPO, 'dist/cli/main.js'), { PATH: join(dir, 'empty-path') });
    expect(n.script).toBeNull();
    expect(n.scriptWhyNot).toBe('curl not on PATH');
    expect(simNoticeArgs(n).filter((a) => a === '--syslog')).toHaveLength(2);
    expect(simNoticeArgs(n)).not.toContain('--reset-listener');
    expect(gatewayNotices(n, 'gw-b')).toEqual({
      listen: `127.0.0.1:${n.ports.get('gw-b')!.listener}`,
      token: n.tokenRef,
      allowFrom: ['127.0.0.1'],
      syslog: { tcp: `127.0.0.1:${n.ports.get('gw-b')!.syslog}`, sources: [{ vault: 'pmp-demo', from: ['127.0.0.1'] }] },
    });
  });
});
