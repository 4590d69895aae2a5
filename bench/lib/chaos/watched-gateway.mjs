// A `credgw run` process for the chaos scenarios, run as the systemd unit
// runs it, with what every scenario measures about it: crashes (exits it
// did not ask for), its peak RSS (VmHWM from /proc, sampled so a crashed
// process still counts) and its event loop's worst delay, read from its own
// /metrics (prom-client's nodejs_eventloop_lag_max_seconds, the maximum
// since the previous scrape, so it is scraped every second).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, stopChild } from '../env.mjs';
import { memoryMiB, spawnGateway, unitEnvironment, writeGatewayConfig } from '../gateway-proc.mjs';

const RSS_SAMPLE_MS = 200;
const METRICS_SCRAPE_MS = 1000;

async function loopLagMaxMs(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const m = /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(text);
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Writes the config (writeGatewayConfig's options, plus a telemetry port of
 * its own) and starts the gateway. `waitReady(proc)` resolves once the
 * scenario's controller has seen it (a hello, a snapshot). Resolves to the
 * watched gateway: { proc, configDir, auditFile, logFile, figures(), restart(), stop(), readOutput() }.
 */
export async function startWatchedGateway(dir, config, { waitReady }) {
  const metricsPort = await freePort();
  const { configDir, auditFile } = writeGatewayConfig(dir, { ...config, telemetryListen: `127.0.0.1:${metricsPort}` });
  const logFile = join(configDir, 'gateway.log');
  const env = unitEnvironment();
  const figures = { starts: 0, crashes: 0, exits: [], rssPeakMiB: null, loopDelayMaxMs: null, loopDelaySource: 'nodejs_eventloop_lag_max_seconds from /metrics' };
  let proc;
  let stopping = false;
  let timers = [];

  const sampleRss = () => {
    const m = proc && memoryMiB(proc.pid);
    if (m && Number.isFinite(m.hwm)) figures.rssPeakMiB = Math.max(figures.rssPeakMiB ?? 0, m.hwm);
  };
  const scrape = async () => {
    const ms = await loopLagMaxMs(metricsPort);
    if (ms !== null) figures.loopDelayMaxMs = Math.max(figures.loopDelayMaxMs ?? 0, ms);
  };

  const start = async () => {
    stopping = false;
    const p = spawnGateway(configDir, { logFile, env });
    proc = p;
    figures.starts++;
    p.exited.then(({ code, signal }) => {
      if (!stopping && proc === p) {
        figures.crashes++;
        figures.exits.push({ code, signal, tail: p.tail().slice(-600) });
      }
    });
    const died = p.exited.then(({ code, signal }) => {
      throw new Error(`credgw run exited (${code ?? signal}) before it was ready: ${p.tail().trim().slice(-600)}`);
    });
    await Promise.race([waitReady(p), died]);
    for (const t of timers) clearInterval(t);
    timers = [setInterval(sampleRss, RSS_SAMPLE_MS), setInterval(scrape, METRICS_SCRAPE_MS)];
    return p;
  };

  await start();
  return {
    get proc() {
      return proc;
    },
    configDir,
    auditFile,
    logFile,
    get alive() {
      return proc.exitCode === null && proc.signalCode === null;
    },
    /** Starts it again after a crash (the crash is already counted). */
    restart: start,
    /** A last sample and scrape, then the figures. */
    async figures() {
      sampleRss();
      if (this.alive) await scrape();
      return { ...figures };
    },
    async stop() {
      sampleRss();
      if (this.alive) await scrape();
      for (const t of timers) clearInterval(t);
      stopping = true;
      await stopChild(proc);
    },
    /** Its stdout and stderr so far, and its audit trail. */
    readOutput() {
      const read = (f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch {
          return '';
        }
      };
      return { log: read(logFile), audit: read(auditFile) };
    },
  };
}

/** Resolves when `check()` is truthy (polled every `everyMs`), or with false after `timeoutMs`. */
export async function until(check, timeoutMs, everyMs = 10) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Adds `key` to a histogram object. */
export function count(histogram, key) {
  histogram[key] = (histogram[key] ?? 0) + 1;
}
