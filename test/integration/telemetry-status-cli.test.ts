import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { runCredgw as cli } from '../helpers/cli.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { startTelemetryServer, type TelemetryServer } from '../../src/telemetry/http-server.js';
import type { GatewayStatus } from '../../src/telemetry/status.js';



const STATUS: GatewayStatus = {
  version: '0.1.0',
  gatewayId: 'gw-a',
  clusterId: 'site-1',
  pid: 4242,
  startedAt: '2024-01-01T00:00:00.000Z',
  uptimeMs: 3_723_000,
  lifecycle: 'running',
  role: 'active',
  epoch: 8,
  roleChangedAt: '2024-01-01T00:00:05.000Z',
  link: { state: 'up', url: 'wss://ctl.example.com/gateway', connectedSince: '2024-01-01T00:00:04.000Z', reconnects: 2, lastError: 'LIVENESS: nothing heard for 3000 ms' },
  vaults: [
    {
      name: 'pmp-prod',
      url: 'https://pmp.example.com:7272',
      healthy: true,
      error: null,
      lastError: null,
      lastCheckedAt: '2024-01-01T01:00:00.000Z',
      dnsIndex: { state: 'building', listed: 10_000, indexed: 4_210, complete: false, duplicates: 3 },
    },
    { name: 'pmp-dr', url: 'https://pmp-dr.example.com:7272', healthy: false, error: 'VAULT_UNREACHABLE', lastError: 'connect ECONNREFUSED 10.0.0.9:7272', lastCheckedAt: '2024-01-01T01:00:01.000Z' },
  ],
  inFlight: 3,
  queued: 5,
  loops: { link: { healthy: true, lastTickAgoMs: 400 }, 'event-loop': { healthy: true, lastTickAgoMs: 200 } },
  restartRequired: [],
};

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('credgw status', () => {
  let server: TelemetryServer;
  let dir: string;
  let listen: string;

  beforeAll(async () => {
    server = await startTelemetryServer({
      listen: '127.0.0.1:0',
      status: () => STATUS,
      live: () => true,
      metrics: new Metrics({ processMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    listen = `127.0.0.1:${server.address.port}`;
    dir = mkdtempSync(join(tmpdir(), 'credgw-status-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ telemetry: { listen } }), { mode: 0o600 });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a summary from the endpoint named by telemetry.listen of --config-dir', async () => {
    const r = await cli(['--config-dir', dir, 'status']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('credgw 0.1.0, pid 4242, running, up 1h 2m');
    expect(r.out).toContain('gateway    gw-a in cluster site-1');
    expect(r.out).toContain('role       active, epoch 8 since 2024-01-01T00:00:05.000Z');
    expect(r.out).toContain('link       up to wss://ctl.example.com/gateway since 2024-01-01T00:00:04.000Z, 2 reconnects');
    expect(r.out).toContain('last error: LIVENESS: nothing heard for 3000 ms');
    expect(r.out).toContain('in flight  3, queued 5');
    expect(r.out).toContain('ready      yes');
    expect(r.out).toMatch(/pmp-prod\s+healthy\s+https:\/\/pmp\.example\.com:7272/);
    expect(r.out).toContain('dns index  pmp-prod: 4210/10000 resources indexed, complete no (building), 3 duplicate DNS names');
    expect(r.out).not.toContain('dns index  pmp-dr');
    expect(r.out).toMatch(/pmp-dr\s+UNHEALTHY\s+https:\/\/pmp-dr\.example\.com:7272\s+2024-01-01T01:00:01\.000Z\s+VAULT_UNREACHABLE: connect ECONNREFUSED 10\.0\.0\.9:7272/);
  });

  it('--json prints the document as the daemon sent it; CREDGW_CONFIG_DIR works as --config-dir', async () => {
    const r = await cli(['status', '--json'], { CREDGW_CONFIG_DIR: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual(STATUS);
  });

  it('with no daemon running: one line naming the address, exit 1', async () => {
    const port = await freePort();
    const empty = mkdtempSync(join(tmpdir(), 'credgw-status-none-'));
    try {
      writeFileSync(join(empty, 'config.json'), JSON.stringify({ telemetry: { listen: `127.0.0.1:${port}` } }), { mode: 0o600 });
      const r = await cli(['--config-dir', empty, 'status']);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toBe(`error: NOT_RUNNING: credgw is not running (no answer on 127.0.0.1:${port})\n`);
      const flag = await cli(['--config-dir', empty, 'status', '--json', '--listen', `127.0.0.1:${port}`]);
      expect(flag.code).toBe(1);
      expect(flag.err).toContain('NOT_RUNNING');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('--listen wins over the config; a non-loopback address and a bad timeout are refused', async () => {
    const r = await cli(['--config-dir', '/nonexistent-credgw', 'status', '--listen', listen]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('role       active, epoch 8');
    const remote = await cli(['--config-dir', dir, 'status', '--listen', '10.1.2.3:9469']);
    expect(remote.code).toBe(1);
    expect(remote.err).toMatch(/^error: TELEMETRY_NOT_LOOPBACK: telemetry.listen "10.1.2.3:9469" must be on loopback/);
    const usage = await cli(['--config-dir', dir, 'status', '--timeout', 'soon']);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^error: USAGE: /);
  });

  it('telemetry.listen null: says the daemon has no endpoint', async () => {
    const off = mkdtempSync(join(tmpdir(), 'credgw-status-off-'));
    try {
      writeFileSync(join(off, 'config.json'), JSON.stringify({ telemetry: { listen: null } }), { mode: 0o600 });
      const r = await cli(['--config-dir', off, 'status']);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/^error: TELEMETRY_DISABLED: telemetry.listen is null/);
    } finally {
      rmSync(off, { recursive: true, force: true });
    }
  });
});
