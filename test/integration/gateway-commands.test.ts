import { largeSampleData, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import {
  auditText,
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  makeWorkspace,
  resource,
  simVault,
  startActiveBehindRaw,
  waitFor,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { startGatedSimulator, type GatedSimulator } from '../helpers/gated-simulator.js';
import { startRawController, type RawConnection, type RawController, type RawFrame } from '../helpers/raw-controller.js';

/**
 * The command path's promises of protocol section 5 over real sockets: a
 * real gateway (startDaemon) behind a raw controller, PMP simulators behind
 * TLS. A burst larger than limits.maxInFlight is queued, not refused; a
 * resource with more accounts than one frame holds is listed in pages; a result too large for a
 * frame is answered RESULT_TOO_LARGE; a malformed duplicate of a command in
 * flight joins it. Every command gets exactly one result.
 *
 * The "gated" simulator holds every answer until the test advances its
 * ManualClock, so slowness is decided by the test, not by the machine.
 */

const EPOCH = 7;
const MAX_IN_FLIGHT = 4;
const MAX_QUEUED = 8;
/** Listed in one frame, ~1.4 MB: over the limit like the 40,000 of the report, at a third of the simulator's start-up. */
const BULK_ACCOUNTS = 15_000;
/** 2 MiB of password: the result cannot fit in a 1 MiB frame. */
const BIG_PASSWORD_CHARS = 2 * 1024 * 1024;

let ws: Workspace;
let gated: GatedSimulator;
let large: PmpSimulator;
let raw: RawController;
let gw: InProcessGateway;
let conn: RawConnection;

beforeAll(async () => {
  ws = makeWorkspace('gw-commands');
  gated = await startGatedSimulator(ws.tls);
  large = await startPmpSimulator({ tls: ws.tls, data: largeSampleData({ accounts: BULK_ACCOUNTS, passwordChars: BIG_PASSWORD_CHARS }) });
  raw = await startRawController({ token: CONTROLLER_TOKEN, tls: ws.tls, role: 'active', epoch: EPOCH });
  ({ gw, conn } = await startActiveBehindRaw(
    ws,
    raw,
    gatewayConfig(ws, {
      gatewayId: 'gw-cmd',
      clusterId: 'site-cmd',
      controllerUrl: raw.wsUrl,
      vaults: [simVault(ws, 'pmp-gated', gated.sim), simVault(ws, 'pmp-large', large)],
      limits: { maxInFlight: MAX_IN_FLIGHT, maxQueued: MAX_QUEUED },
      logLevel: 'info',
    }),
  ));
}, 60_000);

afterAll(async () => {
  // Held answers would keep the gated simulator's sockets busy.
  gated?.releaseAll();
  await gw?.stop();
  await raw?.close();
  await gated?.close();
  await large?.close();
  ws?.cleanup();
});

const gp = (vault: string, res: object, accountId: string): Record<string, unknown> => ({ vault, resource: res, accountId, requestedBy: 'alice@example.com' });

/** Results go out in order on one socket: once a later command is answered, no earlier result is still coming. */
async function settled(tag: string): Promise<void> {
  await conn.command({ id: `after-${tag}`, epoch: EPOCH, name: 'listAccounts', params: { vault: 'pmp-large', resource: resource('301'), limit: 1 } });
}

describe('admission queue (protocol section 5)', () => {
  it(`absorbs a burst of maxInFlight + maxQueued commands and refuses only what finds the queue full`, async () => {
    const ids = Array.from({ length: MAX_IN_FLIGHT + MAX_QUEUED + 2 }, (_, i) => `burst-${i}`);
    for (const id of ids) conn.send({ type: 'command', id, epoch: EPOCH, name: 'getPassword', timeoutMs: 60_000, params: gp('pmp-gated', resource('301'), '902') });
    await waitFor(() => gw.gateway.dispatcher.inFlight === MAX_IN_FLIGHT && gw.gateway.dispatcher.queued === MAX_QUEUED, 'slots and queue full');
    expect(gw.gateway.status()).toMatchObject({ inFlight: MAX_IN_FLIGHT, queued: MAX_QUEUED });
    expect(await gw.gateway.metrics.render()).toMatch(new RegExp(`^credgw_commands_queued ${MAX_QUEUED}$`, 'm'));

    await gated.release(waitFor(() => ids.every((id) => conn.resultsFor(id).length > 0), 'a result for every burst command', 30_000));
    await settled('burst');
    const results = ids.map((id) => conn.resultsFor(id)[0]!);
    for (const id of ids) expect(conn.resultsFor(id)).toHaveLength(1);
    const codes = results.map((r) => (r['ok'] === true ? 'ok' : (r['error'] as { code: string }).code));
    expect(codes).toEqual([...Array<string>(MAX_IN_FLIGHT + MAX_QUEUED).fill('ok'), 'OVERLOADED', 'OVERLOADED']);
    expect(gw.gateway.status()).toMatchObject({ inFlight: 0, queued: 0 });
    expect(await gw.gateway.metrics.render()).toMatch(new RegExp(`^credgw_command_queue_wait_seconds_count ${MAX_QUEUED}$`, 'm'));
  });
});

describe('results that do not fit in one frame (protocol section 5)', () => {
  it('lists a resource of more accounts than one frame holds in pages: totalAccounts, nextOffset until the last page', async () => {
    const list = (id: string, extra: Record<string, unknown>): Promise<RawFrame> =>
      conn.command({ id, epoch: EPOCH, name: 'listAccounts', params: { vault: 'pmp-large', resource: resource('401'), ...extra } }, 30_000);
    const first = await list('page-default', {});
    expect(first).toMatchObject({ ok: true, data: { resourceId: '401', resourceName: 'Bulk_Host', totalAccounts: BULK_ACCOUNTS, nextOffset: 500 } });
    expect((first['data'] as { accounts: unknown[] }).accounts).toHaveLength(500);

    const seen = new Set<string>();
    let offset: number | undefined = 0;
    let pages = 0;
    while (offset !== undefined) {
      const page = await list(`page-${offset}`, { offset, limit: 1000 });
      const data = page['data'] as { accounts: Array<{ accountId: string }>; totalAccounts: number; nextOffset?: number };
      expect(data.totalAccounts).toBe(BULK_ACCOUNTS);
      for (const a of data.accounts) seen.add(a.accountId);
      offset = data.nextOffset;
      pages++;
    }
    expect(pages).toBe(Math.ceil(BULK_ACCOUNTS / 1000));
    expect(seen.size).toBe(BULK_ACCOUNTS);

    const bad = await list('page-bad', { limit: 1001 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', retryable: false } });
  });

  it('answers RESULT_TOO_LARGE for the same id when a result would exceed the frame limit (a 2 MiB password)', async () => {
    const result = await conn.command({ id: 'big-secret', epoch: EPOCH, name: 'getPassword', params: gp('pmp-large', resource('402'), '3000000') }, 30_000);
    expect(result).toEqual({ type: 'result', id: 'big-secret', epoch: EPOCH, ok: false, error: { code: 'RESULT_TOO_LARGE', message: expect.any(String), retryable: false } });
    await settled('big-secret');
    expect(conn.resultsFor('big-secret')).toHaveLength(1);
    expect(gw.logs.find('result too large for a frame, sent RESULT_TOO_LARGE')).toHaveLength(1);
    expect(gw.logs.text()).not.toContain('connection gone');
    await waitFor(() => /"commandId":"big-secret".*"outcome":"RESULT_TOO_LARGE"/.test(auditText(ws, 'gw-cmd')), 'the audit event of big-secret');
    const audit = auditText(ws, 'gw-cmd');
    const secret = 'S'.repeat(64);
    expectNoSecrets('gw-cmd log', gw.logs.text(), [secret]);
    expectNoSecrets('gw-cmd audit', audit, [secret]);
  });
});

describe('duplicate ids (protocol section 5)', () => {
  it('a malformed duplicate of a command in flight joins it: one result, the original one', async () => {
    const frame = { id: 'dup-malformed', epoch: EPOCH, name: 'getPassword', timeoutMs: 20_000, params: gp('pmp-gated', resource('301'), '902') };
    const joinedBefore = gw.gateway.dispatcher.stats().joined;
    const result = conn.command(frame, 20_000);
    await waitFor(() => gw.gateway.dispatcher.inFlight === 1, 'the first copy in flight');
    conn.send({ type: 'command', id: 'dup-malformed', epoch: EPOCH, name: 'getPassword', params: 'not an object' });
    await waitFor(() => gw.gateway.dispatcher.stats().joined === joinedBefore + 1, 'the malformed copy joined');
    await expect(gated.release(result)).resolves.toMatchObject({ id: 'dup-malformed', ok: true, data: { password: 'Sim-Adm1n-Pass!' } });
    await settled('dup');
    expect(conn.resultsFor('dup-malformed')).toHaveLength(1);
  });
});
