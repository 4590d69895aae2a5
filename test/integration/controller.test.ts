import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { ManualClock } from '../../src/shared/clock.js';
import { startReferenceController, type ReferenceController, type ReferenceControllerOptions } from '../../src/sim/controller/server.js';
import { FakeGateway, type FakeGatewayOptions, type Frame } from '../helpers/fake-gateway.js';
import { testPki, type TestPki } from '../helpers/pki.js';

/**
 * The reference controller over real sockets and real TLS, against a small
 * fake gateway speaking the protocol with the `ws` package directly.
 */

const TOKEN = 'gw-token-Zq8Vd1xLr0';
/**
 * The fake gateways share this process with the controller, so a stall of it
 * (a loaded machine) silences them all at once: tests not about liveness use
 * a heartbeat no stall reaches; the liveness test drives a ManualClock.
 */
const HB = 60_000;

/** Polls a condition on the controller (no timing assertions; jest's timeout bounds it). */
async function until<T>(get: () => T | undefined | null | false): Promise<T> {
  for (;;) {
    const v = get();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('reference controller (TLS)', () => {
  let pki: TestPki;
  let agent: Agent;
  let ctl: ReferenceController | null = null;
  let gateways: FakeGateway[] = [];
  let dir: string;
  let logLines: string[];

  beforeAll(() => {
    pki = testPki();
    agent = new Agent({ connect: { ca: pki.ca.certPem } });
    dir = mkdtempSync(join(tmpdir(), 'credgw-ctl-'));
  });
  afterAll(async () => {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    gateways = [];
    await ctl?.close();
    ctl = null;
  });

  async function start(extra: Partial<ReferenceControllerOptions> = {}): Promise<ReferenceController> {
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    ctl = await startReferenceController({
      tokens: [TOKEN],
      tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
      heartbeatMs: HB,
      logger: pino({ level: 'debug' }, sink),
      ...extra,
    });
    return ctl;
  }

  /** A fake gateway with the suite's token unless `o` gives another (or null). */
  function connect(o: Omit<FakeGatewayOptions, 'token'> & { token?: string | null }): Promise<FakeGateway> {
    return FakeGateway.connect(ctl!, pki, { token: TOKEN, ...o });
  }

  async function gw(o: Parameters<typeof connect>[0]): Promise<FakeGateway> {
    const g = await connect(o);
    gateways.push(g);
    return g;
  }

  async function api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await request(`${ctl!.httpUrl}${path}`, {
      method,
      dispatcher: agent,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.statusCode, json: await res.body.json() };
  }

  const LIST = { name: 'listAccounts', params: { vault: 'pmp', resource: { customAttributes: { 'PMP Resource ID': '301' } } }, timeoutMs: 5000 };

  it('refuses a bad or missing token with HTTP 401 before the upgrade', async () => {
    await start();
    await expect(connect({ gatewayId: 'a', token: 'wrong' })).rejects.toMatchObject({ status: 401 });
    await expect(connect({ gatewayId: 'a', token: null })).rejects.toMatchObject({ status: 401 });
    expect(ctl!.connectedGateways()).toEqual([]);
    expect(logLines.join('')).toContain('bad or missing token');
    expect(logLines.join('')).not.toContain(TOKEN);
  });

  it('requires the credgw.v1 subprotocol and echoes it', async () => {
    await start();
    await expect(connect({ gatewayId: 'a', protocols: ['other.v9'] })).rejects.toMatchObject({ status: 400 });
    const g = await gw({ gatewayId: 'a', protocols: ['other.v9', 'credgw.v1'] });
    expect(g.ws.protocol).toBe('credgw.v1');
  });

  it('refuses missing X-Credgw headers with 400', async () => {
    await start();
    const ws = new WebSocket(ctl!.wsUrl, ['credgw.v1'], { headers: { Authorization: `Bearer ${TOKEN}` }, ca: pki.ca.certPem });
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    ws.terminate();
    expect(status).toBe(400);
  });

  it('hello → welcome with protocol, heartbeat, role and epoch', async () => {
    await start();
    const a = await gw({ gatewayId: 'a' });
    expect(await a.welcome()).toEqual({ type: 'welcome', protocol: 1, heartbeatMs: HB, role: 'active', epoch: 1 });
    const b = await gw({ gatewayId: 'b' });
    expect(await b.welcome()).toEqual({ type: 'welcome', protocol: 1, heartbeatMs: HB, role: 'standby', epoch: 1 });
    const snap = await api('GET', '/api/v1/clusters/site-1');
    expect(snap.status).toBe(200);
    expect(snap.json.gateways.map((g: any) => [g.gatewayId, g.role, g.epoch])).toEqual([
      ['a', 'active', 1],
      ['b', 'standby', 1],
    ]);
  });

  it('closes 4002 on another protocol version, 4000 when hello does not match the headers', async () => {
    await start();
    const v2 = await gw({ gatewayId: 'a', hello: { protocol: 2 } });
    expect((await v2.closed).code).toBe(4002);
    const mismatch = await gw({ gatewayId: 'a', hello: { gatewayId: 'zz' } });
    expect((await mismatch.closed).code).toBe(4000);
  });

  it('a second connection with the same gatewayId closes the older with 4003', async () => {
    await start();
    const first = await gw({ gatewayId: 'a' });
    await first.welcome();
    const second = await gw({ gatewayId: 'a' });
    expect((await first.closed).code).toBe(4003);
    expect(await second.welcome()).toMatchObject({ role: 'active', epoch: 2 });
  });

  it('closes 1003 on a binary frame and 1009 on a frame over 1 MiB', async () => {
    await start();
    const bin = await gw({ gatewayId: 'a' });
    await bin.welcome();
    bin.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await bin.closed).code).toBe(1003);
    const big = await gw({ gatewayId: 'b' });
    await big.welcome();
    big.ws.send('x'.repeat(1024 * 1024 + 1));
    expect((await big.closed).code).toBe(1009);
  });

  it('survives single bad frames and closes 4000 at the 10th in a minute', async () => {
    await start();
    const a = await gw({ gatewayId: 'a' });
    await a.welcome();
    for (let i = 0; i < 9; i++) a.ws.send(i % 2 ? 'not json' : '{"type":"nope"}');
    a.send({ type: 'health', vaults: [{ name: 'pmp', healthy: false, error: 'VAULT_UNREACHABLE' }] });
    await until(() => ctl!.cluster('site-1')?.gateways[0]?.healthy === false);
    a.ws.send('{}');
    expect((await a.closed).code).toBe(4000);
  });

  it('terminates a gateway silent for 3 heartbeats and promotes the standby', async () => {
    // Heartbeat time is the test's: b answers every ping before the clock
    // moves on, a answers none, however slowly this process runs.
    const clock = new ManualClock();
    const hb = 100;
    await start({ heartbeatMs: hb, clock });
    const silent = await gw({ gatewayId: 'a', autoPong: false, priority: 500 });
    await silent.welcome();
    const b = await gw({ gatewayId: 'b' });
    await b.welcome();
    for (let beat = 1; beat <= 3; beat++) {
      const pinged = new Promise((resolve) => b.ws.once('ping', resolve));
      clock.advance(hb);
      if (beat === 3) break;
      // b's pong left before its 'ping' event; once the controller answers a
      // later ping of b's, it has read that pong.
      await pinged;
      const marker = `beat-${beat}`;
      const answered = new Promise((resolve) => b.ws.on('pong', (d) => d.toString() === marker && resolve(undefined)));
      b.ws.ping(marker);
      await answered;
    }
    expect((await silent.closed).code).toBe(1006);
    expect(await b.next((f) => f.type === 'role')).toEqual({ type: 'role', role: 'active', epoch: 2 });
    const snap = ctl!.cluster('site-1')!;
    expect(snap.gateways.map((g) => g.gatewayId)).toEqual(['b']);
    expect(snap.counts.promotions).toBe(2);
  });

  it('a command round trip through the HTTP API', async () => {
    await start();
    const a = await gw({ gatewayId: 'a' });
    await a.welcome();
    const pending = api('POST', '/api/v1/clusters/site-1/commands', LIST);
    const cmd = await a.command();
    expect(cmd).toMatchObject({ type: 'command', epoch: 1, name: 'listAccounts', params: LIST.params });
    // What is left of the caller's 5000 ms: the time the controller held it before sending comes off.
    expect(cmd.timeoutMs).toBeGreaterThan(0);
    expect(cmd.timeoutMs).toBeLessThanOrEqual(5000);
    a.answer(cmd, { resourceId: '301', accounts: [] });
    const res = await pending;
    expect(res).toEqual({ status: 200, json: { id: cmd.id, epoch: 1, ok: true, data: { resourceId: '301', accounts: [] }, gatewayId: 'a', attempts: 1 } });
    const snap = await api('GET', '/api/v1/clusters/site-1');
    expect(snap.json.counts).toMatchObject({ commandsOk: 1, commandsFailed: 0, commandsInFlight: 0 });
  });

  it('re-sends to the standby when the active socket closes mid-command; exactly one final result', async () => {
    await start();
    const a = await gw({ gatewayId: 'a', priority: 200 });
    await a.welcome();
    const b = await gw({ gatewayId: 'b', priority: 100 });
    await b.welcome();
    const pending = api('POST', '/api/v1/clusters/site-1/commands', { ...LIST, id: 'console-42' });
    expect(await a.command()).toMatchObject({ id: 'console-42', epoch: 1 });
    await a.close();
    expect(await b.next((f) => f.type === 'role')).toEqual({ type: 'role', role: 'active', epoch: 2 });
    const resent = await b.command();
    expect(resent).toMatchObject({ id: 'console-42', epoch: 2 });
    b.answer(resent, { from: 'b' });
    b.answer(resent, { from: 'b-again' });
    const res = await pending;
    expect(res.json).toMatchObject({ id: 'console-42', epoch: 2, ok: true, data: { from: 'b' }, gatewayId: 'b', attempts: 2 });
    await until(() => ctl!.cluster('site-1')!.counts.duplicateResultsDropped === 1);
    expect(ctl!.cluster('site-1')!.counts).toMatchObject({ resentCommands: 1, commandsOk: 1, promotions: 2 });
    // The same id again returns the retained result; nothing is sent.
    const again = await api('POST', '/api/v1/clusters/site-1/commands', { ...LIST, id: 'console-42' });
    expect(again.json).toEqual(res.json);
    expect(b.frames.filter((f) => f.type === 'command')).toHaveLength(1);
  });

  it('drops and counts a result with a stale epoch', async () => {
    await start();
    const a = await gw({ gatewayId: 'a' });
    await a.welcome();
    const pending = api('POST', '/api/v1/clusters/site-1/commands', LIST);
    const cmd = await a.command();
    a.answer(cmd, { stale: true }, 0);
    await until(() => ctl!.cluster('site-1')!.counts.staleResultsDropped === 1);
    a.answer(cmd, { stale: false });
    const res = await pending;
    expect(res.json).toMatchObject({ ok: true, data: { stale: false } });
    const snap = await api('GET', '/api/v1/clusters/site-1');
    expect(snap.json.counts.staleResultsDropped).toBe(1);
  });

  it('moves the role on health and does not move it back', async () => {
    await start();
    const a = await gw({ gatewayId: 'a', priority: 500 });
    await a.welcome();
    const b = await gw({ gatewayId: 'b', priority: 10 });
    await b.welcome();
    a.send({ type: 'health', vaults: [{ name: 'pmp', healthy: false, error: 'VAULT_UNREACHABLE' }] });
    expect(await a.next((f) => f.type === 'role')).toEqual({ type: 'role', role: 'standby', epoch: 2 });
    expect(await b.next((f) => f.type === 'role')).toEqual({ type: 'role', role: 'active', epoch: 2 });
    a.send({ type: 'health', vaults: [{ name: 'pmp', healthy: true }] });
    await until(() => ctl!.cluster('site-1')!.gateways.find((g) => g.gatewayId === 'a')!.healthy);
    const snap = ctl!.cluster('site-1')!;
    expect(snap.activeGatewayId).toBe('b');
    expect(snap.epoch).toBe(2);
    // A command now goes to b at epoch 2.
    const pending = api('POST', '/api/v1/clusters/site-1/commands', LIST);
    const cmd = await b.command();
    expect(cmd.epoch).toBe(2);
    b.answer(cmd);
    expect((await pending).json.gatewayId).toBe('b');
  });

  it('resign: promotes at once; the resigning gateway finishes its command', async () => {
    await start();
    const a = await gw({ gatewayId: 'a', priority: 500 });
    await a.welcome();
    const b = await gw({ gatewayId: 'b', priority: 10 });
    await b.welcome();
    const first = api('POST', '/api/v1/clusters/site-1/commands', LIST);
    const cmdA = await a.command();
    a.send({ type: 'resign', epoch: 1 });
    expect(await b.next((f) => f.type === 'role')).toEqual({ type: 'role', role: 'active', epoch: 2 });
    const second = api('POST', '/api/v1/clusters/site-1/commands', LIST);
    const cmdB = await b.command();
    expect(cmdB.epoch).toBe(2);
    a.answer(cmdA, { by: 'a' });
    b.answer(cmdB, { by: 'b' });
    expect((await first).json).toMatchObject({ ok: true, gatewayId: 'a', epoch: 1, data: { by: 'a' } });
    expect((await second).json).toMatchObject({ ok: true, gatewayId: 'b', epoch: 2 });
    a.ws.close(1001);
    await a.closed;
    await until(() => ctl!.cluster('site-1')!.gateways.length === 1);
    expect(ctl!.cluster('site-1')!.counts.resentCommands).toBe(0);
  });

  it('answers 503 NO_ACTIVE_GATEWAY when no gateway comes in time, and delivers when one does', async () => {
    await start();
    const res = await api('POST', '/api/v1/clusters/empty/commands', { ...LIST, timeoutMs: 200 });
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ id: expect.any(String), error: { code: 'NO_ACTIVE_GATEWAY', retryable: true } });
    const pending = api('POST', '/api/v1/clusters/late/commands', LIST);
    await until(() => ctl!.cluster('late')?.counts.commandsInFlight === 0 && ctl!.cluster('late'));
    const a = await gw({ gatewayId: 'a', clusterId: 'late' });
    const cmd = await a.command();
    a.answer(cmd);
    expect((await pending).status).toBe(200);
  });

  it('keeps epochs across a restart with a state file', async () => {
    const stateFile = join(dir, 'epochs.json');
    await start({ stateFile });
    const a = await gw({ gatewayId: 'a' });
    expect(await a.welcome()).toMatchObject({ epoch: 1 });
    await a.close();
    const b = await gw({ gatewayId: 'b' });
    expect(await b.welcome()).toMatchObject({ role: 'active', epoch: 2 });
    await Promise.all(gateways.map((g) => g.close()));
    gateways = [];
    const closing = ctl!;
    ctl = null;
    await closing.close();
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({ version: 1, clusters: { 'site-1': { epoch: 2 } } });
    await start({ stateFile });
    const again = await gw({ gatewayId: 'a' });
    expect(await again.welcome()).toMatchObject({ role: 'active', epoch: 3 });
  });

  it('HTTP API: errors have stable codes; lists clusters; healthz', async () => {
    await start();
    expect(await api('GET', '/healthz')).toEqual({ status: 200, json: { status: 'ok' } });
    expect(await api('POST', '/api/v1/clusters/site-1/commands', '{nope')).toMatchObject({ status: 400, json: { error: { code: 'BAD_JSON' } } });
    expect(await api('POST', '/api/v1/clusters/site-1/commands', { name: 'x', params: {} })).toMatchObject({
      status: 400,
      json: { error: { code: 'UNKNOWN_COMMAND' } },
    });
    expect(await api('POST', '/api/v1/clusters/site-1/commands', { name: 'getPassword', params: { vault: 'pmp', resource: {} } })).toMatchObject({
      status: 400,
      json: { error: { code: 'BAD_REQUEST' } },
    });
    expect(await api('POST', '/api/v1/clusters/site-1/commands', 'x'.repeat(1024 * 1024 + 10))).toMatchObject({
      status: 413,
      json: { error: { code: 'BODY_TOO_LARGE' } },
    });
    expect(await api('GET', '/api/v1/clusters/nope')).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_CLUSTER' } } });
    expect(await api('GET', '/api/v1/clusters/site-1/commands')).toMatchObject({ status: 405, json: { error: { code: 'METHOD_NOT_ALLOWED' } } });
    expect(await api('GET', '/elsewhere')).toMatchObject({ status: 404, json: { error: { code: 'NOT_FOUND' } } });
    await gw({ gatewayId: 'a', clusterId: 'c2' }).then((g) => g.welcome());
    const list = await api('GET', '/api/v1/clusters');
    expect(list.json.clusters.map((c: any) => c.clusterId)).toEqual(['c2']);
  });

  it('test hooks: sendRaw, withholdPongs, dropConnection', async () => {
    await start();
    const a = await gw({ gatewayId: 'a' });
    await a.welcome();
    ctl!.sendRaw('a', 'raw text frame');
    await until(() => a.raw.includes('raw text frame'));
    const pongs: string[] = [];
    a.ws.on('pong', (d) => pongs.push(d.toString()));
    ctl!.withholdPongs('a', true);
    a.ws.ping('first');
    // Once the controller has handled this later frame, it has handled the ping too.
    a.send({ type: 'health', vaults: [{ name: 'pmp', healthy: false }] });
    await until(() => ctl!.cluster('site-1')!.gateways[0]!.healthy === false);
    ctl!.withholdPongs('a', false);
    // Frames are ordered: by the time the reply to a later ping arrives, a
    // reply to 'first' would have arrived before it.
    await new Promise<void>((resolve) => {
      a.ws.ping('probe');
      const t = setInterval(() => {
        if (pongs.includes('probe')) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
    expect(pongs).not.toContain('first');
    ctl!.dropConnection('a');
    expect((await a.closed).code).toBe(1006);
    expect(() => ctl!.sendRaw('a', 'x')).toThrow(/not connected/);
  });

  it('mutual TLS: requires a client certificate signed by the given CA', async () => {
    await start({ tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.ca.certPem, requestCert: true } });
    await expect(connect({ gatewayId: 'anon' })).rejects.toThrow();
    const a = await gw({ gatewayId: 'a', clientCert: true });
    expect(await a.welcome()).toMatchObject({ role: 'active' });
  });

  it('never logs the token or a password', async () => {
    await start();
    const a = await gw({ gatewayId: 'a' });
    await a.welcome();
    const pending = api('POST', '/api/v1/clusters/site-1/commands', {
      name: 'getPassword',
      params: { vault: 'pmp', resource: { customAttributes: { 'PMP Resource ID': '301' } }, accountId: '902' },
    });
    const cmd = await a.command();
    a.answer(cmd, { resourceId: '301', accountId: '902', accountName: 'administrator', password: 'S3cret-Pa55-xyz' });
    expect((await pending).json.data.password).toBe('S3cret-Pa55-xyz');
    const all = logLines.join('');
    expect(all).toContain('command final');
    expect(all).not.toContain('S3cret-Pa55-xyz');
    expect(all).not.toContain(TOKEN);
  });
});

describe('reference controller (plain ws, insecure)', () => {
  it('serves ws:// and http:// without TLS', async () => {
    const ctl = await startReferenceController({ tokens: [TOKEN], heartbeatMs: HB });
    try {
      expect(ctl.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/gateway$/);
      expect(ctl.pin).toBeUndefined();
      const ws = new WebSocket(ctl.wsUrl, ['credgw.v1'], {
        headers: { Authorization: `Bearer ${TOKEN}`, 'X-Credgw-Gateway': 'p', 'X-Credgw-Cluster': 'plain' },
      });
      const welcome = await new Promise<Frame>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () =>
          ws.send(JSON.stringify({ type: 'hello', protocol: 1, gatewayId: 'p', clusterId: 'plain', version: '1', priority: 1, capabilities: [], vaults: [] })),
        );
        ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Frame));
      });
      expect(welcome).toMatchObject({ type: 'welcome', role: 'active', epoch: 1 });
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await ctl.close();
      expect(await closed).toBe(1001);
    } finally {
      await ctl.close();
    }
  });
});
