import { ERROR_RETRYABLE } from '../../src/shared/errors.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import {
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  makeWorkspace,
  resource,
  simVault,
  startActiveBehindRaw,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { monitorLoopStalls } from '../helpers/loop-stall.js';
import { rsaPublicKeyPem } from '../helpers/pki.js';
import { startRawController, type RawConnection, type RawController } from '../helpers/raw-controller.js';

/**
 * Hostile recipient keys over a real socket to an in-process gateway (the
 * event loop measured is the gateway's): each is refused with BAD_REQUEST
 * before any PMP call, no frame holds the event loop for 50 ms or more, and
 * the link and the command queued behind them survive. A key of the largest
 * accepted shape is sealed in the same window.
 */

const EPOCH = 3;
/** The longest any one frame may hold the gateway's event loop (the bound). */
const MAX_LOOP_DELAY_MS = 50;

let ws: Workspace;
let sim: PmpSimulator;
let raw: RawController;
let gw: InProcessGateway;
let conn: RawConnection;

beforeAll(async () => {
  ws = makeWorkspace('recipient-key');
  sim = await startPmpSimulator({ tls: ws.tls });
  raw = await startRawController({ token: CONTROLLER_TOKEN, tls: ws.tls, epoch: EPOCH });
  ({ gw, conn } = await startActiveBehindRaw(ws, raw, gatewayConfig(ws, { gatewayId: 'gw-key', clusterId: 'site-key', controllerUrl: raw.wsUrl, vaults: [simVault(ws, 'pmp', sim)] })));
  // The vault connection (its TLS handshake) and the command path made before anything is measured.
  await conn.command(getPassword('warm-up'));
});

afterAll(async () => {
  await gw?.stop();
  await raw?.close();
  await sim?.close();
  ws?.cleanup();
});

const getPassword = (id: string, recipientKey?: string): { id: string; [key: string]: unknown } => ({
  id,
  epoch: EPOCH,
  name: 'getPassword',
  timeoutMs: 30_000,
  params: { vault: 'pmp', resource: resource('301'), accountId: '902', requestedBy: 'alice@example.com', ...(recipientKey ? { recipientKey } : {}) },
});

const HOSTILE: Array<[string, string, RegExp]> = [
  ['8192-bit modulus, 8192-bit exponent', rsaPublicKeyPem({ modulusBits: 8192, exponent: (1n << 8191n) | 1n }), /public exponent/],
  ['16384-bit modulus, 16384-bit exponent', rsaPublicKeyPem({ modulusBits: 16384, exponent: (1n << 16383n) | 1n }), /at most 8192/],
  ['8193-bit modulus', rsaPublicKeyPem({ modulusBits: 8193 }), /at most 8192/],
  ['exponent 2^32 + 1', rsaPublicKeyPem({ modulusBits: 4096, exponent: 2n ** 32n + 1n }), /public exponent/],
  ['an even exponent, PKCS#1', rsaPublicKeyPem({ modulusBits: 4096, exponent: 65536n, type: 'pkcs1' }), /public exponent/],
  ['2047-bit modulus', rsaPublicKeyPem({ modulusBits: 2047 }), /at least 2048/],
];

it('refuses hostile recipient keys with BAD_REQUEST before any PMP call, holding the event loop under 50 ms per frame', async () => {
  const fetchesBefore = sim.stats().passwordFetches;
  const largest = rsaPublicKeyPem({ modulusBits: 8192 });
  const loop = monitorLoopStalls();
  // One at a time, so that the measure is per frame; each checked as it comes (a refusal missed goes on to seal).
  for (const [i, [what, pem, message]] of HOSTILE.entries()) {
    const result = await conn.command(getPassword(`hostile-${i}`, pem), 20_000);
    expect([what, result]).toEqual([
      what,
      { type: 'result', id: `hostile-${i}`, epoch: EPOCH, ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(message), retryable: ERROR_RETRYABLE.BAD_REQUEST } },
    ]);
  }
  const [sealedResult, plainResult] = await Promise.all([conn.command(getPassword('largest-key', largest), 20_000), conn.command(getPassword('after-hostile'), 20_000)]);
  const heldMs = loop.stop();

  expect(sealedResult).toMatchObject({ ok: true, data: { resourceId: '301', accountId: '902' } });
  expect(sealedResult['data']).not.toHaveProperty('password');
  expect(Buffer.from(String((sealedResult['data'] as Record<string, unknown>)['sealedPassword']), 'base64')).toHaveLength(8192 / 8);
  expect(plainResult).toMatchObject({ ok: true, data: { password: 'Sim-Adm1n-Pass!' } });
  // Two password calls: the largest key's and the plain one; none for a refused key.
  expect(sim.stats().passwordFetches - fetchesBefore).toBe(2);
  expect(raw.connections).toHaveLength(1);
  expect(heldMs).toBeLessThan(MAX_LOOP_DELAY_MS);
});

it('logged no password', () => {
  expectNoSecrets('gw-key log', gw.logs.text());
});
