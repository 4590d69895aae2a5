// Child process of startControllerProcess (ref-controller.mjs): runs the
// reference controller (dist/sim/controller) in its own process — the cloud
// side is another machine in real life — and reports its URLs over IPC.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.env.CREDGW_DIST;
const candidates = ['sim/controller/index.js', 'sim/controller/server.js'].map((p) => join(dist, p));
const file = candidates.find((f) => existsSync(f));
const { startReferenceController } = await import(pathToFileURL(file).href);

// With BENCH_CONTROLLER_LOG, the controller's own log (JSON lines) goes to
// that file: the failover benchmark reads its "command final" lines.
const logFile = process.env.BENCH_CONTROLLER_LOG;
let logger;
if (logFile) {
  const { pino } = await import('pino');
  logger = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: true }));
}

const controller = await startReferenceController({
  ...(logger ? { logger } : {}),
  port: 0,
  host: '127.0.0.1',
  tokens: [process.env.BENCH_CONTROLLER_TOKEN],
  tls: null,
  heartbeatMs: Number(process.env.BENCH_HEARTBEAT_MS || 1000),
  stateFile: process.env.BENCH_STATE_FILE || null,
});
delete process.env.BENCH_CONTROLLER_TOKEN;

process.on('disconnect', () => {
  controller.close().finally(() => process.exit(0));
});
process.on('message', async ({ seq, op }) => {
  try {
    if (op === 'close') await controller.close();
    process.send({ seq, value: op === 'info' ? { wsUrl: controller.wsUrl, httpUrl: controller.httpUrl } : null });
    if (op === 'close') process.disconnect();
  } catch (err) {
    process.send({ seq, error: String(err?.message ?? err) });
  }
});
