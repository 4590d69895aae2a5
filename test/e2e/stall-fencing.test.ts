import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeConfigDir } from '../../src/sim/gateway-process.js';
import { SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { GatewayProcess } from '../helpers/cluster-harness.js';
import { spawnGateway } from '../helpers/gateway-process.js';
import { testPki } from '../helpers/pki.js';
import { startRawController, type RawConnection, type RawController } from '../helpers/raw-controller.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Fencing after a stall, where the two sides' silences differ (protocol
 * section 2): the controller drops a gateway it has heard nothing from for
 * 3 heartbeats, counted from the last frame the gateway sent, which can be
 * older than the last frame the gateway read (a command read after its last
 * ping and not answered yet). A real `credgw run` process, frozen (SIGSTOP)
 * just after it read such a command and woken (SIGCONT) 3 heartbeats after
 * its last ping but before 3 after that read, must not run the command that
 * waited in its socket buffer meanwhile: a controller has given the role to
 * another gateway by then.
 *
 * The raw controller in this process sends no pings and drops no one, so
 * the test alone decides what the gateway reads and when it wakes; the
 * heartbeat is long (1 s) so that the windows below are hundreds of ms wide.
 */

jest.setTimeout(60_000);
const TOKEN = 'e2e-stall-ctl-token-4b2e';
const HEARTBEAT_MS = 1000;
/** LIVENESS_HEARTBEATS × HEARTBEAT_MS. */
const DEADLINE_MS = 3 * HEARTBEAT_MS;
const EPOCH = 7;
/** Attempts at setting the scene up before giving up (a loaded machine can miss a window). */
const ATTEMPTS = 3;

const pki = testPki();
let dir: string;
let sim: PmpSimulator;
let ctl: RawController;
let gw: GatewayProcess | undefined;

const sleepUntil = (t: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

function getPassword(id: string): { id: string; epoch: number; name: string; timeoutMs: number; params: Record<string, unknown> } {
  return {
    id,
    epoch: EPOCH,
    name: 'getPassword',
    timeoutMs: 10_000,
    params: {
      vault: 'pmp',
      resource: { id: 'e2e-resource', customAttributes: { 'PMP Resource ID': '301' } },
      accountId: '902',
      ticketId: 'INC-E2E',
      reason: 'e2e stall fencing test',
      requestedBy: 'e2e@example.com',
    },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-e2e-stall-'));
  writeFileSync(join(dir, 'ctl.token'), `${TOKEN}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'pmp.token'), `${SAMPLE_TOKEN}\n`, { mode: 0o600 });
  const tls = { certPem: pki.server.certPem, keyPem: pki.server.keyPem };
  sim = await startPmpSimulator({ port: 0, tls });
  ctl = await startRawController({ token: TOKEN, tls, role: 'active', epoch: EPOCH, heartbeatMs: HEARTBEAT_MS });
  const configDir = join(dir, 'gw');
  const auditFile = join(configDir, 'audit.jsonl');
  const ca = join(pki.dir, 'ca.crt');
  writeConfigDir(configDir, {
    gatewayId: 'gw-stall',
    clusterId: 'site-stall',
    priority: 100,
    controller: { url: ctl.wsUrl, token: pathToFileURL(join(dir, 'ctl.token')).href, insecure: false, caFile: ca },
    vaults: [{ name: 'pmp', url: sim.url, token: pathToFileURL(join(dir, 'pmp.token')).href, caFile: ca, timeoutMs: 2000 }],
    telemetry: { listen: null, logLevel: 'info', audit: auditFile },
  });
  gw = new GatewayProcess('gw-stall', spawnGateway(configDir).child, auditFile);
});

afterAll(async () => {
  if (gw?.running) {
    gw.signal('SIGCONT');
    gw.signal('SIGKILL');
  }
  await gw?.exited;
  await ctl?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Times (Date.now()) at which `conn` received the gateway's pings, and the controller's pongs. */
function watch(conn: RawConnection): { pings: number[]; pongs: number[] } {
  const seen = { pings: [] as number[], pongs: [] as number[] };
  conn.ws.on('ping', () => seen.pings.push(Date.now()));
  conn.ws.on('pong', () => seen.pongs.push(Date.now()));
  return seen;
}

/** How many times the gateway logged its link's liveness failure. */
function wentSilent(): number {
  return gw!.logs().filter((l) => l['msg'] === 'controller went silent').length;
}

describe('a gateway woken from a stall', () => {
  it('3 heartbeats after its last ping runs nothing from its socket buffer, though it read a command less than 3 heartbeats before', async () => {
    const failures: string[] = [];
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const conn = await ctl.current(15_000);
      const seen = watch(conn);
      const silentBefore = wentSilent();
      // It serves at this epoch (and the resource is known from now on).
      const warm = await conn.command(getPassword(`warm-${attempt}`), 15_000);
      expect(warm).toMatchObject({ ok: true, epoch: EPOCH });

      // Its next ping (p); the one after is due at p + HEARTBEAT_MS.
      const n = seen.pings.length;
      await waitFor(() => seen.pings.length > n, 'a ping from the gateway', 3 * HEARTBEAT_MS);
      const pingAt = seen.pings.at(-1)!;
      // Well after that ping, a command it reads and does not answer yet: its vault is slow.
      await sleepUntil(pingAt + HEARTBEAT_MS / 2);
      sim.setLatency(HEARTBEAT_MS);
      const fetches = sim.stats().passwordFetches;
      const sentAt = Date.now();
      conn.send({ type: 'command', ...getPassword(`running-${attempt}`) });
      await waitFor(() => sim.stats().passwordFetches > fetches, 'its vault call', HEARTBEAT_MS);
      gw!.signal('SIGSTOP');
      // A controller would have heard nothing from it since its ping; this command waits in its socket buffer.
      conn.send({ type: 'command', ...getPassword(`buffered-${attempt}`) });
      const fetchesBefore = sim.stats().passwordFetches;
      const auditBefore = gw!.audit().length;
      // Woken 3 heartbeats after its ping (a controller has dropped it by then), not 3 after it read the command.
      await sleepUntil(pingAt + DEADLINE_MS + HEARTBEAT_MS / 4);
      const contAt = Date.now();
      gw!.signal('SIGCONT');
      sim.setLatency(0);
      // Frames it wrote before the stop have arrived by now: no ping after p means it sent nothing since.
      const scene =
        seen.pings.filter((t) => t > pingAt).length === 0 && contAt >= pingAt + DEADLINE_MS + 50 && contAt <= sentAt + DEADLINE_MS - 50;
      // Served (a result comes back) or not (the gateway ends the connection, the wait fails).
      const outcome = await conn.waitFor((f) => f.type === 'result' && f.id === `buffered-${attempt}`, 15_000).then(
        () => 'served',
        () => 'dropped',
      );
      if (!scene) {
        failures.push(
          `attempt ${attempt}: ${outcome}; pings after p: ${seen.pings.filter((t) => t > pingAt).length}, command read sent at p+${sentAt - pingAt}, woken at p+${contAt - pingAt} ms`,
        );
        continue;
      }

      expect(outcome).toBe('dropped');
      expect(conn.resultsFor(`buffered-${attempt}`)).toEqual([]);
      // The link ended for liveness (the gateway terminated it) and it dialled again.
      expect((await conn.closed).code).toBe(1006);
      const next = await ctl.current(15_000);
      expect(wentSilent()).toBe(silentBefore + 1);
      // Nothing of the command reached the vault or the audit trail.
      expect(sim.stats().passwordFetches).toBe(fetchesBefore);
      expect(gw!.audit().slice(auditBefore).map((e) => e.commandId)).not.toContain(`buffered-${attempt}`);
      // And it serves again on the new connection.
      expect(await next.command(getPassword(`after-${attempt}`), 15_000)).toMatchObject({ ok: true, epoch: EPOCH });
      return;
    }
    throw new Error(`the scene could not be set up in ${ATTEMPTS} attempts (machine too slow?):\n${failures.join('\n')}`);
  });
});
