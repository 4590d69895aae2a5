import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { Metrics } from '../../src/telemetry/metrics.js';
import { fetchGatewayStatus, startTelemetryServer, TelemetryError, type TelemetryServer } from '../../src/telemetry/http-server.js';
import type { GatewayStatus } from '../../src/telemetry/status.js';

function baseStatus(): GatewayStatus {
  return {
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
    link: { state: 'up', url: 'wss://ctl.example.com/gateway', connectedSince: '2024-01-01T00:00:04.000Z', reconnects: 2, lastError: null },
    vaults: [
      { name: 'pmp-prod', url: 'https://pmp.example.com:7272', healthy: true, error: null, lastError: null, lastCheckedAt: '2024-01-01T01:00:00.000Z' },
      { name: 'pmp-dr', url: 'https://pmp-dr.example.com:7272', healthy: false, error: 'VAULT_UNREACHABLE', lastError: 'connect ECONNREFUSED', lastCheckedAt: '2024-01-01T01:00:00.000Z' },
    ],
    inFlight: 1,
    queued: 0,
    loops: { link: { healthy: true, lastTickAgoMs: 400 } },
    restartRequired: [],
  };
}

async function get(server: TelemetryServer, path: string): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`http://127.0.0.1:${server.address.port}${path}`);
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

describe('telemetry endpoint', () => {
  let status: GatewayStatus;
  let live: boolean | { live: boolean; reasons: string[] };
  let metrics: Metrics;
  let server: TelemetryServer;
  const logLines: string[] = [];

  beforeAll(async () => {
    status = baseStatus();
    live = true;
    metrics = new Metrics({ processMetrics: false });
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        logLines.push(c.toString());
        cb();
      },
    });
    server = await startTelemetryServer({
      listen: '127.0.0.1:0',
      status: () => status,
      live: () => live,
      metrics,
      logger: pino({ level: 'debug' }, sink),
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('listens on loopback and says so in the log', () => {
    expect(server.address.host).toBe('127.0.0.1');
    expect(server.address.port).toBeGreaterThan(0);
    expect(logLines.join('')).toContain('telemetry endpoint listening');
  });

  it('/healthz follows live()', async () => {
    expect(await get(server, '/healthz')).toMatchObject({ status: 200, text: '{"status":"ok"}\n' });
    live = { live: false, reasons: ['link has not ticked for 31000 ms (allowed 30000 ms)'] };
    const down = await get(server, '/healthz');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({ status: 'unhealthy', reasons: ['link has not ticked for 31000 ms (allowed 30000 ms)'] });
    live = false;
    expect(JSON.parse((await get(server, '/healthz')).text).reasons).toHaveLength(1);
    live = true;
    expect((await get(server, '/healthz')).status).toBe(200);
  });

  it('/readyz flips with the link, the role and the vaults', async () => {
    status = baseStatus();
    expect(await get(server, '/readyz')).toMatchObject({ status: 200 });
    expect(JSON.parse((await get(server, '/readyz')).text)).toEqual({ ready: true, reasons: [], warnings: [] });

    status = { ...baseStatus(), link: { ...baseStatus().link, state: 'backoff', lastError: 'UNAUTHORIZED: controller answered the upgrade with HTTP 401' } };
    let r = await get(server, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text)).toEqual({ ready: false, reasons: ['the controller link is backoff (UNAUTHORIZED: controller answered the upgrade with HTTP 401)'], warnings: [] });

    status = { ...baseStatus(), role: 'unknown', epoch: null, vaults: baseStatus().vaults.map((v) => ({ ...v, healthy: false, error: 'VAULT_TIMEOUT' as const })) };
    r = await get(server, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.text).reasons).toEqual(['the role is unknown', 'no vault is healthy (pmp-prod: VAULT_TIMEOUT, pmp-dr: VAULT_TIMEOUT)']);

    // A restart pending is a warning: still ready.
    status = { ...baseStatus(), restartRequired: ['gatewayId', 'limits'] };
    r = await get(server, '/readyz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ ready: true, reasons: [], warnings: ['a restart is needed to apply changed gatewayId, limits'] });

    status = baseStatus();
    expect((await get(server, '/readyz')).status).toBe(200);
  });

  it('/metrics serves the Prometheus text with the counts of the calls made', async () => {
    metrics.commandCompleted({ name: 'getPassword', outcome: 'ok', durationMs: 12 });
    metrics.commandCompleted({ name: 'getPassword', outcome: 'ok', durationMs: 15 });
    metrics.commandCompleted({ name: 'listAccounts', outcome: 'POLICY_DENIED', durationMs: 1 });
    metrics.policyDenied('pmp-prod');
    metrics.linkState('up');
    metrics.role('active', 8);
    metrics.setInFlightSource(() => 5);
    const r = await get(server, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toContain('credgw_commands_total{name="getPassword",outcome="ok"} 2');
    expect(r.text).toContain('credgw_commands_total{name="listAccounts",outcome="POLICY_DENIED"} 1');
    expect(r.text).toContain('credgw_command_duration_seconds_count{name="getPassword"} 2');
    expect(r.text).toContain('credgw_policy_denials_total{vault="pmp-prod"} 1');
    expect(r.text).toContain('credgw_link_state{state="up"} 1');
    expect(r.text).toContain('credgw_role{role="active"} 1');
    expect(r.text).toContain('credgw_epoch 8');
    expect(r.text).toContain('credgw_commands_in_flight 5');
  });

  it('/status serves the document, with user info stripped from every URL', async () => {
    status = baseStatus();
    status.link.url = 'wss://user:hunter2@ctl.example.com/gateway?token=abc';
    const r = await get(server, '/status');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json; charset=utf-8');
    const doc = JSON.parse(r.text) as GatewayStatus;
    expect(doc.link.url).toBe('wss://ctl.example.com/gateway');
    expect(r.text).not.toContain('hunter2');
    expect(r.text).not.toContain('token=abc');
    expect({ ...doc, link: { ...doc.link, url: '' } }).toEqual({ ...baseStatus(), link: { ...baseStatus().link, url: '' } });
    status = baseStatus();
    expect(await fetchGatewayStatus(`127.0.0.1:${server.address.port}`)).toEqual(baseStatus());
  });

  it('answers 404 for other paths, 405 for other methods, 403 for a foreign Host header', async () => {
    const nf = await get(server, '/nope');
    expect(nf.status).toBe(404);
    expect(JSON.parse(nf.text)).toMatchObject({ error: 'NOT_FOUND' });
    const post = await request(`http://127.0.0.1:${server.address.port}/status`, { method: 'POST', body: '{}' });
    expect(post.statusCode).toBe(405);
    await post.body.dump();
    const foreign = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: server.address.port, path: '/status', headers: { host: 'attacker.example:9469' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(foreign).toBe(403);
  });

  it('a failing status() gives 500 without details, and is logged', async () => {
    const saved = status;
    status = undefined as unknown as GatewayStatus;
    const r = await get(server, '/status');
    status = saved;
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toEqual({ error: 'INTERNAL', message: 'internal error' });
    expect(logLines.join('')).toContain('telemetry request failed');
  });

  it('refuses a non-loopback listen address before listening, and a port in use with a clear error', async () => {
    const base = { status: baseStatus, live: () => true, metrics, logger: pino({ level: 'silent' }) };
    for (const listen of ['0.0.0.0:9469', '192.0.2.1:9469', 'example.com:9469', '9469']) {
      await expect(startTelemetryServer({ ...base, listen })).rejects.toMatchObject({ code: 'TELEMETRY_NOT_LOOPBACK' });
    }
    await expect(startTelemetryServer({ ...base, listen: '0.0.0.0:9469' })).rejects.toThrow(/must be on loopback/);
    await expect(startTelemetryServer({ ...base, listen: `127.0.0.1:${server.address.port}` })).rejects.toMatchObject({
      code: 'TELEMETRY_LISTEN_FAILED',
      message: expect.stringContaining('EADDRINUSE'),
    });
  });
});

describe('fetchGatewayStatus', () => {
  it('NOT_RUNNING when nothing listens, BAD_RESPONSE when something else answers', async () => {
    const other = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"hello":"world"}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const port = (other.address() as AddressInfo).port;
    try {
      await expect(fetchGatewayStatus(`127.0.0.1:${port}`)).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
    const err = await fetchGatewayStatus(`127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelemetryError);
    expect(err).toMatchObject({ code: 'NOT_RUNNING', message: `credgw is not running (no answer on 127.0.0.1:${port})` });
  });
});
