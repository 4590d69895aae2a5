import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { LinkError, upgrade, type UpgradeRefusal } from '../../src/link/index.js';
import { LinkConnection } from '../../src/link/link-connection.js';
import { SUBPROTOCOL } from '../../src/protocol/index.js';
import { systemClock } from '../../src/shared/clock.js';

const TOKEN = 'upgrade-test-token-SECRET';
const DATE = 'Tue, 01 Dec 2026 10:00:00 GMT';

/**
 * A controller on a real socket whose answer depends on the path: /gateway
 * upgrades with credgw.v1, /none and /other upgrade with no or another
 * subprotocol, /401 and /403 refuse with that status (and a Date header).
 */
interface Controller {
  port: number;
  requests: IncomingMessage[];
  sockets: WebSocket[];
  close(): Promise<void>;
}

let controller: Controller;

beforeAll(async () => {
  const server = http.createServer();
  const requests: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (_offered, req) => (req.url === '/none' ? false : req.url === '/other' ? 'other.v1' : SUBPROTOCOL) });
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('error', () => undefined);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests.push(req);
    const refuse = /^\/(\d{3})$/.exec(req.url ?? '')?.[1];
    if (refuse) {
      socket.end(`HTTP/1.1 ${refuse} Refused\r\nDate: ${DATE}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  controller = {
    port: (server.address() as AddressInfo).port,
    requests,
    sockets,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});

afterAll(() => controller.close());

const opened: Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

async function connect(): Promise<Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: controller.port });
  opened.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Sends the upgrade to `path`; resolves with what happened first: open, a refusal, or a WebSocket error. */
async function attempt(path: string, token = TOKEN): Promise<{ open: boolean; protocol?: string; refusal?: UpgradeRefusal; error?: Error; socket: Socket }> {
  const socket = await connect();
  return new Promise((resolve) => {
    const ws = upgrade({
      url: new URL(`ws://127.0.0.1:${controller.port}${path}`),
      socket,
      token,
      gatewayId: 'gw-a',
      clusterId: 'site-1',
      userAgent: 'credgw/0.0.0-test',
      refused: (refusal) => resolve({ open: false, refusal, socket }),
    });
    ws.on('open', () => {
      resolve({ open: true, protocol: ws.protocol, socket });
      ws.close(1000, 'done');
    });
    ws.on('error', (error) => resolve({ open: false, error, socket }));
  });
}

describe('upgrade() over a real socket', () => {
  it('sends the token, the gateway and cluster ids and the User-Agent, and opens on credgw.v1', async () => {
    const before = controller.requests.length;
    const r = await attempt('/gateway');
    expect(r).toMatchObject({ open: true, protocol: SUBPROTOCOL });
    const req = controller.requests[before]!;
    expect(req.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      'x-credgw-gateway': 'gw-a',
      'x-credgw-cluster': 'site-1',
      'user-agent': 'credgw/0.0.0-test',
      'sec-websocket-protocol': SUBPROTOCOL,
    });
    // No compression: frames carry passwords.
    expect(req.headers['sec-websocket-extensions']).toBeUndefined();
  });

  it('reports HTTP 401 as UNAUTHORIZED, with the status and the Date, and tears the socket down', async () => {
    const r = await attempt('/401');
    expect(r.open).toBe(false);
    expect(r.refusal).toEqual({ error: expect.any(LinkError), status: 401, date: DATE, answered: 'answered the upgrade with HTTP 401' });
    expect(r.refusal?.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'controller answered the upgrade with HTTP 401' });
    expect(r.socket.destroyed).toBe(true);
  });

  it('reports another status as UPGRADE_REFUSED', async () => {
    const r = await attempt('/403');
    expect(r.refusal).toMatchObject({ status: 403, date: DATE });
    expect(r.refusal?.error).toMatchObject({ code: 'UPGRADE_REFUSED', message: 'controller answered the upgrade with HTTP 403' });
  });

  it.each([
    ['/none', 'answered subprotocol (none) instead of credgw.v1'],
    ['/other', 'answered subprotocol "other.v1" instead of credgw.v1'],
  ])('refuses a 101 without credgw.v1 (%s) as PROTOCOL_MISMATCH before it opens', async (path, answered) => {
    const r = await attempt(path);
    expect(r.open).toBe(false);
    expect(r.refusal).toMatchObject({ status: 101, answered });
    expect(r.refusal?.error).toMatchObject({ code: 'PROTOCOL_MISMATCH', message: `controller ${answered}` });
    expect(r.socket.destroyed).toBe(true);
  });

  it('throws CONNECT_FAILED for a token a header cannot carry, without its value, and destroys the socket', async () => {
    const socket = await connect();
    const bad = `${TOKEN}\nX-Evil: 1`;
    let thrown: unknown;
    try {
      upgrade({ url: new URL(`ws://127.0.0.1:${controller.port}/gateway`), socket, token: bad, gatewayId: 'gw-a', clusterId: 'site-1', userAgent: 'credgw/0.0.0-test', refused: () => undefined });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(LinkError);
    expect((thrown as LinkError).code).toBe('CONNECT_FAILED');
    expect((thrown as LinkError).message).not.toContain(TOKEN);
    expect(socket.destroyed).toBe(true);
  });
});

describe('LinkConnection walks its states on a real socket', () => {
  function connection(): LinkConnection {
    return new LinkConnection({ id: 1, clock: systemClock, log: pino({ level: 'silent' }), closeTimeoutMs: 5000 });
  }

  /** Attaches `conn` to `socket`; once open, walks it through open, up and closing, noting what it saw at each step. */
  function attach(conn: LinkConnection, socket: Socket, path: string): Promise<{ code: number; seen: unknown[] }> {
    const seen: unknown[] = [];
    return new Promise((resolve) => {
      conn.attach(socket, {
        request: { url: new URL(`ws://127.0.0.1:${controller.port}${path}`), token: TOKEN, gatewayId: 'gw-a', clusterId: 'site-1', userAgent: 'credgw/0.0.0-test' },
        peer: `127.0.0.1:${controller.port}`,
        signal: new AbortController().signal,
        hooks: {
          open: () => {
            conn.opened(10_000);
            seen.push(conn.kind);
            conn.up(10_000, () => undefined);
            seen.push(conn.kind, { live: conn.live, open: conn.session.open });
            conn.close(1000, 'test done');
            seen.push(conn.kind, { live: conn.live, open: conn.session.open });
          },
          frame: () => undefined,
          closed: (code) => resolve({ code, seen }),
        },
      });
      seen.push(conn.kind);
    });
  }

  it('upgrading -> open -> up -> closing -> closed, remembering it was up', async () => {
    const conn = connection();
    expect(conn.kind).toBe('dialing');
    const { code, seen } = await attach(conn, await connect(), '/gateway');
    expect(seen).toEqual(['upgrading', 'open', 'up', { live: true, open: true }, 'closing', { live: false, open: false }]);
    expect(code).toBe(1000);
    expect(conn.kind).toBe('closed');
    expect(conn.reachedOpen).toBe(true);
    expect(conn.stayedUpFor(0)).toBe(true);
    expect(conn.live).toBe(false);
    expect(conn.endedBy.code).toBe('CLOSED');
    expect(conn.shutdown(1001, 'stop')).toBe(false);
  });

  it('upgrading -> closed on a 401, ended by UNAUTHORIZED', async () => {
    const conn = connection();
    const { seen } = await attach(conn, await connect(), '/401');
    expect(seen).toEqual(['upgrading']);
    expect(conn.kind).toBe('closed');
    expect(conn.reachedOpen).toBe(false);
    expect(conn.stayedUpFor(0)).toBe(false);
    expect(conn.endedBy.code).toBe('UNAUTHORIZED');
  });
});
