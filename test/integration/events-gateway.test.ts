import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { formatStatus } from '../../src/cli/status.js';
import { CAPABILITY_ROTATION_EVENTS } from '../../src/protocol/index.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import {
  closedPort,
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  KNOWN_SECRETS,
  makeWorkspace,
  resource,
  simVault,
  startInProcess,
  waitFor,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { send, type RawTarget } from '../helpers/notice-harness.js';
import { startRawController, type RawConnection, type RawController, type RawFrame } from '../helpers/raw-controller.js';

/**
 * Rotation events wired into a real gateway (startDaemon, as `credgw run`
 * builds it) over real sockets: the notice listener over HTTPS and the
 * syslog receiver over TCP in front, the outbox in a state directory, a raw
 * controller behind that acks by hand (or does not). What the gateway
 * announces, sends, keeps, shows and counts, and what a reload changes.
 */

const NOTICE_TOKEN = 'notice-tok-51c0e2-SECRET';
const NEW_NOTICE_TOKEN = 'notice-tok-2nd-88aa-SECRET';
/** Sent by a careless caller in a password field: refused, never logged. */
const LEAKED_PASSWORD = 'Leaked-Pa55word-9f1';
const SECRETS = [...KNOWN_SECRETS, NOTICE_TOKEN, NEW_NOTICE_TOKEN, LEAKED_PASSWORD];

let ws: Workspace;
let sim: PmpSimulator;
let ctl: RawController;

beforeAll(async () => {
  ws = makeWorkspace('events-gw');
  sim = await startPmpSimulator({ tls: { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem } });
  ctl = await startRawController({ token: CONTROLLER_TOKEN, tls: { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem } });
}, 30_000);

afterAll(async () => {
  await ctl?.close();
  await sim?.close();
  ws?.cleanup();
});

interface Started {
  gw: InProcessGateway;
  conn: RawConnection;
  listener: RawTarget;
  stateDir: string;
  tokenFile: string;
}

let running: InProcessGateway[] = [];
afterEach(async () => {
  for (const gw of running) {
    expectNoSecrets(`${gw.gateway.currentConfig.gatewayId}'s log`, gw.logs.text(), SECRETS);
    await gw.stop();
  }
  running = [];
});

/** A gateway with the listener on 127.0.0.1:0 (the test CA's certificate) and syslog over TCP, dialling the raw controller. */
async function startGateway(id: string, notices: Record<string, unknown> = {}, syslogPort: number | null = null): Promise<Started> {
  const stateDir = join(ws.dir, `state-${id}`);
  const tokenRef = ws.secret(`${id}-notices.token`, NOTICE_TOKEN);
  const raw = {
    ...gatewayConfig(ws, {
      gatewayId: id,
      clusterId: 'site-ev',
      controllerUrl: ctl.wsUrl,
      vaults: [simVault(ws, 'pmp', sim, { rotationNotices: true }), simVault(ws, 'pmp-off', sim)],
      logLevel: 'info',
    }),
    stateDir,
    notices: {
      listen: '127.0.0.1:0',
      token: tokenRef,
      certFile: join(ws.pki.dir, 'server.crt'),
      keyFile: join(ws.pki.dir, 'server.key'),
      ...(syslogPort === null ? {} : { syslog: { tcp: `127.0.0.1:${syslogPort}`, sources: [{ vault: 'pmp', from: ['127.0.0.1'] }] } }),
      ...notices,
    },
  };
  const next = ctl.nextConnection(15_000);
  const gw = await startInProcess(ws, raw);
  running.push(gw);
  const conn = await next;
  const listen = gw.gateway.status().events!.listener!.listen;
  return { gw, conn, listener: { port: Number(listen.slice(listen.lastIndexOf(':') + 1)), ca: ws.pki.ca.certPem }, stateDir, tokenFile: tokenRef.slice('file://'.length) };
}

const notice = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  vault: 'pmp',
  resourceName: 'Windows_Jump_Box',
  dnsName: 'jump01.corp.local',
  accountName: 'administrator',
  rotatedAt: '2026-12-03T10:15:02Z',
  ...extra,
});

const isEvent = (id?: string) => (f: RawFrame): boolean => f.type === 'event' && (id === undefined || f.id === id);
const eventsOn = (conn: RawConnection): RawFrame[] => conn.frames.filter(isEvent());

describe('rotation events through a real gateway', () => {
  it('announces rotationEvents; a notice becomes one event, sent at once, kept until acked', async () => {
    const { gw, conn, listener } = await startGateway('gw-ev1');
    expect((await conn.hello)['capabilities']).toContain(CAPABILITY_ROTATION_EVENTS);
    const r = await send(listener, { token: NOTICE_TOKEN, body: notice() });
    expect(r.status).toBe(202);
    const eventId = (r.json as { eventId: string }).eventId;
    const frame = await conn.waitFor(isEvent(eventId));
    expect(frame).toEqual({
      type: 'event',
      id: eventId,
      name: 'credentialRotated',
      data: {
        vault: 'pmp',
        resourceName: 'Windows_Jump_Box',
        dnsName: 'jump01.corp.local',
        accountName: 'administrator',
        rotatedAt: '2026-12-03T10:15:02.000Z',
        source: 'listener',
      },
    });
    expect(gw.gateway.status().events).toMatchObject({ pending: 1, inFlight: 1 });
    // The same notice again (the script retried): the same id, nothing new sent.
    expect((await send(listener, { token: NOTICE_TOKEN, body: notice() })).json).toEqual({ eventId });
    conn.send({ type: 'ack', id: eventId });
    await waitFor(() => gw.gateway.status().events!.pending === 0, 'the ack');
    expect(eventsOn(conn)).toHaveLength(1);
    const metrics = await gw.gateway.metrics.render();
    expect(metrics).toContain('credgw_events_total{source="listener",outcome="stored"} 1');
    expect(metrics).toContain('credgw_events_total{source="listener",outcome="duplicate"} 1');
    expect(metrics).toContain('credgw_events_total{source="listener",outcome="acked"} 1');
    expect(metrics).toContain('credgw_events_pending 0');
    expect(metrics).toContain('credgw_notice_listener_requests_total{outcome="accepted"} 2');
  });

  it('fills resourceId/accountId from what the vault client has cached, and drops that cache', async () => {
    const { conn, listener } = await startGateway('gw-ev2');
    const listed = await conn.command({ id: 'list-1', epoch: 1, name: 'listAccounts', timeoutMs: 10_000, params: { vault: 'pmp', resource: resource('301') } });
    expect(listed['ok']).toBe(true);
    const accountCalls = (): number => sim.stats().byPath['/restapi/json/v1/resources/301/accounts'] ?? 0;
    const before = accountCalls();
    const r = await send(listener, { token: NOTICE_TOKEN, body: notice({ rotatedAt: '2026-12-03T11:00:00Z' }) });
    const frame = await conn.waitFor(isEvent((r.json as { eventId: string }).eventId));
    expect(frame['data']).toMatchObject({ resourceId: '301', accountId: '902' });
    expect(accountCalls()).toBe(before);
    // Not cached: sent as it came.
    const other = await send(listener, { token: NOTICE_TOKEN, body: notice({ resourceName: 'Linux_Web_01', accountName: 'root' }) });
    const bare = (await conn.waitFor(isEvent((other.json as { eventId: string }).eventId)))['data'] as Record<string, unknown>;
    expect(bare['resourceId']).toBeUndefined();
    expect(bare['accountId']).toBeUndefined();
    // The rotation dropped the account list of 301: the next command asks the vault again.
    await conn.command({ id: 'list-2', epoch: 1, name: 'listAccounts', timeoutMs: 10_000, params: { vault: 'pmp', resource: resource('301') } });
    expect(accountCalls()).toBe(before + 1);
  });

  it('a syslog line over TCP becomes an event; listener and syslog of one change are one event', async () => {
    const port = await closedPort();
    const { gw, conn, listener } = await startGateway('gw-ev3', {}, port);
    const r = await send(listener, { token: NOTICE_TOKEN, body: notice({ rotatedAt: '2026-12-03T12:00:04Z' }) });
    const eventId = (r.json as { eventId: string }).eventId;
    await conn.waitFor(isEvent(eventId));
    const sock = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    // The audit time, two seconds before the script ran: the same change.
    sock.write('<38>Dec  3 12:00:02 pmp01 admin: Password_Reset 2026/12/03 12:00:02 Success 10.1.2.3 Windows_Jump_Box:administrator:rotation\n');
    // Another account: a new event, from syslog.
    sock.write('<38>Dec  3 12:00:02 pmp01 admin: Password_Reset 2026/12/03 12:00:02 Success 10.1.2.3 Windows_Jump_Box:svc_backup:rotation\n');
    const fromSyslog = await conn.waitFor((f) => isEvent()(f) && (f['data'] as { source?: string }).source === 'syslog');
    sock.end();
    expect(fromSyslog['data']).toMatchObject({ accountName: 'svc_backup', rotatedAt: '2026-12-03T12:00:02.000Z' });
    await waitFor(() => gw.gateway.status().events!.syslog!.counts['recorded'] === 2, 'both lines recorded');
    expect(eventsOn(conn)).toHaveLength(2);
    expect(gw.gateway.status().events!.pending).toBe(2);
    const metrics = await gw.gateway.metrics.render();
    expect(metrics).toContain('credgw_events_total{source="syslog",outcome="duplicate"} 1');
    expect(metrics).toContain('credgw_syslog_messages_total{outcome="recorded"} 2');
  });

  it('refusals are counted by code and shown; a password field is refused and never logged', async () => {
    const { gw, listener } = await startGateway('gw-ev4', { allowFrom: ['127.0.0.1'] });
    expect((await send(listener, { token: 'wrong-token', body: notice() })).status).toBe(401);
    expect((await send({ ...listener, localAddress: '127.0.0.2' }, { token: NOTICE_TOKEN, body: notice() })).status).toBe(403);
    expect((await send(listener, { token: NOTICE_TOKEN, body: notice({ newPassword: LEAKED_PASSWORD }) })).status).toBe(400);
    expect((await send(listener, { token: NOTICE_TOKEN, body: notice({ vault: 'pmp-off' }) })).status).toBe(403);
    expect((await send(listener, { token: NOTICE_TOKEN, body: 'x'.repeat(17_000) })).status).toBe(413);
    const status = gw.gateway.status().events!;
    expect(status.listener!.refused).toEqual({ UNAUTHORIZED: 1, FORBIDDEN_SOURCE: 1, PASSWORD_FIELD: 1, NOTICES_DISABLED: 1, BODY_TOO_LARGE: 1 });
    expect(status.pending).toBe(0);
    const metrics = await gw.gateway.metrics.render();
    expect(metrics).toContain('credgw_notice_listener_requests_total{outcome="UNAUTHORIZED"} 1');
    expect(metrics).toContain('credgw_notice_listener_requests_total{outcome="FORBIDDEN_SOURCE"} 1');
    const text = formatStatus(gw.gateway.status());
    expect(text).toMatch(/^events {5}0 pending, 0 in flight, 0 dropped \(state dir .*state-gw-ev4\)$/m);
    expect(text).toContain(`listener   https://127.0.0.1:${listener.port}, pin sha256//${status.listener!.pin}, 0 accepted, refused UNAUTHORIZED 1`);
  });

  it('an event stored while the link is down goes out after the next welcome', async () => {
    const { gw, conn, listener } = await startGateway('gw-ev5');
    const next = ctl.nextConnection(15_000);
    conn.ws.terminate();
    await waitFor(() => gw.gateway.link!.state !== 'up', 'the link down');
    const r = await send(listener, { token: NOTICE_TOKEN, body: notice({ accountName: 'svc_backup' }) });
    expect(r.status).toBe(202);
    const again = await next;
    await again.waitFor(isEvent((r.json as { eventId: string }).eventId), 15_000);
  });

  it('a reload applies a new token and allow-list by restarting the listener on its port; the rest waits for a restart', async () => {
    const { gw, listener, tokenFile, stateDir } = await startGateway('gw-ev6');
    expect((await send(listener, { token: NOTICE_TOKEN, body: notice() })).status).toBe(202);
    writeFileSync(tokenFile, NEW_NOTICE_TOKEN, { mode: 0o600 });
    const raw = JSON.parse((await import('node:fs')).readFileSync(join(gw.configDir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    raw['notices'] = { ...raw['notices'], allowFrom: ['127.0.0.1'], burst: 5, altNames: ['gw-ev6.corp.local'] };
    writeFileSync(join(gw.configDir, 'config.json'), JSON.stringify(raw), { mode: 0o600 });
    expect(gw.daemon.reload()).toBe(true);
    expect(gw.gateway.pendingRestart).toEqual(['notices.altNames']);
    await waitFor(() => gw.logs.find('notice listener restarted with new settings').length === 1, 'the listener restart');
    expect(gw.gateway.status().events!.listener!.listen).toBe(`127.0.0.1:${listener.port}`);
    expect((await send(listener, { token: NOTICE_TOKEN, body: notice() })).status).toBe(401);
    expect((await send(listener, { token: NEW_NOTICE_TOKEN, body: notice() })).status).toBe(202);
    expect((await send({ ...listener, localAddress: '127.0.0.2' }, { token: NEW_NOTICE_TOKEN, body: notice() })).status).toBe(403);
    // Counts carry over the restart.
    expect(gw.gateway.status().events!.listener).toMatchObject({ accepted: 2, refused: { UNAUTHORIZED: 1, FORBIDDEN_SOURCE: 1 } });
    expect(existsSync(join(stateDir, 'outbox.journal'))).toBe(true);
  });
});

describe('the outbox at start', () => {
  it('a journal of a newer format stops the start with OUTBOX_VERSION and leaves nothing listening', async () => {
    const stateDir = join(ws.dir, 'state-newer');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'outbox.journal'), 'credgw-outbox 9\n');
    const port = await closedPort();
    const raw = {
      ...gatewayConfig(ws, { gatewayId: 'gw-newer', clusterId: 'site-ev', controllerUrl: ctl.wsUrl, vaults: [simVault(ws, 'pmp', sim)] }),
      stateDir,
      notices: { listen: `127.0.0.1:${port}`, token: ws.secret('newer-notices.token', NOTICE_TOKEN) },
    };
    await expect(startInProcess(ws, raw)).rejects.toMatchObject({ code: 'OUTBOX_VERSION' });
    // The listener was never started, and the port is free.
    await new Promise<void>((resolve, reject) => {
      const s = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => s.close(() => resolve()));
    });
  });

  it('without notices and without an outbox from before, the gateway keeps none and announces nothing', async () => {
    const next = ctl.nextConnection(15_000);
    const gw = await startInProcess(ws, { ...gatewayConfig(ws, { gatewayId: 'gw-plain', clusterId: 'site-ev', controllerUrl: ctl.wsUrl, vaults: [simVault(ws, 'pmp', sim)] }), stateDir: join(ws.dir, 'state-plain') });
    running.push(gw);
    expect((await (await next).hello)['capabilities']).not.toContain(CAPABILITY_ROTATION_EVENTS);
    expect(gw.gateway.status().events).toBeNull();
    expect(existsSync(join(ws.dir, 'state-plain'))).toBe(false);
  });
});
