import { join } from 'node:path';
import { pino } from 'pino';
import type { BackoffInfo, ControllerLink } from '../../src/link/index.js';
import { MAX_FRAME_BYTES } from '../../src/protocol/index.js';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';
import {
  auditText,
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  KNOWN_SECRETS,
  makeWorkspace,
  resource,
  simVault,
  startInProcess,
  submit,
  waitActive,
  waitFor,
  LogCapture,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';

/**
 * The gateway's controller link end to end (startDaemon + reference
 * controller + PMP simulator, real TLS): reconnect after a controller
 * restart, liveness when pongs are withheld, the 401 back-off, bad frames,
 * and the CONNECT proxy path. Every gateway's log is checked for secrets
 * at the end.
 */

const WRONG_TOKEN = 'ctl-wrong-token-19ad2c-SECRET';
const PROXY_PASSWORD = 'proxy-pw-83c1f5e2-SECRET';
const SECRETS = [...KNOWN_SECRETS, WRONG_TOKEN, PROXY_PASSWORD];
const R301 = resource('301');

let ws: Workspace;
let sim: PmpSimulator;
const gateways: InProcessGateway[] = [];
const controllers: ReferenceController[] = [];
let proxy: ConnectProxy | undefined;

function tls(): { certPem: string; keyPem: string } {
  return { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem };
}

async function controller(opts: { port?: number; heartbeatMs?: number; stateFile?: string; logs?: LogCapture } = {}): Promise<ReferenceController> {
  const ctl = await startReferenceController({
    tokens: [CONTROLLER_TOKEN],
    tls: tls(),
    heartbeatMs: opts.heartbeatMs ?? 1000,
    port: opts.port ?? 0,
    stateFile: opts.stateFile ?? null,
    ...(opts.logs ? { logger: pino({ level: 'info' }, opts.logs) } : {}),
  });
  controllers.push(ctl);
  return ctl;
}

async function gateway(
  gatewayId: string,
  ctl: ReferenceController,
  extra: { controllerToken?: string; controller?: Record<string, unknown> } = {},
): Promise<InProcessGateway> {
  const gw = await startInProcess(ws, gatewayConfig(ws, { gatewayId, clusterId: `site-${gatewayId}`, controllerUrl: ctl.wsUrl, vaults: [simVault(ws, 'pmp', sim)], ...extra }));
  gateways.push(gw);
  return gw;
}

/** The next 'backoff' event of `link` that matches. */
function nextBackoff(link: ControllerLink, match: (b: BackoffInfo) => boolean): Promise<BackoffInfo> {
  return new Promise((resolve) => {
    const on = (b: BackoffInfo): void => {
      if (!match(b)) return;
      link.off('backoff', on);
      resolve(b);
    };
    link.on('backoff', on);
  });
}

/** Waits for the link to be up on a connection newer than `session`. */
function upAgain(gw: InProcessGateway, session: number): Promise<boolean> {
  const link = gw.gateway.link!;
  return waitFor(() => link.state === 'up' && (link.current?.id ?? 0) > session && gw.gateway.roles.snapshot.state === 'active', 'link up again and active');
}

async function password(ctl: ReferenceController, gatewayId: string): Promise<void> {
  const result = await submit(ctl, `site-${gatewayId}`, 'getPassword', { vault: 'pmp', resource: R301, accountId: '902' });
  expect(result).toMatchObject({ ok: true, data: { password: 'Sim-Adm1n-Pass!' } });
}

beforeAll(async () => {
  ws = makeWorkspace('gw-link');
  sim = await startPmpSimulator({ tls: tls() });
});

afterAll(async () => {
  for (const gw of gateways) await gw.stop();
  for (const ctl of controllers) await ctl.close();
  await proxy?.close();
  await sim?.close();
  ws?.cleanup();
});

describe('controller link', () => {
  it('reconnects after the controller restarts on the same port, with the epoch continuing', async () => {
    const stateFile = join(ws.dir, 'ctl-state.json');
    const first = await controller({ stateFile });
    const gw = await gateway('gw-restart', first);
    await waitActive(first, 'site-gw-restart', 'gw-restart', gw);
    const epoch1 = first.cluster('site-gw-restart')!.epoch;
    await password(first, 'gw-restart');
    const session = gw.gateway.link!.current!.id;

    const down = nextBackoff(gw.gateway.link!, () => true);
    await first.close();
    await down;
    const second = await controller({ port: first.port, stateFile });
    await waitActive(second, 'site-gw-restart', 'gw-restart', gw);
    await upAgain(gw, session);
    const epoch2 = second.cluster('site-gw-restart')!.epoch;
    expect(epoch2).toBeGreaterThan(epoch1);
    expect(gw.gateway.roles.snapshot.epoch).toBe(epoch2);
    await password(second, 'gw-restart');
  });

  it('drops and re-dials a controller that withholds pongs (liveness)', async () => {
    const ctl = await controller({ heartbeatMs: 100 });
    const gw = await gateway('gw-pong', ctl);
    await waitActive(ctl, 'site-gw-pong', 'gw-pong', gw);
    const link = gw.gateway.link!;
    const session = link.current!.id;
    const silent = nextBackoff(link, (b) => b.code === 'LIVENESS');
    ctl.withholdPongs('gw-pong', true);
    await silent;
    await upAgain(gw, session);
    await waitActive(ctl, 'site-gw-pong', 'gw-pong', gw);
    await password(ctl, 'gw-pong');
    expect(gw.logs.find('controller went silent').length).toBeGreaterThanOrEqual(1);
  });

  it('backs off to the cap after a 401 (wrong token)', async () => {
    const ctl = await controller();
    const gw = await gateway('gw-401', ctl, { controllerToken: WRONG_TOKEN });
    const refused = await waitFor(() => gw.logs.find('controller refused the token')[0], 'the 401 log line');
    expect(refused).toMatchObject({ code: 'UNAUTHORIZED', delayMs: 30_000 });
    expect(gw.gateway.link!.state).toBe('backoff');
    expect(gw.gateway.link!.counters.connects).toBe(0);
    expect(ctl.connectedGateways()).toEqual([]);
  });

  describe('bad frames', () => {
    let ctl: ReferenceController;
    let gw: InProcessGateway;
    /** What the controller saw: the close codes the gateway sent. */
    const ctlLogs = new LogCapture();
    const closeCodes = (): unknown[] => ctlLogs.find('gateway connection closed').map((l) => l['code']);

    beforeAll(async () => {
      ctl = await controller({ logs: ctlLogs });
      gw = await gateway('gw-frames', ctl);
      await waitActive(ctl, 'site-gw-frames', 'gw-frames', gw);
    });

    it('survives single malformed frames (counted, not answered)', async () => {
      const link = gw.gateway.link!;
      const session = link.current!.id;
      const before = link.counters.violations;
      ctl.sendRaw('gw-frames', '{"type":');
      ctl.sendRaw('gw-frames', '{"type":"bogus"}');
      ctl.sendRaw('gw-frames', '[1,2,3]');
      ctl.sendRaw('gw-frames', '{"type":"command","name":"getPassword"}');
      await waitFor(() => link.counters.violations === before + 4, 'four violations');
      await password(ctl, 'gw-frames');
      expect(link.current!.id).toBe(session);
      expect(link.counters.disconnects).toBe(0);
    });

    it('closes 1003 on a binary frame and reconnects', async () => {
      const link = gw.gateway.link!;
      const session = link.current!.id;
      const down = new Promise<number>((resolve) => link.once('down', (info) => resolve(info.code)));
      const backoff = nextBackoff(link, () => true);
      ctl.sendRaw('gw-frames', Buffer.from([0x7b, 0x7d]));
      expect(await down).toBe(1003);
      expect((await backoff).code).toBe('PROTOCOL_ERROR');
      await waitFor(() => closeCodes().includes(1003), 'the controller to see close 1003');
      await upAgain(gw, session);
      await waitActive(ctl, 'site-gw-frames', 'gw-frames', gw);
      await password(ctl, 'gw-frames');
    });

    it('closes 1009 on a frame over 1 MiB and reconnects', async () => {
      const link = gw.gateway.link!;
      const session = link.current!.id;
      const backoff = nextBackoff(link, () => true);
      ctl.sendRaw('gw-frames', `{"type":"role","pad":"${'x'.repeat(MAX_FRAME_BYTES)}"}`);
      expect((await backoff).code).toBe('PROTOCOL_ERROR');
      // ws stops reading after a too-big frame, so the gateway's own view is 1006; the controller got 1009.
      await waitFor(() => closeCodes().includes(1009), 'the controller to see close 1009');
      await upAgain(gw, session);
      await waitActive(ctl, 'site-gw-frames', 'gw-frames', gw);
      await password(ctl, 'gw-frames');
    });
  });

  it('works through an HTTP CONNECT proxy with Basic auth, the password read from controller.proxyPassword', async () => {
    const ctl = await controller();
    proxy = await startConnectProxy({ user: 'gw-proxy-user', password: PROXY_PASSWORD });
    const gw = await gateway('gw-proxy', ctl, {
      controller: { proxy: `http://gw-proxy-user@127.0.0.1:${proxy.port}`, proxyPassword: ws.secret('gw-proxy.password', PROXY_PASSWORD) },
    });
    await waitActive(ctl, 'site-gw-proxy', 'gw-proxy', gw);
    expect(proxy.tunnels).toEqual([`127.0.0.1:${ctl.port}`]);
    expect(proxy.refused).toBe(0);
    await password(ctl, 'gw-proxy');
    expect(gw.gateway.link!.counters.connects).toBe(1);
  });

  it('wrote no token or password into any log line or audit trail', async () => {
    for (const gw of gateways) await gw.stop();
    for (const gw of gateways) {
      const id = String(gw.gateway.currentConfig.gatewayId);
      expect(gw.logs.lines.length).toBeGreaterThan(5);
      expectNoSecrets(`${id} log`, gw.logs.text(), SECRETS);
      expectNoSecrets(`${id} audit`, auditText(ws, id), SECRETS);
    }
  });
});
