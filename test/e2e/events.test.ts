import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { writeConfigDir } from '../../src/sim/gateway-process.js';
import { SAMPLE_DATA, SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { closedPort } from '../helpers/gateway-harness.js';
import { spawnCli, spawnGateway, type CliProcess } from '../helpers/gateway-process.js';
import { send, type RawTarget } from '../helpers/notice-harness.js';
import { testPki } from '../helpers/pki.js';
import { startRawController, type RawConnection, type RawController, type RawFrame } from '../helpers/raw-controller.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Rotation notices end to end: real `credgw run` processes (the built CLI),
 * the listener over HTTPS and syslog over TCP in front of them, behind
 * them a raw ws controller in this process, which acks only when the test
 * says so, or the reference controller, which stores each event once. A gateway killed with SIGKILL right after its 202 sends the
 * event after its restart; both gateways of a pair name one change by one
 * id; the listener refuses what it must; `credgw status` shows it all; an
 * outbox it cannot use stops `credgw run` with one line. No log line holds
 * a token or a password.
 */

jest.setTimeout(120_000);
const WAIT_MS = 20_000;
const CONTROLLER_TOKEN = 'e2e-ev-ctl-token-7d1f';
const NOTICE_TOKEN = 'e2e-ev-notice-token-c93a';
const SECRETS = [CONTROLLER_TOKEN, NOTICE_TOKEN, SAMPLE_TOKEN, ...SAMPLE_DATA.resources.flatMap((r) => r.accounts.map((a) => a.password))];

const pki = testPki();
let dir: string;
let sim: PmpSimulator;
let ctl: RawController;
const processes: CliProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-e2e-events-'));
  writeFileSync(join(dir, 'ctl.token'), CONTROLLER_TOKEN, { mode: 0o600 });
  writeFileSync(join(dir, 'pmp.token'), SAMPLE_TOKEN, { mode: 0o600 });
  writeFileSync(join(dir, 'notices.token'), NOTICE_TOKEN, { mode: 0o600 });
  const tls = { certPem: pki.server.certPem, keyPem: pki.server.keyPem };
  sim = await startPmpSimulator({ tls });
  ctl = await startRawController({ token: CONTROLLER_TOKEN, tls });
});

afterAll(async () => {
  for (const p of processes) p.kill();
  await Promise.all(processes.map((p) => p.exited));
  for (const p of processes) {
    const leaked = SECRETS.filter((s) => p.output().includes(s));
    expect(leaked.map((s) => `${s.slice(0, 4)}…`)).toEqual([]);
  }
  await ctl?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface GatewayFiles {
  id: string;
  configDir: string;
  stateDir: string;
  listener: RawTarget;
  telemetryPort: number;
}

/** Writes a gateway's config: the listener (test CA certificate) on a free port, syslog over TCP when asked, the state directory outside the config. */
async function writeGateway(id: string, opts: { syslogPort?: number; allowFrom?: string[]; stateInConfig?: boolean; controllerUrl?: string } = {}): Promise<GatewayFiles> {
  const configDir = join(dir, id);
  const stateDir = join(dir, `${id}-state`);
  const port = await closedPort();
  const telemetryPort = await closedPort();
  const ca = join(pki.dir, 'ca.crt');
  writeConfigDir(configDir, {
    gatewayId: id,
    clusterId: 'site-e2e-events',
    controller: { url: opts.controllerUrl ?? ctl.wsUrl, token: pathToFileURL(join(dir, 'ctl.token')).href, caFile: ca },
    vaults: [{ name: 'pmp', url: sim.url, token: pathToFileURL(join(dir, 'pmp.token')).href, caFile: ca, rotationNotices: true }],
    telemetry: { listen: `127.0.0.1:${telemetryPort}`, logLevel: 'info' },
    ...(opts.stateInConfig === false ? {} : { stateDir }),
    notices: {
      listen: `127.0.0.1:${port}`,
      token: pathToFileURL(join(dir, 'notices.token')).href,
      certFile: join(pki.dir, 'server.crt'),
      keyFile: join(pki.dir, 'server.key'),
      ...(opts.allowFrom ? { allowFrom: opts.allowFrom } : {}),
      ...(opts.syslogPort ? { syslog: { tcp: `127.0.0.1:${opts.syslogPort}`, sources: [{ vault: 'pmp', from: ['127.0.0.1'] }] } } : {}),
    },
  });
  return { id, configDir, stateDir, listener: { port, ca: pki.ca.certPem }, telemetryPort };
}

/** Spawns the gateway and resolves with its controller connection once welcomed. */
async function run(g: GatewayFiles, args: string[] = []): Promise<{ proc: CliProcess; conn: RawConnection }> {
  const proc = args.length === 0 ? spawnGateway(g.configDir) : spawnCli(['--config-dir', g.configDir, 'run', ...args]);
  processes.push(proc);
  const fresh = (c: RawConnection): boolean => !taken.has(c) && c.frames[0]?.['gatewayId'] === g.id && c.ws.readyState === c.ws.OPEN;
  const conn = await waitFor(() => ctl.connections.find(fresh), `${g.id} connected`, WAIT_MS).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.tail()}`);
  });
  taken.add(conn);
  await proc.waitForOutput(/"notice listener listening"/, `${g.id}'s listener`, WAIT_MS);
  return { proc, conn };
}
/** Controller connections already handed to a test. */
const taken = new Set<RawConnection>();

const notice = (accountName: string, rotatedAt = '2026-12-03T10:15:02Z'): Record<string, unknown> => ({
  vault: 'pmp',
  resourceName: 'Windows_Jump_Box',
  accountName,
  rotatedAt,
});
const eventIds = (conn: RawConnection): string[] => conn.frames.filter((f: RawFrame) => f.type === 'event').map((f) => String(f.id));

describe('rotation notices through real gateway processes', () => {
  it('a gateway killed with SIGKILL right after its 202 sends the event after its restart (several rounds)', async () => {
    const g = await writeGateway('gw-kill', { stateInConfig: false });
    const accepted: string[] = [];
    // --state-dir, as an operator outside systemd would give it.
    let { proc, conn } = await run(g, ['--state-dir', g.stateDir]);
    for (let round = 0; round < 4; round++) {
      const r = await send(g.listener, { token: NOTICE_TOKEN, body: notice(`acct-${round}`) });
      expect(r.status).toBe(202);
      proc.signal('SIGKILL');
      accepted.push((r.json as { eventId: string }).eventId);
      await proc.exited;
      ({ proc, conn } = await run(g, ['--state-dir', g.stateDir]));
      // Nothing was acked: every event accepted so far comes again on the new connection.
      await waitFor(() => accepted.every((id) => eventIds(conn).includes(id)), `events ${accepted.join(', ')} after restart ${round + 1}`, WAIT_MS);
    }
    for (const id of accepted) conn.send({ type: 'ack', id });
    // Acks are written without a sync; the clean stop syncs them.
    await waitFor(() => readFileSync(join(g.stateDir, 'outbox.journal'), 'utf8').split('"t":"ack"').length - 1 === accepted.length, 'the acks in the journal', WAIT_MS);
    proc.signal('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    ({ proc, conn } = await run(g, ['--state-dir', g.stateDir]));
    // What is pending goes out first after a welcome: a new event that comes alone shows nothing acked came back.
    const r = await send(g.listener, { token: NOTICE_TOKEN, body: notice('after-acks') });
    const fresh = (r.json as { eventId: string }).eventId;
    await waitFor(() => eventIds(conn).includes(fresh), 'the new event', WAIT_MS);
    expect(eventIds(conn)).toEqual([fresh]);
    proc.signal('SIGTERM');
    await proc.exited;
  });

  it('both gateways of a pair get the same call: one id from both', async () => {
    const [a, b] = [await writeGateway('gw-pair-a'), await writeGateway('gw-pair-b')];
    const ga = await run(a);
    const gb = await run(b);
    const body = notice('administrator', '2026-12-03T10:20:00.437Z');
    const [ra, rb] = await Promise.all([send(a.listener, { token: NOTICE_TOKEN, body }), send(b.listener, { token: NOTICE_TOKEN, body })]);
    const id = (ra.json as { eventId: string }).eventId;
    expect(rb.json).toEqual({ eventId: id });
    await waitFor(() => eventIds(ga.conn).includes(id) && eventIds(gb.conn).includes(id), 'the event from both', WAIT_MS);
    for (const g of [ga, gb]) {
      g.proc.signal('SIGTERM');
      await g.proc.exited;
    }
  });

  it('the listener refuses a wrong token, a foreign source and an oversize body; syslog over TCP makes an event; credgw status shows them', async () => {
    const syslogPort = await closedPort();
    const g = await writeGateway('gw-edge', { syslogPort, allowFrom: ['127.0.0.1'] });
    const { proc, conn } = await run(g);
    expect((await send(g.listener, { token: 'not-the-token', body: notice('administrator') })).status).toBe(401);
    expect((await send({ ...g.listener, localAddress: '127.0.0.5' }, { token: NOTICE_TOKEN, body: notice('administrator') })).status).toBe(403);
    expect((await send(g.listener, { token: NOTICE_TOKEN, body: { ...notice('administrator'), pad: 'x'.repeat(17_000) } })).status).toBe(413);

    const sock = net.connect({ host: '127.0.0.1', port: syslogPort });
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.end('<38>Dec  3 10:30:00 pmp01 admin: Password_Reset 2026/12/03 10:30:00 Success 10.1.2.3 Linux_Web_01:root:scheduled\n');
    const frame = await conn.waitFor((f) => f.type === 'event', WAIT_MS);
    expect(frame['data']).toMatchObject({ vault: 'pmp', resourceName: 'Linux_Web_01', accountName: 'root', rotatedAt: '2026-12-03T10:30:00.000Z', source: 'syslog' });

    const status = spawnCli(['status', '--listen', `127.0.0.1:${g.telemetryPort}`]);
    processes.push(status);
    expect((await status.exited).code).toBe(0);
    expect(status.stdout()).toMatch(/^events {5}1 pending, oldest .*, 1 in flight, 0 dropped \(state dir .*gw-edge-state\)$/m);
    expect(status.stdout()).toMatch(new RegExp(`^listener   https://127\\.0\\.0\\.1:${g.listener.port}, pin sha256//\\S+=, 0 accepted, refused UNAUTHORIZED 1, FORBIDDEN_SOURCE 1, BODY_TOO_LARGE 1$`, 'm'));
    expect(status.stdout()).toMatch(new RegExp(`^syslog     tcp 127\\.0\\.0\\.1:${syslogPort}; received 1, recorded 1$`, 'm'));
    proc.signal('SIGTERM');
    expect((await proc.exited).code).toBe(0);
  });

  it('an outbox it cannot use stops credgw run with one line and exit 1', async () => {
    const g = await writeGateway('gw-bad-outbox');
    mkdirSync(g.stateDir, { recursive: true });
    writeFileSync(join(g.stateDir, 'outbox.journal'), 'credgw-outbox 7\n');
    const proc = spawnGateway(g.configDir);
    processes.push(proc);
    expect((await proc.exited).code).toBe(1);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: OUTBOX_VERSION: .*outbox\.journal was written by a newer credgw .*; credgw run refuses to start$/);
    expect(readFileSync(join(g.stateDir, 'outbox.journal'), 'utf8')).toBe('credgw-outbox 7\n');
  });
});

describe('rotation notices with the reference controller', () => {
  let ref: ReferenceController;
  beforeAll(async () => {
    ref = await startReferenceController({ port: 0, tokens: [CONTROLLER_TOKEN], tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem }, heartbeatMs: 500 });
  });
  afterAll(() => ref?.close());

  /** GET /api/v1/clusters/site-e2e-events/events from the controller's API. */
  function storedEvents(): Promise<{ events: Array<{ id: string; data: Record<string, unknown>; gatewayId: string }>; counts: { held: number; repeats: number } }> {
    return new Promise((resolve, reject) => {
      https
        .get(`${ref.httpUrl}/api/v1/clusters/site-e2e-events/events`, { ca: pki.ca.certPem }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text) as never) : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
        })
        .on('error', reject);
    });
  }

  /** events.pending of a gateway's /status. */
  function pendingAt(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${port}/status`, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c));
          res.on('end', () => resolve((JSON.parse(text) as { events: { pending: number } }).events.pending));
        })
        .on('error', reject);
    });
  }

  /** Spawns a gateway against the reference controller; resolves once the controller shows it joined and its listener listens. */
  async function runAgainstRef(g: GatewayFiles): Promise<CliProcess> {
    const proc = spawnGateway(g.configDir);
    processes.push(proc);
    await waitFor(() => ref.connectedGateways().includes(g.id), `${g.id} joined`, WAIT_MS).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc.tail()}`);
    });
    await proc.waitForOutput(/"notice listener listening"/, `${g.id}'s listener`, WAIT_MS);
    return proc;
  }

  it('both gateways of a pair get the listener call: one credentialRotated stored, both acked', async () => {
    const [a, b] = [await writeGateway('gw-ref-a', { controllerUrl: ref.wsUrl }), await writeGateway('gw-ref-b', { controllerUrl: ref.wsUrl })];
    const pa = await runAgainstRef(a);
    const pb = await runAgainstRef(b);
    const body = { ...notice('administrator', '2026-12-03T11:00:00.250Z'), dnsName: 'jump01.corp.local' };
    const [ra, rb] = await Promise.all([send(a.listener, { token: NOTICE_TOKEN, body }), send(b.listener, { token: NOTICE_TOKEN, body })]);
    expect([ra.status, rb.status]).toEqual([202, 202]);
    const id = (ra.json as { eventId: string }).eventId;
    const page = await waitFor(async () => {
      const p = await storedEvents();
      return p.counts.held + p.counts.repeats >= 2 && p;
    }, 'both copies at the controller', WAIT_MS);
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({
      id,
      data: { vault: 'pmp', resourceName: 'Windows_Jump_Box', dnsName: 'jump01.corp.local', accountName: 'administrator', rotatedAt: '2026-12-03T11:00:00.250Z', source: 'listener' },
    });
    expect(page.counts).toEqual(expect.objectContaining({ held: 1, repeats: 1 }));
    // Acked on both sides (each gateway's /status), and the acks are in the journals after a clean stop.
    for (const g of [a, b]) await waitFor(async () => (await pendingAt(g.telemetryPort)) === 0, `${g.id}'s outbox empty`, WAIT_MS);
    for (const p of [pa, pb]) {
      p.signal('SIGTERM');
      expect((await p.exited).code).toBe(0);
    }
    for (const g of [a, b]) expect(readFileSync(join(g.stateDir, 'outbox.journal'), 'utf8')).toContain(`{"t":"ack","id":"${id}"}`);
  });
});

