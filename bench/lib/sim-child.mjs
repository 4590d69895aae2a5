// Child process of startSimProcess (env.mjs): runs the PMP simulator from
// the built code and answers a few requests over IPC. It exits when its
// parent goes away, so a killed benchmark leaves no simulator behind.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = process.env.CREDGW_DIST;
const { loadSimData, startPmpSimulator, SAMPLE_TOKEN } = await import(pathToFileURL(join(dist, 'sim/pmp/index.js')).href);

// SIM_DATA_FILE: a data file to serve instead of the built-in sample (the dns-index bench's generated set).
const data = process.env.SIM_DATA_FILE ? loadSimData(process.env.SIM_DATA_FILE) : undefined;
const sim = await startPmpSimulator({ port: 0, host: '127.0.0.1', latencyMs: Number(process.env.SIM_LATENCY_MS || 0), ...(data ? { data } : {}) });

process.on('disconnect', () => {
  sim.close().finally(() => process.exit(0));
});

process.on('message', async ({ seq, op, arg }) => {
  try {
    let value;
    switch (op) {
      case 'info':
        value = { url: sim.url, port: sim.port, token: SAMPLE_TOKEN, certPem: sim.certPem, pin: sim.pin };
        break;
      case 'latency':
        sim.setLatency(arg);
        value = arg;
        break;
      case 'stats':
        value = sim.stats();
        break;
      case 'resetStats':
        sim.resetStats();
        break;
      case 'close':
        await sim.close();
        break;
      default:
        throw new Error(`unknown op ${op}`);
    }
    process.send({ seq, value });
    if (op === 'close') process.disconnect();
  } catch (err) {
    process.send({ seq, error: String(err?.message ?? err) });
  }
});
