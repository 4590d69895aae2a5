import { jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ControllerConfig } from '../../src/config/types.js';
import { ControllerLink, LinkConfigError, type ControllerLinkOptions, type LinkEvents } from '../../src/link/index.js';
import { MAX_FRAME_BYTES, SUBPROTOCOL } from '../../src/protocol/index.js';
import { ManualClock, systemClock } from '../../src/shared/clock.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';
import { testPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait-for.js';

const TOKEN = 'tok-3f9c1a7e5b2d4c6e8f0a-SECRET';
const PROXY_PASSWORD = 'proxy-pw-91b7e2-SECRET';
const pki = testPki();
const caFile = join(pki.dir, 'ca.crt');

// ---- a bare controller: https (or http) + ws, driven by the test ---------

interface ServerConn {
  ws: WebSocket;
  req: IncomingMessage;
  messages: string[];
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
  nextMessage(): Promise<unknown>;
}

interface TestController {
  port: number;
  url: string;
  connections: ServerConn[];
  nextConnection(): Promise<ServerConn>;
  close(): Promise<void>;
}

interface ControllerOptions {
  tls?: boolean;
  port?: number;
  /** The subprotocol to echo; false for none. Default: credgw.v1 when offered. */
  protocol?: string | false;
  autoPong?: boolean;
  requestCert?: boolean;
  token?: string;
}

const controllers: TestController[] = [];

async function startController(options: ControllerOptions = {}): Promise<TestController> {
  const server =
    options.tls === false
      ? http.createServer()
      : https.createServer({
          cert: pki.server.certPem,
          key: pki.server.keyPem,
          ...(options.requestCert ? { requestCert: true, rejectUnauthorized: true, ca: [pki.ca.certPem] } : {}),
        });
  const wss = new WebSocketServer({
    server,
    autoPong: options.autoPong ?? true,
    maxPayload: 4 * MAX_FRAME_BYTES,
    handleProtocols: (protocols) => {
      if (options.protocol !== undefined) return options.protocol;
      return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
    },
    verifyClient: (info, cb) => {
      if (info.req.headers.authorization !== `Bearer ${options.token ?? TOKEN}`) cb(false, 401, 'Unauthorized');
      else cb(true);
    },
  });
  const connections: ServerConn[] = [];
  const arrivals = new EventEmitter();
  wss.on('connection', (ws, req) => {
    const inbox = new EventEmitter();
    const conn: ServerConn = {
      ws,
      req,
      messages: [],
      pings: 0,
      closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
      nextMessage: () => {
        const waiting = conn.messages.shift();
        if (waiting !== undefined) return Promise.resolve(JSON.parse(waiting));
        return new Promise((resolve) => inbox.once('message', () => resolve(JSON.parse(conn.messages.shift() as string))));
      },
    };
    ws.on('message', (data) => {
      conn.messages.push(data.toString());
      inbox.emit('message');
    });
    ws.on('ping', () => conn.pings++);
    ws.on('error', () => undefined);
    connections.push(conn);
    arrivals.emit('connection', conn);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let seen = 0;
  const ctrl: TestController = {
    port,
    url: `${options.tls === false ? 'ws' : 'wss'}://127.0.0.1:${port}/gateway`,
    connections,
    nextConnection: () => {
      const index = seen++;
      if (connections[index]) return Promise.resolve(connections[index]);
      return new Promise((resolve) => {
        const on = (): void => {
          if (connections[index]) {
            arrivals.off('connection', on);
            resolve(connections[index]);
          }
        };
        arrivals.on('connection', on);
      });
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  controllers.push(ctrl);
  return ctrl;
}

function welcome(heartbeatMs = 1000, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: 'welcome', protocol: 1, heartbeatMs, role: 'active', epoch: 7, ...extra });
}

// ---- the link under test, with captured logs ---------------------------

let logLines: string[] = [];
const links: ControllerLink[] = [];
const proxies: ConnectProxy[] = [];

function capturedLogger(): Logger {
  return pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
}

function makeLink(ctrl: { url: string } | string, controller: Partial<ControllerConfig> = {}, options: Partial<ControllerLinkOptions> = {}): ControllerLink {
  const link = new ControllerLink({
    controller: {
      url: typeof ctrl === 'string' ? ctrl : ctrl.url,
      token: 'env://CREDGW_TEST_TOKEN',
      insecure: false,
      caFile,
      pinSha256: null,
      certFile: null,
      keyFile: null,
      proxy: null,
      proxyPassword: null,
      ...controller,
    },
    gatewayId: 'gw-a',
    clusterId: 'site-1',
    priority: 100,
    version: '0.1.0-test',
    readToken: async () => TOKEN,
    vaultHealth: () => [{ name: 'pmp-prod', healthy: true }],
    logger: capturedLogger(),
    clock: systemClock,
    // Deterministic, short delays: 10, 20, 40 … 200 ms.
    random: () => 1,
    backoff: { baseMs: 10, capMs: 200 },
    env: {},
    ...options,
  });
  links.push(link);
  return link;
}

/** Resolves with the args of the first `event` that satisfies `pred`. */
function nextEvent<K extends keyof LinkEvents>(link: ControllerLink, event: K, pred: (...args: LinkEvents[K]) => boolean = () => true): Promise<LinkEvents[K]> {
  return new Promise((resolve) => {
    const on = (...args: LinkEvents[K]): void => {
      if (pred(...args)) {
        (link.off as (e: K, l: (...a: LinkEvents[K]) => void) => void)(event, on);
        resolve(args);
      }
    };
    (link.on as (e: K, l: (...a: LinkEvents[K]) => void) => void)(event, on);
  });
}

async function handshake(ctrl: TestController, heartbeatMs = 1000): Promise<ServerConn> {
  const conn = await ctrl.nextConnection();
  const hello = (await conn.nextMessage()) as { type: string };
  expect(hello.type).toBe('hello');
  conn.ws.send(welcome(heartbeatMs));
  return conn;
}

/**
 * A link welcomed on a manual clock (heartbeat 1 s), then frozen like a
 * stopped process: the clock can be advanced while no timer of the link
 * runs. `thaw()` undoes the freeze.
 */
async function frozenLinkUp(): Promise<{ link: ControllerLink; clock: ManualClock; conn: ServerConn; thaw: () => void }> {
  const ctrl = await startController();
  const clock = new ManualClock();
  const link = makeLink(ctrl, {}, { clock });
  expect(link.live).toBe(false);
  const up = nextEvent(link, 'welcome');
  link.start();
  const conn = await handshake(ctrl, 1000);
  await up;
  expect(link.live).toBe(true);
  const spy = jest.spyOn(clock, 'setTimeout').mockImplementation(() => ({}));
  return { link, clock, conn, thaw: () => spy.mockRestore() };
}

beforeEach(() => {
  logLines = [];
});

afterEach(async () => {
  await Promise.all(links.splice(0).map((l) => l.stop()));
  await Promise.all(controllers.splice(0).map((c) => c.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  // No secret in any log line of any test.
  const all = logLines.join('');
  expect(all).not.toContain(TOKEN);
  expect(all).not.toContain(PROXY_PASSWORD);
  expect(all).not.toContain(Buffer.from(`user:${PROXY_PASSWORD}`).toString('base64'));
});

function logged(msg: string): Array<Record<string, unknown>> {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === msg);
}

// ---- tests ---------------------------------------------------------------

describe('ControllerLink over real sockets', () => {
  it('sends headers and hello, gets welcome, carries commands and results on their session, and stops with 1001', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    const welcomed = nextEvent(link, 'welcome');
    link.start();
    const conn = await ctrl.nextConnection();
    expect(conn.req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(conn.req.headers['x-credgw-gateway']).toBe('gw-a');
    expect(conn.req.headers['x-credgw-cluster']).toBe('site-1');
    expect(conn.ws.protocol).toBe('credgw.v1');
    expect(await conn.nextMessage()).toEqual({
      type: 'hello',
      protocol: 1,
      gatewayId: 'gw-a',
      clusterId: 'site-1',
      version: '0.1.0-test',
      priority: 100,
      capabilities: ['listAccounts', 'getPassword', 'sealedDelivery', 'checkInPassword', 'accessRequests'],
      vaults: [{ name: 'pmp-prod', healthy: true }],
    });
    expect(link.state).toBe('handshaking');
    expect(link.current).toBeNull();
    conn.ws.send(welcome(1000));
    const [w, session] = await welcomed;
    expect(w).toEqual({ type: 'welcome', protocol: 1, heartbeatMs: 1000, role: 'active', epoch: 7 });
    expect(link.state).toBe('up');
    expect(link.current).toBe(session);
    expect(session.open).toBe(true);
    expect(link.connectedSince).not.toBeNull();
    expect(link.counters).toEqual({ connects: 1, disconnects: 0, reconnectAttempts: 0, violations: 0 });

    const role = nextEvent(link, 'role');
    conn.ws.send(JSON.stringify({ type: 'role', role: 'standby', epoch: 8 }));
    expect((await role)[0]).toEqual({ type: 'role', role: 'standby', epoch: 8 });

    const command = nextEvent(link, 'command');
    conn.ws.send(JSON.stringify({ type: 'command', id: 'c-1', epoch: 8, name: 'listAccounts', params: { vault: 'pmp-prod', resource: { customAttributes: { 'PMP Resource ID': '301' } } } }));
    const [cmd, cmdSession] = await command;
    expect(cmd).toMatchObject({ id: 'c-1', name: 'listAccounts', timeoutMs: 10000 });
    expect(cmdSession).toBe(session);
    expect(cmdSession.send({ type: 'result', id: 'c-1', epoch: 8, ok: true, data: { accounts: [] } })).toBe(true);
    expect(await conn.nextMessage()).toEqual({ type: 'result', id: 'c-1', epoch: 8, ok: true, data: { accounts: [] } });

    const rejected = nextEvent(link, 'rejected');
    conn.ws.send(JSON.stringify({ type: 'command', id: 'c-2', epoch: 8, name: 'rotatePassword', params: {} }));
    expect((await rejected)[0]).toMatchObject({ kind: 'rejected', id: 'c-2', epoch: 8, code: 'UNKNOWN_COMMAND' });

    expect(link.send({ type: 'health', vaults: [{ name: 'pmp-prod', healthy: false, error: 'VAULT_UNREACHABLE' }] })).toBe(true);
    expect(await conn.nextMessage()).toMatchObject({ type: 'health' });

    const down = nextEvent(link, 'down');
    await link.stop();
    expect(link.state).toBe('stopped');
    expect((await conn.closed).code).toBe(1001);
    expect((await down)[0].code).toBe(1001);
    expect(session.open).toBe(false);
    expect(link.current).toBeNull();
    // protocol section 5: the result of a command whose connection is gone is dropped and logged by id.
    expect(session.send({ type: 'result', id: 'c-9', epoch: 8, ok: true, data: { password: 'hunter2-never-logged' } })).toBe(false);
    expect(link.send({ type: 'resign', epoch: 8 })).toBe(false);
    const dropped = logged('result dropped, connection gone');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ session: session.id, id: 'c-9' });
    expect(logLines.join('')).not.toContain('hunter2-never-logged');
    expect(link.counters.disconnects).toBe(1);
    await link.stop(); // idempotent
  });

  it('closes, logs PROTOCOL_MISMATCH and backs off when the controller does not echo credgw.v1', async () => {
    const ctrl = await startController({ protocol: false });
    const link = makeLink(ctrl);
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0]).toMatchObject({ code: 'PROTOCOL_MISMATCH', delayMs: 10 });
    const line = logged('controller does not speak credgw.v1')[0];
    expect(line).toMatchObject({ code: 'PROTOCOL_MISMATCH' });
    expect(link.state === 'backoff' || link.state === 'connecting').toBe(true);
  });

  it('backs off at the cap after HTTP 401, never logging the token', async () => {
    const ctrl = await startController({ token: 'the-right-one' });
    const link = makeLink(ctrl, {}, { backoff: { baseMs: 250, capMs: 30_000 }, random: () => 0 });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0]).toEqual({ code: 'UNAUTHORIZED', delayMs: 30_000, attempt: 0 });
    expect(link.state).toBe('backoff');
    expect(logged('controller refused the token')[0]).toMatchObject({ code: 'UNAUTHORIZED', delayMs: 30_000, level: 50 });
    expect(ctrl.connections).toHaveLength(0);
  });

  it('answers pings and keeps a connection whose controller pongs', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl, 100);
    await up;
    // The link pings every 100 ms; wait until it has pinged well past 3 × heartbeat.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (conn.pings >= 6) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    expect(link.state).toBe('up');
    expect(link.counters.disconnects).toBe(0);
    // ws answers the controller's pings with pongs.
    const pong = new Promise<void>((resolve) => conn.ws.once('pong', () => resolve()));
    conn.ws.ping();
    await pong;
  });

  it('terminates and re-dials a controller that withholds pongs', async () => {
    const ctrl = await startController({ autoPong: false });
    const link = makeLink(ctrl);
    link.start();
    const first = await handshake(ctrl, 100);
    const backoff = nextEvent(link, 'backoff');
    expect((await backoff)[0].code).toBe('LIVENESS');
    expect(first.pings).toBeGreaterThanOrEqual(1);
    expect((await first.closed).code).toBe(1006);
    const second = await ctrl.nextConnection();
    expect(await second.nextMessage()).toMatchObject({ type: 'hello' });
    expect(link.counters.reconnectAttempts).toBeGreaterThanOrEqual(1);
    expect(logged('controller went silent')).toHaveLength(1);
  });

  it('reconnects after the controller restarts', async () => {
    let ctrl = await startController();
    const link = makeLink(ctrl);
    let welcomed = nextEvent(link, 'welcome');
    link.start();
    await handshake(ctrl);
    const [, firstSession] = await welcomed;
    const down = nextEvent(link, 'down');
    const port = ctrl.port;
    await ctrl.close();
    controllers.splice(controllers.indexOf(ctrl), 1);
    expect((await down)[0].code).toBe(1006);
    expect(firstSession.open).toBe(false);
    welcomed = nextEvent(link, 'welcome');
    ctrl = await startController({ port });
    await handshake(ctrl);
    const [, secondSession] = await welcomed;
    expect(secondSession.id).toBeGreaterThan(firstSession.id);
    expect(link.current).toBe(secondSession);
    expect(firstSession.send({ type: 'result', id: 'old', epoch: 7, ok: true, data: {} })).toBe(false);
    expect(link.counters.connects).toBe(2);
    expect(link.counters.disconnects).toBe(1);
    expect(link.counters.reconnectAttempts).toBeGreaterThanOrEqual(1);
  });

  it('closes with 1003 on a binary frame', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl);
    await up;
    const backoff = nextEvent(link, 'backoff');
    conn.ws.send(Buffer.from('{"type":"role","role":"active","epoch":1}'), { binary: true });
    expect((await conn.closed).code).toBe(1003);
    expect((await backoff)[0].code).toBe('PROTOCOL_ERROR');
  });

  it('accepts a 1 MiB frame and closes with 1009 on a larger one', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl);
    await up;
    const prefix = '{"type":"padding","x":"';
    const exact = `${prefix}${'x'.repeat(MAX_FRAME_BYTES - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(exact)).toBe(MAX_FRAME_BYTES);
    const role = nextEvent(link, 'role');
    conn.ws.send(exact); // a violation (unknown type), not a close
    conn.ws.send(JSON.stringify({ type: 'role', role: 'active', epoch: 9 }));
    await role;
    expect(link.counters.violations).toBe(1);
    conn.ws.send(`${exact} `);
    expect((await conn.closed).code).toBe(1009);
  });

  it('survives single bad frames and closes with 4000 at the 10th within a minute', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl);
    await up;
    const bad = ['not json', '[]', '{"type":"nope"}', '{"no":"type"}', '{"type":"command","id":"bad id!","password":"pw-in-bad-frame"}'];
    for (let i = 0; i < 9; i++) conn.ws.send(bad[i % bad.length] as string);
    const role = nextEvent(link, 'role');
    conn.ws.send(JSON.stringify({ type: 'role', role: 'active', epoch: 9 }));
    await role;
    expect(link.state).toBe('up');
    expect(link.counters.violations).toBe(9);
    const violations = logged('protocol violation');
    expect(violations).toHaveLength(9);
    expect(violations[0]).toMatchObject({ reason: 'frame is not JSON', count: 1 });
    expect(logLines.join('')).not.toContain('pw-in-bad-frame');
    const backoff = nextEvent(link, 'backoff');
    conn.ws.send('still not json');
    expect((await conn.closed).code).toBe(4000);
    expect((await backoff)[0].code).toBe('PROTOCOL_ERROR');
  });

  it('closes and reconnects when no welcome comes in time', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl, {}, { welcomeTimeoutMs: 150 });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    const conn = await ctrl.nextConnection();
    expect(await conn.nextMessage()).toMatchObject({ type: 'hello' });
    expect((await backoff)[0].code).toBe('WELCOME_TIMEOUT');
    expect((await conn.closed).code).toBe(4000);
    const again = await ctrl.nextConnection();
    expect(await again.nextMessage()).toMatchObject({ type: 'hello' });
  });

  it('closes with 4002 on a welcome of another protocol version', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    const backoff = nextEvent(link, 'backoff');
    link.start();
    const conn = await ctrl.nextConnection();
    await conn.nextMessage();
    conn.ws.send(welcome(1000, { protocol: 2 }));
    expect((await conn.closed).code).toBe(4002);
    expect((await backoff)[0].code).toBe('VERSION_MISMATCH');
  });

  it.each([
    [4001, 'UNAUTHORIZED', 30_000],
    [4003, 'REPLACED', 30_000],
    [1001, 'CLOSED', 0],
    [4000, 'PROTOCOL_ERROR', 0],
  ])('a controller close with %i is %s and waits %i ms', async (code, expected, delayMs) => {
    const ctrl = await startController();
    const link = makeLink(ctrl, {}, { backoff: { baseMs: 250, capMs: 30_000 }, random: () => 0 });
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl);
    await up;
    const down = nextEvent(link, 'down');
    const backoff = nextEvent(link, 'backoff');
    conn.ws.close(code, 'test');
    expect((await down)[0]).toEqual({ code, reason: 'test' });
    expect((await backoff)[0]).toMatchObject({ code: expected, delayMs });
  });

  it('refuses a token an HTTP header cannot carry, without sending it', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl, {}, { readToken: async () => `${TOKEN}\nX-Evil: 1` });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0].code).toBe('TOKEN_UNREADABLE');
    expect(ctrl.connections).toHaveLength(0);
  });

  it('sends hello even when vault health cannot be read', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl, {}, {
      vaultHealth: () => {
        throw new Error('health bug');
      },
    });
    link.start();
    const conn = await ctrl.nextConnection();
    expect(await conn.nextMessage()).toMatchObject({ type: 'hello', vaults: [] });
  });

  it('treats frames before welcome as violations, not commands', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    let commands = 0;
    link.on('command', () => commands++);
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await ctrl.nextConnection();
    await conn.nextMessage();
    conn.ws.send(JSON.stringify({ type: 'command', id: 'early', epoch: 1, name: 'listAccounts', params: { vault: 'v', resource: {} } }));
    conn.ws.send(welcome());
    await up;
    expect(commands).toBe(0);
    expect(logged('protocol violation')[0]).toMatchObject({ reason: 'command before welcome' });
  });
});

describe('ControllerLink TLS', () => {
  it('refuses a certificate the trust store does not know', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl, { caFile: join(pki.dir, 'otherCa.crt') });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    const [info] = await backoff;
    expect(info.code).toBe('TLS_ERROR');
    expect(ctrl.connections).toHaveLength(0);
    expect(logged('TLS with the controller failed')).toHaveLength(1);
  });

  it('refuses a trusted certificate that does not match the pin, and accepts the right pin', async () => {
    const ctrl = await startController();
    const wrong = makeLink(ctrl, { pinSha256: pki.selfSigned.pin });
    const backoff = nextEvent(wrong, 'backoff');
    wrong.start();
    expect((await backoff)[0].code).toBe('TLS_ERROR');
    expect(logged('TLS with the controller failed')[0]?.['detail']).toMatch(/pin/);
    await wrong.stop();
    expect(ctrl.connections).toHaveLength(0);

    const right = makeLink(ctrl, { pinSha256: pki.server.pin });
    const up = nextEvent(right, 'welcome');
    right.start();
    await handshake(ctrl);
    await up;
  });

  it('presents the client certificate when the controller asks for one', async () => {
    const ctrl = await startController({ requestCert: true });
    const link = makeLink(ctrl, { certFile: join(pki.dir, 'client.crt'), keyFile: join(pki.dir, 'client.key') });
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl);
    await up;
    const peer = (conn.req.socket as TLSSocket).getPeerCertificate();
    expect(peer.subject.CN).toBe('gw-test-client');
  });

  it('does not get in without the client certificate the controller requires', async () => {
    const ctrl = await startController({ requestCert: true });
    const link = makeLink(ctrl);
    const backoff = nextEvent(link, 'backoff');
    link.start();
    // TLS 1.3: the refusal arrives as an alert after the client's handshake (TLS_ERROR), or as a reset.
    expect(['TLS_ERROR', 'CONNECT_FAILED']).toContain((await backoff)[0].code);
    expect(ctrl.connections).toHaveLength(0);
  });

  // The config compile refuses ws:// without controller.insecure, a lone certFile or keyFile, a bad
  // pin and a URL of another scheme (test/unit/config/compile.test.ts); the link trusts it.
  it('dials ws:// when controller.insecure is true', async () => {
    const ctrl = await startController({ tls: false });
    const link = makeLink(ctrl, { insecure: true });
    const up = nextEvent(link, 'welcome');
    link.start();
    await handshake(ctrl);
    await up;
  });

  it('refuses at construction a CA file it cannot read and a proxy it cannot use', () => {
    expect(() => makeLink('wss://x/', { caFile: '/nonexistent/ca.pem' })).toThrow(LinkConfigError);
    expect(() => makeLink('wss://x/', { caFile: '/nonexistent/ca.pem' })).toThrow(/^controller\.caFile: /);
    expect(() => makeLink('wss://x/', { proxy: 'socks5://p:1' })).toThrow(/^controller\.proxy: /);
  });

  it('refuses at construction a client certificate with a key that is not its own', () => {
    // The link builds its TLS context itself (roots + CA + certificate), so a mismatched pair is a config error, not a dial failure.
    const opts = { caFile, certFile: join(pki.dir, 'client.crt'), keyFile: join(pki.dir, 'server.key') };
    expect(() => makeLink('wss://x/', opts)).toThrow(LinkConfigError);
    expect(() => makeLink('wss://x/', opts)).toThrow(/^controller\.keyFile: the client certificate and key cannot be used/);
  });
});

describe('ControllerLink through an HTTP CONNECT proxy', () => {
  async function proxy(): Promise<ConnectProxy> {
    const p = await startConnectProxy({ user: 'user', password: PROXY_PASSWORD });
    proxies.push(p);
    return p;
  }

  it('tunnels through controller.proxy with Basic auth, TLS end to end', async () => {
    const ctrl = await startController();
    const p = await proxy();
    const link = makeLink(ctrl, { proxy: p.url({ user: 'user', password: PROXY_PASSWORD }) });
    const up = nextEvent(link, 'welcome');
    link.start();
    const conn = await handshake(ctrl);
    await up;
    expect(p.tunnels).toEqual([`127.0.0.1:${ctrl.port}`]);
    expect(conn.req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    // The proxy's credentials stay with the proxy.
    expect(conn.req.headers['proxy-authorization']).toBeUndefined();
  });

  it('logs a clear error without the credentials and backs off when the proxy says 407', async () => {
    const ctrl = await startController();
    const p = await proxy();
    const link = makeLink(ctrl, { proxy: p.url({ user: 'user', password: `${PROXY_PASSWORD}-wrong` }) });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0].code).toBe('PROXY_AUTH_REQUIRED');
    expect(p.refused).toBeGreaterThanOrEqual(1);
    const line = logged('proxy refused the credentials')[0];
    expect(line).toMatchObject({ code: 'PROXY_AUTH_REQUIRED', proxy: `http://127.0.0.1:${p.port}` });
    expect(JSON.stringify(line)).not.toContain(PROXY_PASSWORD);
    expect(ctrl.connections).toHaveLength(0);
  });

  it('backs off a 407 at the cap like a 401: one CONNECT per 30 s, not 8 in 20 s (manual clock, real sockets)', async () => {
    const ctrl = await startController();
    const p = await proxy();
    const clock = new ManualClock();
    // random 1 takes the top of every jitter window: 250, 500, 1000 … ms if a 407 were an ordinary failure.
    const link = makeLink(ctrl, { proxy: p.url({ user: 'user', password: `${PROXY_PASSWORD}-wrong` }) }, { clock, random: () => 1, backoff: { baseMs: 250, capMs: 30_000 } });
    const delays: number[] = [];
    let elapsed = 0;
    let backoff = nextEvent(link, 'backoff');
    link.start();
    // Follow the link's own schedule through 50 s, counting the CONNECTs: a 401-like cap allows 2.
    while (elapsed <= 50_000) {
      const [info] = await backoff;
      expect(info.code).toBe('PROXY_AUTH_REQUIRED');
      delays.push(info.delayMs);
      if (elapsed + info.delayMs > 50_000) break;
      elapsed += info.delayMs;
      backoff = nextEvent(link, 'backoff');
      clock.advance(info.delayMs); // fires the re-dial
    }
    expect(delays).toEqual([30_000, 30_000]);
    expect(p.refused).toBe(2);
    expect(ctrl.connections).toHaveLength(0);
  });

  it('reads controller.proxyPassword at every dial, so a rotated password is used without a restart', async () => {
    const ctrl = await startController();
    const p = await proxy();
    let password = `${PROXY_PASSWORD}-old`;
    const reads: number[] = [];
    const link = makeLink(ctrl, { proxy: `http://user@127.0.0.1:${p.port}`, proxyPassword: 'env://PROXY_PASSWORD' }, {
      readProxyPassword: async () => {
        reads.push(reads.length);
        return password;
      },
    });
    const backoff = nextEvent(link, 'backoff');
    const up = nextEvent(link, 'welcome');
    link.start();
    expect((await backoff)[0].code).toBe('PROXY_AUTH_REQUIRED');
    password = PROXY_PASSWORD; // rotated while the link waits
    await handshake(ctrl);
    await up;
    expect(p.refused).toBe(1);
    expect(p.tunnels).toEqual([`127.0.0.1:${ctrl.port}`]);
    expect(reads).toEqual([0, 1]);
  });

  it('backs off with PROXY_PASSWORD_UNREADABLE, sending no CONNECT, when the proxy password cannot be read', async () => {
    const ctrl = await startController();
    const p = await proxy();
    const link = makeLink(ctrl, { proxy: `http://user@127.0.0.1:${p.port}`, proxyPassword: 'file:///etc/credgw/proxy.password' }, {
      readProxyPassword: async () => Promise.reject(new Error('file:///etc/credgw/proxy.password: /etc/credgw/proxy.password does not exist')),
    });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0].code).toBe('PROXY_PASSWORD_UNREADABLE');
    expect(logged('cannot read the proxy password')[0]).toMatchObject({ detail: expect.stringContaining('does not exist') });
    expect(p.refused).toBe(0);
    expect(p.tunnels).toEqual([]);
  });

  it('uses HTTPS_PROXY from the environment, and NO_PROXY bypasses it', async () => {
    const ctrl = await startController();
    const p = await proxy();
    const env = { HTTPS_PROXY: p.url({ user: 'user', password: PROXY_PASSWORD }) };

    const viaProxy = makeLink(ctrl, {}, { env });
    let up = nextEvent(viaProxy, 'welcome');
    viaProxy.start();
    await handshake(ctrl);
    await up;
    expect(p.tunnels).toHaveLength(1);
    await viaProxy.stop();

    const direct = makeLink(ctrl, {}, { env: { ...env, NO_PROXY: `localhost,127.0.0.1:${ctrl.port}` } });
    up = nextEvent(direct, 'welcome');
    direct.start();
    await handshake(ctrl);
    await up;
    expect(p.tunnels).toHaveLength(1);
  });

  it('reads HTTPS_PROXY without a scheme as http://, and a CIDR range in NO_PROXY bypasses it, as curl does', async () => {
    const ctrl = await startController();
    const p = await proxy();
    const env = { HTTPS_PROXY: `user:${PROXY_PASSWORD}@127.0.0.1:${p.port}` };

    const viaProxy = makeLink(ctrl, {}, { env });
    let up = nextEvent(viaProxy, 'welcome');
    viaProxy.start();
    await handshake(ctrl);
    await up;
    expect(p.tunnels).toEqual([`127.0.0.1:${ctrl.port}`]);
    await viaProxy.stop();

    const direct = makeLink(ctrl, {}, { env: { ...env, NO_PROXY: 'example.com, 127.0.0.0/8' } });
    up = nextEvent(direct, 'welcome');
    direct.start();
    await handshake(ctrl);
    await up;
    expect(p.tunnels).toHaveLength(1);
  });

  it('reports an unreachable proxy as PROXY_FAILED', async () => {
    const ctrl = await startController();
    const p = await startConnectProxy();
    const url = p.url();
    await p.close();
    const link = makeLink(ctrl, { proxy: url });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0].code).toBe('PROXY_FAILED');
  });
});

describe('ControllerLink lifecycle', () => {
  it('stop() during backoff clears the timer and never dials again', async () => {
    const ctrl = await startController({ token: 'other' });
    const link = makeLink(ctrl, {}, { backoff: { baseMs: 10, capMs: 60_000 } });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    await backoff;
    await link.stop();
    expect(link.state).toBe('stopped');
    expect(() => link.start()).toThrow(/link: illegal transition stopped -> connecting/);
  });

  it('stop() while connecting leaves nothing behind', async () => {
    const ctrl = await startController();
    let release: (t: string) => void = () => undefined;
    const link = makeLink(ctrl, {}, { readToken: () => new Promise<string>((resolve) => (release = resolve)) });
    link.start();
    expect(link.state).toBe('connecting');
    await link.stop();
    release(TOKEN);
    await new Promise((resolve) => setImmediate(resolve));
    expect(link.state).toBe('stopped');
    expect(ctrl.connections).toHaveLength(0);
  });

  it('backs off with TOKEN_UNREADABLE when the token cannot be read', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl, {}, { readToken: async () => Promise.reject(new Error('ENOENT: /etc/credgw/controller.token')) });
    const backoff = nextEvent(link, 'backoff');
    link.start();
    expect((await backoff)[0].code).toBe('TOKEN_UNREADABLE');
    expect(logged('cannot read the controller token')).toHaveLength(1);
  });

  it('a throwing listener does not break the link', async () => {
    const ctrl = await startController();
    const link = makeLink(ctrl);
    link.on('welcome', () => {
      throw new Error('listener bug');
    });
    const role = nextEvent(link, 'role');
    link.start();
    const conn = await handshake(ctrl);
    conn.ws.send(JSON.stringify({ type: 'role', role: 'active', epoch: 1 }));
    await role;
    expect(link.state).toBe('up');
    expect(logged('link listener failed')).toHaveLength(1);
  });

  it('is live only while the controller was heard within the deadline, as of now (before the timer runs)', async () => {
    // A stopped process: time passes and no timer has run yet when it wakes.
    const { link, clock, thaw } = await frozenLinkUp();
    try {
      clock.advance(2_999);
      expect(link.live).toBe(true);
      clock.advance(1);
      expect(link.live).toBe(false);
      expect(link.state).toBe('up'); // the connection is not torn down by asking
    } finally {
      thaw();
    }
  });

  it('is not live 3 heartbeats after it last sent the controller anything, though it heard the controller since; a ping read then revives nothing', async () => {
    // Its last ping goes out at 1 s (the timer set already); a stalled process from then on: no timer runs, no ping.
    const { link, clock, conn, thaw } = await frozenLinkUp();
    try {
      clock.advance(2_000);
      // Read at 2 s (a command, say), and not answered.
      const role = nextEvent(link, 'role');
      conn.ws.send(JSON.stringify({ type: 'role', role: 'active', epoch: 7 }));
      await role;
      clock.advance(1_999);
      expect(link.live).toBe(true);
      clock.advance(1);
      // Heard 2 s ago, but the controller has heard nothing from it for 3 s: it may have moved the role.
      expect(link.live).toBe(false);
      // A ping read now: ws answers it before the link sees it, and that pong does not undo the deadline.
      const pong = new Promise<void>((resolve) => conn.ws.once('pong', () => resolve()));
      conn.ws.ping();
      await pong;
      const stillOpen = new Promise<{ code: string }>((resolve) => setTimeout(() => resolve({ code: 'still open after 5 s' }), 5000).unref());
      expect((await Promise.race([conn.closed, stillOpen])).code).toBe(1006);
      const silent = await waitFor(() => logged('controller went silent')[0], 'the LIVENESS line');
      expect(silent).toMatchObject({ code: 'LIVENESS', detail: 'nothing sent (the controller may have moved the role) for 3000 ms (heartbeat 1000 ms)' });
    } finally {
      thaw();
    }
  });

  it('counts the pong it sends to a ping as heard by the controller', async () => {
    // Its last ping at 1 s, then a stall; the controller's ping at 2 s is answered by ws.
    const { link, clock, conn, thaw } = await frozenLinkUp();
    try {
      clock.advance(2_000);
      const pong = new Promise<void>((resolve) => conn.ws.once('pong', () => resolve()));
      conn.ws.ping();
      await pong;
      clock.advance(2_999);
      expect(link.live).toBe(true);
      clock.advance(1);
      expect(link.live).toBe(false);
    } finally {
      thaw();
    }
  });

  it('resets the attempt counter after a connection stayed up 60 s (manual clock, real sockets)', async () => {
    const ctrl = await startController();
    const clock = new ManualClock();
    const link = makeLink(ctrl, {}, { clock });
    const attempts: number[] = [];
    link.on('backoff', (info) => attempts.push(info.attempt));
    // heartbeatMs at its maximum so advancing the manual clock fires no ping.
    const cycle = async (upForMs: number): Promise<void> => {
      const up = nextEvent(link, 'welcome');
      const conn = await handshake(ctrl, 600_000);
      await up;
      clock.advance(upForMs);
      const backoff = nextEvent(link, 'backoff');
      conn.ws.terminate();
      const [info] = await backoff;
      clock.advance(info.delayMs); // fires the re-dial
    };
    link.start();
    await cycle(1_000);
    await cycle(59_999);
    await cycle(60_000);
    await cycle(1_000);
    expect(attempts).toEqual([0, 1, 0, 1]);
    expect(link.counters.reconnectAttempts).toBe(4);
  });
});
