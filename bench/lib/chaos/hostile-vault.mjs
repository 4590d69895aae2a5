// A hostile "PMP": HTTPS on 127.0.0.1 with a self-signed certificate made
// by credgw's own certificate helpers, answering every request with the
// current case's misbehaviour. The gateway must turn each into an error
// code within the command's deadline, without growing without bound and
// without repeating the AUTHTOKEN the server echoes back.
// Every body it streams is bounded (size, rate, time), so a gateway that
// does read everything costs the machine a known amount.

import { createServer } from 'node:https';
import { importDist } from '../env.mjs';

const MiB = 1024 * 1024;

/** What each case does; `bodyBytes` and `streamMs` come from the server's options. */
export const HOSTILE_CASES = Object.freeze([
  { name: 'huge-body', what: 'a Content-Length body of --body-mib MiB, as fast as it is read' },
  { name: 'endless-chunked', what: 'a chunked body that never ends (100 MiB/s at most, until the client gives up)' },
  { name: 'slow-trickle', what: 'a JSON body, one byte every 200 ms' },
  { name: 'never-answers', what: 'reads the request, answers nothing' },
  { name: 'answer-then-reset', what: 'the head and half a body, then a TCP reset' },
  { name: 'token-in-failed', what: 'a PMP "Failed" envelope whose message repeats the AUTHTOKEN' },
  { name: 'token-in-html', what: 'HTTP 500 with an HTML page that repeats the AUTHTOKEN' },
  { name: 'malformed-json', what: 'HTTP 200, application/json, cut off mid-object' },
  { name: 'deep-json', what: 'HTTP 200, a JSON array nested 200,000 deep' },
  { name: 'wrong-content-type', what: 'HTTP 200, application/octet-stream, binary bytes' },
]);

/** The AUTHTOKEN (or APP_AUTHTOKEN) the gateway sent: what a careless server echoes. */
const tokenOf = (req) => String(req.headers.authtoken ?? req.headers.app_authtoken ?? '');

/**
 * Streams `total` bytes of `filler` (capped at `rateBytesPerSec`), stopping
 * when the client goes away or `maxMs` passes; `end()` only when all were sent.
 */
function stream(res, { total, rateBytesPerSec, maxMs, tick = 10 }, timers) {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  const started = Date.now();
  let sent = 0;
  const perTick = Math.max(1, Math.floor((rateBytesPerSec * tick) / 1000));
  const pump = () => {
    if (res.destroyed || res.writableEnded) return;
    if (Date.now() - started > maxMs) {
      res.destroy();
      return;
    }
    let budget = perTick;
    while (budget > 0 && sent < total) {
      const n = Math.min(chunk.length, budget, total - sent);
      sent += n;
      budget -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (sent >= total) res.end();
    else {
      const t = setTimeout(() => {
        timers.delete(t);
        pump();
      }, tick);
      timers.add(t);
    }
  };
  pump();
}

/** A TCP reset under the TLS socket (its `_parent` TCP socket; a plain close where there is none). */
function resetConnection(tlsSocket) {
  try {
    (tlsSocket._parent ?? tlsSocket).resetAndDestroy();
  } catch {
    tlsSocket.destroy();
  }
}

/**
 * Starts the hostile server. Options: `bodyMiB` (huge-body size, default 100),
 * `streamMs` (how long any endless answer lasts at most, default 30 s).
 * Resolves to { url, port, certPem, caseName, setCase(name), requests, close() }.
 */
export async function startHostileVault({ bodyMiB = 100, streamMs = 30_000 } = {}) {
  const { makeSelfSignedCertificate } = await importDist('tls/index.js');
  const { certPem, keyPem } = await makeSelfSignedCertificate({ commonName: 'hostile-pmp.chaos' });
  const timers = new Set();
  const sockets = new Set();
  const answering = new Set();
  let current = HOSTILE_CASES[0].name;
  const requests = { total: 0, byCase: {} };

  const handlers = {
    'huge-body': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bodyMiB * MiB) });
      stream(res, { total: bodyMiB * MiB, rateBytesPerSec: 4096 * MiB, maxMs: streamMs }, timers);
    },
    'endless-chunked': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"operation":{"result":{"status":"Success"},"Details":"');
      stream(res, { total: Number.MAX_SAFE_INTEGER, rateBytesPerSec: 100 * MiB, maxMs: streamMs }, timers);
    },
    'slow-trickle': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      stream(res, { total: Number.MAX_SAFE_INTEGER, rateBytesPerSec: 5, maxMs: streamMs, tick: 200 }, timers);
    },
    'never-answers': (req) => {
      req.resume();
    },
    'answer-then-reset': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
      res.write('{"operation":{"result":{"status":"Success"},"Details":{"PASSWORD":"');
      timers.add(setTimeout(() => resetConnection(req.socket), 20));
    },
    'token-in-failed': (req, res) => {
      const body = JSON.stringify({
        operation: { name: 'GET PASSWORD', result: { status: 'Failed', message: `Invalid AUTHTOKEN ${tokenOf(req)} for this user` } },
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    },
    'token-in-html': (req, res) => {
      res
        .writeHead(500, { 'content-type': 'text/html' })
        .end(`<html><body><h1>Internal error</h1><pre>request with AUTHTOKEN=${tokenOf(req)} failed</pre></body></html>`);
    },
    'malformed-json': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"operation":{"result":{"status":"Success"},"Details":{"PASSWORD":');
    },
    'deep-json': (req, res) => {
      const depth = 200_000;
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"operation":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    },
    'wrong-content-type': (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0xff, 0xfe]));
    },
  };

  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    requests.total++;
    requests.byCase[current] = (requests.byCase[current] ?? 0) + 1;
    res.on('error', () => undefined);
    answering.add(res);
    res.on('close', () => answering.delete(res));
    handlers[current](req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    certPem,
    requests,
    get caseName() {
      return current;
    },
    setCase(name) {
      if (!handlers[name]) throw new Error(`no hostile case ${name}`);
      current = name;
      // What the last case left streaming stops; idle keep-alive connections stay (the gateway reuses them).
      for (const res of answering) res.destroy();
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
