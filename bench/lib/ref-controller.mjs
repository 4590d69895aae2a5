// The reference controller (credgw's own cloud side, src/sim/controller)
// in a child process, and a small client of its HTTP API:
//   POST /api/v1/clusters/{clusterId}/commands {"name","params","timeoutMs","id"?}
//   GET  /api/v1/clusters/{clusterId}

import { existsSync } from 'node:fs';
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'undici';
import { DIST_DIR, distPath, stopChild, track } from './env.mjs';
import { BENCH_DIR } from './load.mjs';

/** Why the reference controller cannot be used from this build, or null when it can. */
export function controllerUnavailableReason() {
  const ok = ['sim/controller/index.js', 'sim/controller/server.js'].some((p) => existsSync(distPath(p)));
  return ok ? null : `the reference controller is not in this build (${distPath('sim/controller/')}): run \`npm run build\``;
}

/**
 * Resolves to { wsUrl, httpUrl, pid, close() }. With `logFile`, the
 * controller's log (pino JSON lines, info level) is written there.
 */
export async function startControllerProcess({ token, heartbeatMs = 1000, stateFile = null, logFile = null }) {
  const child = track(
    fork(join(BENCH_DIR, 'lib', 'controller-child.mjs'), [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        CREDGW_DIST: DIST_DIR,
        BENCH_CONTROLLER_TOKEN: token,
        BENCH_HEARTBEAT_MS: String(heartbeatMs),
        BENCH_STATE_FILE: stateFile ?? '',
        BENCH_CONTROLLER_LOG: logFile ?? '',
      },
    }),
  );
  let seq = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.seq);
    if (!w) return;
    waiting.delete(m.seq);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m.value);
  });
  const call = (op) =>
    new Promise((resolve, reject) => {
      const s = ++seq;
      waiting.set(s, { resolve, reject });
      child.send({ seq: s, op });
    });
  const info = await Promise.race([
    call('info'),
    child.exited.then(() => {
      throw new Error(`the reference controller process exited: ${child.tail()}`);
    }),
  ]);
  return {
    ...info,
    pid: child.pid,
    async close() {
      if (child.exitCode === null) {
        await call('close').catch(() => undefined);
        await stopChild(child);
      }
    },
  };
}

/**
 * A client of the controller's HTTP API on a keep-alive pool.
 * `command(body)` resolves to { status, body } (never throws on an HTTP
 * error status; throws on a transport failure or after `requestTimeoutMs`).
 */
export function controllerApi(httpUrl, { connections = 64, requestTimeoutMs = 30_000 } = {}) {
  const pool = new Pool(httpUrl, { connections, pipelining: 1, headersTimeout: requestTimeoutMs, bodyTimeout: requestTimeoutMs });
  const json = async (res) => {
    const text = await res.body.text();
    try {
      return JSON.parse(text);
    } catch {
      return { unparsable: text.slice(0, 200) };
    }
  };
  return {
    async command(clusterId, body) {
      const res = await pool.request({
        method: 'POST',
        path: `/api/v1/clusters/${encodeURIComponent(clusterId)}/commands`,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, body: await json(res) };
    },
    async cluster(clusterId) {
      const res = await pool.request({ method: 'GET', path: `/api/v1/clusters/${encodeURIComponent(clusterId)}` });
      return { status: res.statusCode, body: await json(res) };
    },
    close: () => pool.close(),
  };
}
