import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_FRAME_BYTES, SUBPROTOCOL } from '../../src/protocol/index.js';

/**
 * A bare controller for integration tests: a real wss server (subprotocol
 * credgw.v1, bearer token checked on the upgrade) that answers every
 * gateway's `hello` with a `welcome` of the role and epoch the test chose,
 * and then lets the test send any frame and wait for any frame back. It
 * exists for what the reference controller will not do on purpose:
 * commands at a wrong epoch, commands to a standby, raw malformed or
 * duplicate frames.
 */

export interface RawControllerOptions {
  /** Bearer token accepted on the upgrade (others get HTTP 401). */
  token: string;
  /** Server certificate and key (PEM). */
  tls: { certPem: string; keyPem: string };
  /** Role granted in welcome. Default 'active'. */
  role?: 'active' | 'standby';
  /** Epoch granted in welcome. Default 1. */
  epoch?: number;
  /**
   * heartbeatMs announced in welcome. Default a minute: this controller sends
   * no pings and the gateway it serves runs in the test's own process, where
   * a stall of 3 heartbeats (a busy machine) would end the link under the
   * test. Liveness has suites of its own (link.test.ts, controller.test.ts).
   */
  heartbeatMs?: number;
}

export interface RawFrame {
  type?: unknown;
  id?: unknown;
  [key: string]: unknown;
}

export interface RawConnection {
  readonly ws: WebSocket;
  /** Every parsed text frame the gateway sent, in order (hello first). */
  readonly frames: RawFrame[];
  /** Resolves with the gateway's hello. */
  readonly hello: Promise<RawFrame>;
  /** Resolves when the socket closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Sends a frame: objects as JSON text, strings as text, Buffers as binary. */
  send(frame: object | string | Buffer): void;
  /** Resolves with the first frame (already received or future) that matches. */
  waitFor(match: (frame: RawFrame) => boolean, timeoutMs?: number): Promise<RawFrame>;
  /** Sends a `command` frame and resolves with its `result`. */
  command(frame: { id: string; [key: string]: unknown }, timeoutMs?: number): Promise<RawFrame>;
  /** Results received for `id`. */
  resultsFor(id: string): RawFrame[];
}

export interface RawController {
  readonly port: number;
  readonly wsUrl: string;
  readonly connections: RawConnection[];
  /** The next connection to complete hello → welcome. */
  nextConnection(timeoutMs?: number): Promise<RawConnection>;
  /** The newest open connection that got its welcome. */
  current(timeoutMs?: number): Promise<RawConnection>;
  close(): Promise<void>;
}

export async function startRawController(options: RawControllerOptions): Promise<RawController> {
  const role = options.role ?? 'active';
  const epoch = options.epoch ?? 1;
  const heartbeatMs = options.heartbeatMs ?? 60_000;
  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem });
  const wss = new WebSocketServer({
    server,
    maxPayload: 4 * MAX_FRAME_BYTES,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    verifyClient: (info, cb) => {
      if (info.req.headers.authorization !== `Bearer ${options.token}`) cb(false, 401, 'Unauthorized');
      else cb(true);
    },
  });
  const connections: RawConnection[] = [];
  const welcomed = new EventEmitter();
  const open = new Set<RawConnection>();

  wss.on('connection', (ws) => {
    const frames: RawFrame[] = [];
    const inbox = new EventEmitter();
    let resolveHello!: (f: RawFrame) => void;
    const hello = new Promise<RawFrame>((r) => (resolveHello = r));
    // A wait ends with its connection: its timer must not outlive the suite
    // that started it (it would fire, and fail, in a later suite of the worker).
    const waits = new Set<(err: Error) => void>();
    let gone: Error | null = null;
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => {
        open.delete(conn);
        gone = new Error(`raw controller: the connection closed (${code}) before a matching frame`);
        for (const fail of [...waits]) fail(gone);
        resolve({ code, reason: reason.toString('utf8') });
      }),
    );
    const waitFor = (match: (f: RawFrame) => boolean, timeoutMs = 10_000): Promise<RawFrame> => {
      const seen = frames.find(match);
      if (seen) return Promise.resolve(seen);
      if (gone) return Promise.reject(gone);
      return new Promise((resolve, reject) => {
        const end = (): void => {
          clearTimeout(timer);
          inbox.off('frame', onFrame);
          waits.delete(fail);
        };
        const onFrame = (f: RawFrame): void => {
          if (!match(f)) return;
          end();
          resolve(f);
        };
        const fail = (err: Error): void => {
          end();
          reject(err);
        };
        const timer = setTimeout(() => fail(new Error(`raw controller: no matching frame within ${timeoutMs} ms`)), timeoutMs);
        inbox.on('frame', onFrame);
        waits.add(fail);
      });
    };
    const send = (frame: object | string | Buffer): void => {
      if (Buffer.isBuffer(frame)) ws.send(frame, { binary: true });
      else ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    };
    const conn: RawConnection = {
      ws,
      frames,
      hello,
      closed,
      send,
      waitFor,
      command: (frame, timeoutMs) => {
        const result = waitFor((f) => f.type === 'result' && f.id === frame.id, timeoutMs);
        send({ type: 'command', ...frame });
        return result;
      },
      resultsFor: (id) => frames.filter((f) => f.type === 'result' && f.id === id),
    };
    connections.push(conn);
    open.add(conn);
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let frame: RawFrame;
      try {
        frame = JSON.parse(String(data)) as RawFrame;
      } catch {
        return;
      }
      frames.push(frame);
      if (frame.type === 'hello') {
        resolveHello(frame);
        ws.send(JSON.stringify({ type: 'welcome', protocol: 1, heartbeatMs, role, epoch }));
        welcomed.emit('welcome', conn);
      }
      inbox.emit('frame', frame);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  // Like a frame wait, a connection wait ends when the controller closes.
  const connectionWaits = new Set<(err: Error) => void>();
  let stopped = false;
  const nextConnection = (timeoutMs = 10_000): Promise<RawConnection> => {
    if (stopped) return Promise.reject(new Error('raw controller: closed'));
    return new Promise((resolve, reject) => {
      const end = (): void => {
        clearTimeout(timer);
        welcomed.off('welcome', onWelcome);
        connectionWaits.delete(fail);
      };
      const onWelcome = (c: RawConnection): void => {
        end();
        resolve(c);
      };
      const fail = (err: Error): void => {
        end();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`raw controller: no gateway said hello within ${timeoutMs} ms`)), timeoutMs);
      welcomed.on('welcome', onWelcome);
      connectionWaits.add(fail);
    });
  };

  return {
    port,
    wsUrl: `wss://127.0.0.1:${port}/gateway`,
    connections,
    nextConnection,
    current: async (timeoutMs) => {
      const last = [...open].reverse().find((c) => c.frames.some((f) => f.type === 'hello'));
      return last ?? nextConnection(timeoutMs);
    },
    close: async () => {
      stopped = true;
      for (const fail of [...connectionWaits]) fail(new Error('raw controller: closed before a gateway said hello'));
      for (const c of connections) c.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
