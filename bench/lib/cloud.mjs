// The benchmark's own cloud side: a minimal controller that speaks
// shared/design/protocol.md to `credgw run` over plain ws on loopback. It
// is deliberately written from the protocol page, not from credgw's code,
// so that it measures the gateway as a foreign cloud would see it.
//   - upgrade: subprotocol credgw.v1, `Authorization: Bearer <token>`
//     (HTTP 401 otherwise);
//   - hello → welcome {role, epoch, heartbeatMs}; pings every heartbeatMs
//     (ws answers the gateway's pings itself);
//   - command frames out (those sent in one event-loop turn in one write),
//     each with a random UUID as its id, as the reference controller (and
//     a real cloud) assigns them. (Short ids such as b1…b99999 are not
//     neutral: V8's JSON.parse internalizes string values of up to 10
//     characters, so each parse of such an id, on both sides, costs a
//     string-table lookup and insert that a UUID does not: about 0.2 µs per
//     parse here.) Results matched by id; any other frame is ignored.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from 'ws';
import { onCleanup } from './env.mjs';

export const SUBPROTOCOL = 'credgw.v1';

/**
 * @param {{ token: string, heartbeatMs?: number, role?: 'active'|'standby', epoch?: number }} o
 * Resolves to the controller: { url, port, send(name, params, timeoutMs), gateway(), waitForHello(ms), hellos, close() }.
 */
export async function startBenchCloud({ token, heartbeatMs = 1000, role = 'active', epoch = 1 }) {
  const http = createServer((req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  /** Every hello received: { at (performance.now()), gatewayId, hello }. */
  const hellos = [];
  const helloWaiters = [];
  const pending = new Map();
  /** Every close of a gateway connection: { code, at }. */
  const closes = [];
  /** Listeners of every parsed frame a gateway sends (the chaos fuzz counts results itself). */
  const frameListeners = new Set();
  let current; // the connection of the last gateway that said hello
  const sockets = new WeakMap(); // ws → its TCP socket (for corking)
  let stray = 0;

  http.on('upgrade', (req, socket, head) => {
    if (req.url !== '/gateway' || req.headers.authorization !== `Bearer ${token}`) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.set(ws, socket);
      onConnection(ws);
    });
  });

  function onConnection(ws) {
    let said = false;
    const pinger = setInterval(() => ws.ping(), heartbeatMs);
    ws.on('close', (code) => {
      clearInterval(pinger);
      closes.push({ code, at: performance.now() });
      if (current === ws) current = undefined;
      // Commands sent on this connection get no result now (protocol §5): fail them.
      for (const [id, p] of pending) {
        if (p.ws === ws) {
          pending.delete(id);
          p.reject(new Error('gateway connection closed'));
        }
      }
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        return;
      }
      for (const fn of frameListeners) fn(msg, ws);
      if (msg?.type === 'result') {
        const p = pending.get(msg.id);
        if (!p) {
          stray++;
          return;
        }
        pending.delete(msg.id);
        if (msg.ok === true) p.resolve(msg.data);
        else p.reject(Object.assign(new Error(`${msg.error?.code}: ${msg.error?.message}`), { code: msg.error?.code, result: msg }));
        return;
      }
      if (msg?.type === 'hello' && !said) {
        said = true;
        const at = performance.now();
        current = ws;
        ws.send(JSON.stringify({ type: 'welcome', protocol: 1, heartbeatMs, role, epoch }));
        const entry = { at, gatewayId: msg.gatewayId, hello: msg };
        hellos.push(entry);
        for (const w of helloWaiters.splice(0)) w(entry);
      }
    });
  }

  // Commands sent in one event-loop turn leave in one write, as a cloud
  // multiplexing many consoles over one connection would send them (and as
  // the gateway sends its results): the socket stays corked until the turn
  // ends. One write per command instead cost this process about 8k more
  // kernel instructions per command.
  const corked = new WeakSet();
  function corkUntilTurnEnds(ws) {
    const socket = sockets.get(ws);
    if (!socket || corked.has(ws)) return;
    corked.add(ws);
    socket.cork();
    setImmediate(() => {
      corked.delete(ws);
      socket.uncork();
    });
  }

  await new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', resolve);
  });
  const port = http.address().port;

  const cloud = {
    url: `ws://127.0.0.1:${port}/gateway`,
    port,
    hellos,
    closes,
    /** Calls `fn(frame, ws)` for every frame a gateway sends; returns a function that stops it. */
    onFrame(fn) {
      frameListeners.add(fn);
      return () => frameListeners.delete(fn);
    },
    /** Sends text (or, with `binary`, bytes) as it is on the current connection; false when none is up. */
    sendRaw(data, { binary = false } = {}) {
      const ws = current;
      if (!ws || ws.readyState !== ws.OPEN) return false;
      corkUntilTurnEnds(ws);
      ws.send(data, { binary });
      return true;
    },
    /** Results that matched no pending command (must stay 0). */
    get strayResults() {
      return stray;
    },
    get pendingCount() {
      return pending.size;
    },
    connected: () => current !== undefined,
    /** Resolves with the next hello (or the first one when `since` is before it). */
    waitForHello(timeoutMs, since = -Infinity) {
      const seen = hellos.find((h) => h.at >= since);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no hello within ${timeoutMs} ms`)), timeoutMs);
        helloWaiters.push((h) => {
          clearTimeout(timer);
          resolve(h);
        });
      });
    },
    /** Sends one command; resolves with the result's data, rejects with its error (`code`, and `result`: the whole frame). */
    send(name, params, timeoutMs = 10_000) {
      const ws = current;
      if (!ws) return Promise.reject(new Error('no gateway connected'));
      const id = randomUUID();
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, ws });
        corkUntilTurnEnds(ws);
        ws.send(JSON.stringify({ type: 'command', id, epoch, name, timeoutMs, params }));
      });
    },
    async close() {
      if (!http.listening) return;
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      const closed = new Promise((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
  onCleanup(() => cloud.close());
  return cloud;
}
