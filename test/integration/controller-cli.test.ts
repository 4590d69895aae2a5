import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { runSimController, simControllerCommand } from '../../src/cli/sim-controller.js';
import { spkiPinFromPem } from '../../src/tls/index.js';
import { capture } from '../helpers/cli.js';

const TOKEN = 'cli-gw-token-8Jk2pQ';
const API_TOKEN = 'cli-api-token-3Hs9';

function connectGateway(url: string, ca: string | undefined, token: string): Promise<Record<string, unknown>> {
  const ws = new WebSocket(url, ['credgw.v1'], {
    headers: { Authorization: `Bearer ${token}`, 'X-Credgw-Gateway': 'gw-cli', 'X-Credgw-Cluster': 'cli' },
    ...(ca ? { ca } : {}),
  });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('open', () =>
      ws.send(JSON.stringify({ type: 'hello', protocol: 1, gatewayId: 'gw-cli', clusterId: 'cli', version: '1', priority: 1, capabilities: [], vaults: [] })),
    );
    ws.once('message', (d) => {
      ws.close();
      resolve(JSON.parse(d.toString()) as Record<string, unknown>);
    });
  });
}

describe('credgw sim controller', () => {
  it('runSimController: TLS with its own certificate, tokens from references, never printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'credgw-ctl-cli-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const out = capture();
    const running = await runSimController(
      {
        port: 0,
        tokenRefs: [pathToFileURL(tokenFile).href],
        apiTokenRefs: ['env://CTL_API_TOKEN'],
        env: { CTL_API_TOKEN: API_TOKEN },
        stateFile: join(dir, 'state.json'),
        heartbeatMs: 200,
      },
      out.stream,
      pino({ level: 'silent' }),
    );
    const agent = new Agent({ connect: { ca: readFileSync(running.certFile!, 'utf8') } });
    try {
      const banner = out.text();
      expect(running.controller.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/gateway$/);
      expect(banner).toContain(running.controller.wsUrl);
      expect(banner).toContain(`certificate : ${running.certFile}`);
      expect(banner).toContain(`SPKI pin    : ${spkiPinFromPem(readFileSync(running.certFile!, 'utf8'))}`);
      expect(banner).toContain(`tokens      : file://${tokenFile}`);
      expect(banner).not.toContain(TOKEN);
      expect(banner).not.toContain(API_TOKEN);
      const welcome = await connectGateway(running.controller.wsUrl, readFileSync(running.certFile!, 'utf8'), TOKEN);
      expect(welcome).toMatchObject({ type: 'welcome', role: 'active', epoch: 1, heartbeatMs: 200 });
      const open = await request(`${running.controller.httpUrl}/api/v1/clusters`, { dispatcher: agent });
      expect(open.statusCode).toBe(401);
      await open.body.dump();
      const authed = await request(`${running.controller.httpUrl}/api/v1/clusters`, { dispatcher: agent, headers: { authorization: `Bearer ${API_TOKEN}` } });
      expect(authed.statusCode).toBe(200);
      expect(((await authed.body.json()) as { clusters: Array<{ clusterId: string }> }).clusters[0]!.clusterId).toBe('cli');
    } finally {
      await agent.close();
      await running.close();
    }
    expect(existsSync(running.certFile!)).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).clusters.cli.epoch).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the command runs until told to stop (--insecure, env:// token)', async () => {
    const out = capture();
    const err = capture();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    let exitCode = -1;
    const cmd = simControllerCommand({
      out: out.stream,
      err: err.stream,
      env: { GW_TOKEN: TOKEN },
      waitForStop: () => stopped,
      setExitCode: (c) => void (exitCode = c),
      logger: pino({ level: 'silent' }),
    });
    const done = cmd.parseAsync(['--port', '0', '--insecure', '--token', 'env://GW_TOKEN', '--heartbeat-ms', '100'], { from: 'user' });
    const url = await (async () => {
      for (;;) {
        const m = /gateway URL : (\S+)/.exec(out.text());
        if (m) return m[1]!;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    expect(url).toMatch(/^ws:\/\//);
    expect(out.text()).toContain('INSECURE');
    expect(await connectGateway(url, undefined, TOKEN)).toMatchObject({ type: 'welcome', heartbeatMs: 100 });
    stop();
    await done;
    expect(exitCode).toBe(0);
    expect(err.text()).toBe('');
  });

  it.each([
    [['--port', '0', '--tls', '--insecure', '--token', 'env://X'], /exclude each other/],
    [['--port', '0'], /--token REF is required/],
    [['--port', 'abc', '--token', 'env://X'], /--port must be an integer/],
    [['--port', '0', '--token', 'env://X', '--log-level', 'loud'], /--log-level/],
  ])('usage errors exit 2: %j', async (argv, message) => {
    const err = capture();
    const cmd = simControllerCommand({ err: err.stream, out: capture().stream, logger: pino({ level: 'silent' }) });
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: (s) => void err.stream.write(s) });
    await expect(cmd.parseAsync(argv, { from: 'user' })).rejects.toMatchObject({ exitCode: 2 });
    expect(err.text()).toMatch(message);
  });

  it('an unreadable token reference fails with SECRET_UNAVAILABLE, naming the reference only', async () => {
    const err = capture();
    let exitCode = -1;
    const cmd = simControllerCommand({
      err: err.stream,
      out: capture().stream,
      env: {},
      setExitCode: (c) => void (exitCode = c),
      logger: pino({ level: 'silent' }),
    });
    await cmd.parseAsync(['--port', '0', '--insecure', '--token', 'env://MISSING_TOKEN'], { from: 'user' });
    expect(exitCode).toBe(1);
    expect(err.text()).toMatch(/env:\/\/MISSING_TOKEN.*\(SECRET_UNAVAILABLE\)/);
  });
});
