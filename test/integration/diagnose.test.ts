import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCredgw, type CliRun } from '../helpers/cli.js';
import { runDiagnostics, type CheckResult } from '../../src/diagnose/index.js';
import { systemClock, type Clock } from '../../src/shared/clock.js';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/server.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';
import { testPki } from '../helpers/pki.js';

const GW_TOKEN = 'diag-gw-token-Qw83nZpL';
const WRONG_TOKEN = 'diag-wrong-token-Yt61mXc';
const PROXY_PASSWORD = 'pr0xy-Secr3t';


function diagnose(dir: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCredgw(['--config-dir', dir, 'diagnose', '--timeout', '5000'], env);
}

/** The line of one check: `LEVEL  subject check  detail`. */
function line(out: string, label: string): string {
  const found = out.split('\n').find((l) => l.slice(6).startsWith(`${label} `));
  if (!found) throw new Error(`no line for "${label}" in:\n${out}`);
  return found;
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('credgw diagnose', () => {
  let controller: ReferenceController;
  let pmp: PmpSimulator;
  let proxy: ConnectProxy;
  let work: string;
  let gwTokenFile: string;
  let wrongTokenFile: string;
  let vaultTokenFile: string;
  let vaultCaFile: string;
  let deadPort: number;

  beforeAll(async () => {
    const pki = testPki();
    controller = await startReferenceController({ tokens: [GW_TOKEN], tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
    pmp = await startPmpSimulator({ port: 0 });
    proxy = await startConnectProxy({ user: 'squid', password: PROXY_PASSWORD });
    work = mkdtempSync(join(tmpdir(), 'credgw-diagnose-'));
    gwTokenFile = join(work, 'gw.token');
    wrongTokenFile = join(work, 'wrong.token');
    vaultTokenFile = join(work, 'vault.token');
    vaultCaFile = join(work, 'pmp.crt');
    writeFileSync(gwTokenFile, `${GW_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(wrongTokenFile, `${WRONG_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(vaultTokenFile, `${pmp.tokens[0]}\n`, { mode: 0o600 });
    writeFileSync(vaultCaFile, pmp.certPem);
    deadPort = await freePort();
  });
  afterAll(async () => {
    await controller.close();
    await pmp.close();
    await proxy.close();
    rmSync(work, { recursive: true, force: true });
  });

  function configDir(
    name: string,
    patch: { token?: string; proxy?: string; proxyPassword?: string; vaultToken?: string; tokenRef?: string; vaultTokenRef?: string; controllerUrl?: string } = {},
  ): string {
    const dir = join(work, name);
    rmSync(dir, { recursive: true, force: true });
    const pki = testPki();
    const config = {
      gatewayId: 'gw-diag',
      clusterId: 'site-diag',
      controller: {
        url: (patch.controllerUrl ?? controller.wsUrl).replace('127.0.0.1', 'localhost'),
        token: patch.tokenRef ?? pathToFileURL(patch.token ?? gwTokenFile).href,
        caFile: join(pki.dir, 'ca.crt'),
        ...(patch.proxy ? { proxy: patch.proxy } : {}),
        ...(patch.proxyPassword ? { proxyPassword: patch.proxyPassword } : {}),
      },
      vaults: [{ name: 'pmp-lab', url: pmp.url, token: patch.vaultTokenRef ?? pathToFileURL(patch.vaultToken ?? vaultTokenFile).href, caFile: vaultCaFile }],
      telemetry: { listen: `127.0.0.1:${deadPort}` },
    };
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o640 });
    return dir;
  }

  function expectNoSecrets(text: string): void {
    for (const secret of [GW_TOKEN, WRONG_TOKEN, PROXY_PASSWORD, pmp.tokens[0]!]) expect(text).not.toContain(secret);
  }

  it('all good: ok lines for config, secrets, controller DNS/TLS/auth/clock and the vault; exit 0; no secret printed', async () => {
    const r = await diagnose(configDir('good'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(line(r.out, 'config valid')).toMatch(/^ok {4}.*gateway gw-diag in cluster site-diag, 1 vault, controller set$/);
    expect(line(r.out, 'config permissions')).toMatch(/^ok .*mode 0640/);
    expect(line(r.out, 'controller token')).toBe(`ok    controller token            ${pathToFileURL(gwTokenFile).href}: readable, ${GW_TOKEN.length} bytes`);
    expect(line(r.out, 'daemon status')).toBe(`warn  daemon status               credgw is not running (no answer on 127.0.0.1:${deadPort})`);
    expect(line(r.out, 'controller proxy')).toMatch(/^ok .*none: connecting directly$/);
    expect(line(r.out, 'controller dns')).toMatch(/^ok .*localhost resolves to /);
    expect(line(r.out, 'controller tcp')).toMatch(/^ok .*connected to localhost:\d+ in \d+ ms$/);
    const cert = line(r.out, 'controller certificate');
    expect(cert).toMatch(/^ok .*subject CN=localhost.*; issuer CN=credgw test CA.*; valid .* to .*; SHA-256 [0-9A-F:]{95}; pin /);
    expect(cert).toContain(`pin ${controller.pin}`);
    expect(line(r.out, 'controller tls')).toMatch(/^ok .*trusted \(system roots \+ .*ca\.crt, hostname checked\); TLSv1\.[23]$/);
    expect(line(r.out, 'controller auth')).toMatch(/^ok .*token accepted \(HTTP 101, subprotocol credgw\.v1\); closed before hello$/);
    expect(line(r.out, 'controller clock')).toMatch(/^ok .*local clock agrees with the controller/);
    for (const check of ['dns', 'tcp', 'tls', 'auth']) expect(line(r.out, `vault pmp-lab ${check}`)).toMatch(/^ok /);
    expect(r.out).toMatch(/\ncredgw diagnose: 20 ok, 1 warn, 0 FAIL\n$/);
    expectNoSecrets(r.out);
    // Closed before hello: the controller never saw a gateway session.
    expect(controller.connectedGateways()).toEqual([]);
  });

  it("credential://credgw_NAME tokens from a shell (no CREDENTIALS_DIRECTORY): read from <config dir>/credentials/NAME, 0 FAIL", async () => {
    const dir = configDir('credentials', { tokenRef: 'credential://credgw_controller', vaultTokenRef: 'credential://credgw_pmp-lab' });
    mkdirSync(join(dir, 'credentials'), { mode: 0o750 });
    writeFileSync(join(dir, 'credentials', 'controller'), `${GW_TOKEN}\n`, { mode: 0o640 });
    writeFileSync(join(dir, 'credentials', 'pmp-lab'), `${pmp.tokens[0]}\n`, { mode: 0o640 });
    const r = await diagnose(dir);
    expect(r.out).not.toMatch(/^FAIL/m);
    expect(r.code).toBe(0);
    expect(line(r.out, 'controller token')).toBe(`ok    controller token            credential://credgw_controller: readable, ${GW_TOKEN.length} bytes`);
    expect(line(r.out, 'vault pmp-lab token')).toMatch(/^ok .*credential:\/\/credgw_pmp-lab: readable/);
    expect(line(r.out, 'controller auth')).toMatch(/^ok /);
    expect(line(r.out, 'vault pmp-lab auth')).toMatch(/^ok /);
    expectNoSecrets(r.out + r.err);
  });

  it('a wrong controller token: FAIL "token refused", exit 1, the token never shown', async () => {
    const r = await diagnose(configDir('wrong-token', { token: wrongTokenFile }));
    expect(r.code).toBe(1);
    expect(line(r.out, 'controller auth')).toMatch(/^FAIL {2}controller auth +token refused \(HTTP 401\)/);
    expect(line(r.out, 'controller tls')).toMatch(/^ok /);
    expect(line(r.out, 'controller clock')).toMatch(/^ok /);
    expect(r.out).toMatch(/\ncredgw diagnose: \d+ ok, \d+ warn, 1 FAIL\n$/);
    expectNoSecrets(r.out);
  });

  it('through an authenticating proxy: the tunnel is used, its credentials never shown; NO_PROXY bypasses the env proxy', async () => {
    const proxyUrl = proxy.url({ user: 'squid', password: PROXY_PASSWORD });
    const passwordFile = join(work, 'proxy.password');
    writeFileSync(passwordFile, `${PROXY_PASSWORD}\n`, { mode: 0o600 });
    const before = proxy.tunnels.length;
    const r = await diagnose(configDir('proxy', { proxy: `http://squid@127.0.0.1:${proxy.port}`, proxyPassword: pathToFileURL(passwordFile).href }));
    expect(r.code).toBe(0);
    expect(line(r.out, 'controller proxyPassword')).toBe(
      `ok    controller proxyPassword    ${pathToFileURL(passwordFile).href}: readable, ${PROXY_PASSWORD.length} bytes`,
    );
    expect(line(r.out, 'controller proxy')).toMatch(
      new RegExp(`^ok .*http://127\\.0\\.0\\.1:${proxy.port} from controller\\.proxy, with credentials \\(not shown\\)$`),
    );
    expect(line(r.out, 'controller tcp')).toMatch(new RegExp(`^ok .*tunnel to localhost:${controller.port} through http://127\\.0\\.0\\.1:${proxy.port} in \\d+ ms$`));
    expect(line(r.out, 'controller auth')).toMatch(/^ok /);
    expect(proxy.tunnels.slice(before)).toContain(`localhost:${controller.port}`);
    expectNoSecrets(r.out);
    expect(r.out).not.toContain('squid:');

    const env = { HTTPS_PROXY: proxyUrl, NO_PROXY: 'example.com, localhost' };
    const direct = await diagnose(configDir('no-proxy'), env);
    expect(direct.code).toBe(0);
    expect(line(direct.out, 'controller proxy')).toMatch(/^ok .*none: NO_PROXY matches localhost, connecting directly$/);
    expectNoSecrets(direct.out);

    const wrongFile = join(work, 'wrong-proxy.password');
    writeFileSync(wrongFile, 'nope-nope\n', { mode: 0o600 });
    const wrongCreds = await diagnose(configDir('proxy-407', { proxy: `http://squid@127.0.0.1:${proxy.port}`, proxyPassword: pathToFileURL(wrongFile).href }));
    expect(wrongCreds.code).toBe(1);
    expect(line(wrongCreds.out, 'controller tcp')).toMatch(/^FAIL .*refused the credentials \(407\)/);
    expect(wrongCreds.out).not.toContain('nope-nope');

    // A literal password in controller.proxy is refused, pointing at controller.proxyPassword, and never shown.
    const literal = await diagnose(configDir('proxy-literal', { proxy: proxyUrl }));
    expect(literal.code).toBe(1);
    expect(line(literal.out, 'config valid')).toMatch(/^FAIL .*controller\.proxy: must not contain a password: .*controller\.proxyPassword/);
    expectNoSecrets(literal.out);
  });

  it('shows proxy help texts as written (the URL redactor leaves "http://[user:password@]" alone)', async () => {
    const results = await runDiagnostics({ configDir: configDir('proxy-help'), env: { HTTPS_PROXY: 'bad host:3128' }, timeoutMs: 5000 });
    const proxyLine = results.find((r) => r.subject === 'controller' && r.check === 'proxy');
    expect(proxyLine).toEqual({
      subject: 'controller',
      check: 'proxy',
      level: 'fail',
      detail: 'HTTPS_PROXY: must be a URL like [http://][user:password@]host:port',
    });
    const config = await runDiagnostics({ configDir: configDir('proxy-help-config', { proxy: 'socks5://proxy:1080' }), env: {}, timeoutMs: 5000 });
    const configLine = config.find((r) => r.subject === 'config' && r.check === 'valid');
    expect(configLine?.detail).toMatch(/controller\.proxy: must be http:\/\/\[user@\]host:port$/);
    for (const r of [...results, ...config]) expect(r.detail).not.toContain('***@]');
  });

  it('file problems: a world-readable token FAILs with the chmod that fixes it; a world-readable config warns', async () => {
    const loose = join(work, 'loose.token');
    writeFileSync(loose, `${GW_TOKEN}\n`);
    chmodSync(loose, 0o644);
    const dir = configDir('loose', { token: loose });
    chmodSync(join(dir, 'config.json'), 0o644);
    const r = await diagnose(dir);
    expect(r.code).toBe(1);
    expect(line(r.out, 'config permissions')).toMatch(/^warn .*config\.json is readable by every user \(mode 0644\).*run: chmod o-rwx /);
    expect(line(r.out, 'controller token')).toMatch(new RegExp(`^FAIL .*${loose} is accessible to other users \\(mode 0644\\); run: chmod o-rwx ${loose}$`));
    expect(line(r.out, 'controller auth')).toMatch(/^FAIL .*not tried: the token cannot be read/);
    expectNoSecrets(r.out);
  });

  it('an untrusted controller certificate: FAIL tls, with the presented certificate shown', async () => {
    const dir = configDir('untrusted');
    const path = join(dir, 'config.json');
    const cfg = JSON.parse(readText(path)) as { controller: { caFile: string } };
    cfg.controller.caFile = join(testPki().dir, 'otherCa.crt');
    writeFileSync(path, JSON.stringify(cfg));
    const r = await diagnose(dir);
    expect(r.code).toBe(1);
    expect(line(r.out, 'controller tls')).toMatch(/^FAIL .*not trusted \(system roots \+ .*otherCa\.crt, hostname checked\): /);
    expect(line(r.out, 'controller certificate')).toContain(`pin ${controller.pin}`);
    expect(r.out).not.toMatch(/controller auth/);
  });

  it('a wrong vault token and an invalid config are failures; nothing listening is a clear TCP failure', async () => {
    const badVault = join(work, 'bad-vault.token');
    writeFileSync(badVault, 'not-a-pmp-key-123\n', { mode: 0o600 });
    const r = await diagnose(configDir('vault-token', { vaultToken: badVault }));
    expect(r.code).toBe(1);
    expect(line(r.out, 'vault pmp-lab auth')).toMatch(/^FAIL /);
    expect(r.out).not.toContain('not-a-pmp-key-123');

    const dir = configDir('invalid');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ gatewayId: 'x', controller: { url: 'ws://ctl.example', token: 'env://T' } }));
    const inv = await diagnose(dir);
    expect(inv.code).toBe(1);
    expect(line(inv.out, 'config valid')).toMatch(/^FAIL .*controller\.url: must be wss:\/\//);
    expect(inv.out).toMatch(/clusterId: is required when controller is set/);

    const down = configDir('down');
    const p = join(down, 'config.json');
    const cfg = JSON.parse(readText(p)) as { controller: { url: string } };
    cfg.controller.url = `wss://localhost:${deadPort}/gateway`;
    writeFileSync(p, JSON.stringify(cfg));
    const d = await diagnose(down);
    expect(d.code).toBe(1);
    expect(line(d.out, 'controller tcp')).toMatch(new RegExp(`^FAIL .*cannot connect to localhost:${deadPort} \\(ECONNREFUSED\\)$`));
  });

  it('clock skew against the controller: warn over 30 s, FAIL over 5 min', async () => {
    // Both clocks stand still: the controller's Date header and the local
    // reading it is set against do not move however long the check takes.
    const fixed = (ms: number): Clock => ({ ...systemClock, now: () => ms });
    const controllerNow = Math.floor(Date.now() / 1000) * 1000;
    const pki = testPki();
    const skewed = await startReferenceController({ tokens: [GW_TOKEN], tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem }, clock: fixed(controllerNow) });
    try {
      const dir = configDir('skew', { controllerUrl: skewed.wsUrl });
      const clockLine = async (localNow: number): Promise<CheckResult> =>
        (await runDiagnostics({ configDir: dir, env: {}, clock: fixed(localNow), timeoutMs: 5000 })).find((c) => c.subject === 'controller' && c.check === 'clock')!;
      // A Date header says the second: the check places the controller mid-second (+500 ms).
      const warnAt = controllerNow + 500 + 90_000;
      const warn = await clockLine(warnAt);
      expect(warn.level).toBe('warn');
      expect(warn.detail).toBe(
        `local clock is 90 s ahead of the controller (local ${new Date(warnAt).toISOString()}, controller ${new Date(controllerNow).toISOString()}); synchronise the clock (timedatectl status, chrony or systemd-timesyncd)`,
      );
      const fail = await clockLine(controllerNow + 500 - 400_000);
      expect(fail.level).toBe('fail');
      expect(fail.detail).toMatch(/^local clock is 7 min behind the controller .*synchronise the clock/);
    } finally {
      await skewed.close();
    }
  });
});

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
