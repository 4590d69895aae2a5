import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import {
  auditText,
  CONTROLLER_TOKEN,
  gatewayConfig,
  makeWorkspace,
  resource,
  simVault,
  startInProcess,
  submit,
  waitActive,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';
import { startHostileVault, type HostileVault } from '../helpers/hostile-vault.js';

/**
 * A real gateway (startDaemon, as `credgw run` builds it) whose vault echoes
 * the AUTHTOKEN header back: in a `Failed` envelope's message (which becomes
 * the error's detail, logged by `command failed`) and in an HTML error page.
 * Neither the profile's key nor anything shaped like a PMP key may reach a
 * log line, the audit trail or the controller; and the vault's log lines
 * name the vault once.
 */

const CLUSTER = 'site-hostile';
/** The profile's API key (not UUID-shaped: redacted because it is this profile's). */
const KEY = 'pmp-echo-key-5b7d0e';
/** Another PMP-shaped key the vault mentions (redacted for its shape). */
const OTHER_KEY = 'A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF';
const P = '/restapi/json/v1/resources';

let ws: Workspace;
let vault: HostileVault;
let ctl: ReferenceController;
let gw: InProcessGateway;

beforeAll(async () => {
  ws = makeWorkspace('gw-hostile');
  const tls = { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem };
  vault = await startHostileVault(tls);
  vault.handler = (req, res) => {
    const echoed = String(req.headers['authtoken']);
    if (req.url?.startsWith(`${P}/302/`)) {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(`<html><body><h1>HTTP Status 500</h1><p>AUTHTOKEN=${echoed}</p></body></html>`);
      return;
    }
    const message = `API key ${echoed} (also ${echoed.toUpperCase()}, ${OTHER_KEY.toLowerCase()}) is not associated to any resource.`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ operation: { name: 'GET RESOURCE ACCOUNTLIST', result: { status: 'Failed', message } } }));
  };
  ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls, heartbeatMs: 1000 });
  const pmp = { ...simVault(ws, 'pmp', vault), token: ws.secret('pmp-echo.token', KEY) };
  gw = await startInProcess(ws, gatewayConfig(ws, { gatewayId: 'gw-hostile', clusterId: CLUSTER, controllerUrl: ctl.wsUrl, vaults: [pmp] }));
  await waitActive(ctl, CLUSTER, 'gw-hostile', gw);
});

afterAll(async () => {
  await gw?.stop();
  await ctl?.close();
  await vault?.close();
  ws?.cleanup();
});

/** Fails when `text` holds the profile's key or the other key, in any case. */
function expectNoKey(where: string, text: string): void {
  const lower = text.toLowerCase();
  for (const key of [KEY, OTHER_KEY]) {
    if (lower.includes(key.toLowerCase())) throw new Error(`${where} contains the key ${key.slice(0, 4)}…`);
  }
}

it('a key echoed in a Failed message reaches neither the logs nor the result, and the detail says it was redacted', async () => {
  const [logsFrom, auditFrom] = [gw.logs.lines.length, auditText(ws, 'gw-hostile').length];
  const result = await submit(ctl, CLUSTER, 'listAccounts', { vault: 'pmp', resource: resource('301') });
  expect(result.error?.code).toBe('RESOURCE_NOT_FOUND');
  expectNoKey('the result', JSON.stringify(result));
  const failed = gw.logs.find('command failed').find((l) => l['id'] === result.id);
  expect(failed?.['detail']).toBe('API key [redacted] (also [redacted], [redacted]) is not associated to any resource.');
  expectNoKey('the logs', gw.logs.lines.slice(logsFrom).join(''));
  expectNoKey('the audit trail', auditText(ws, 'gw-hostile').slice(auditFrom));
});

it('a key echoed in an HTML 500 page reaches neither the logs nor the result', async () => {
  const [logsFrom, auditFrom] = [gw.logs.lines.length, auditText(ws, 'gw-hostile').length];
  const result = await submit(ctl, CLUSTER, 'listAccounts', { vault: 'pmp', resource: resource('302') });
  expect(result.error?.code).toBe('VAULT_ERROR');
  expectNoKey('the result', JSON.stringify(result));
  expectNoKey('the logs', gw.logs.lines.slice(logsFrom).join(''));
  expectNoKey('the audit trail', auditText(ws, 'gw-hostile').slice(auditFrom));
});

it('"vault request failed" names the vault once (pino writes a repeated binding twice, and JSON.parse would hide it)', async () => {
  const from = gw.logs.lines.length;
  await submit(ctl, CLUSTER, 'listAccounts', { vault: 'pmp', resource: resource('302') });
  const raw = gw.logs.lines.slice(from).filter((l) => l.includes('"msg":"vault request failed"'));
  expect(raw.length).toBeGreaterThanOrEqual(1);
  for (const line of raw) expect(line.match(/"vault":/g)).toHaveLength(1);
});

it('no line of the whole run holds a key (the health probes, which the vault also answers with the echo, included)', () => {
  expect(vault.streams.length).toBeGreaterThanOrEqual(1);
  expectNoKey('the logs', gw.logs.text());
  expectNoKey('the gateway status', JSON.stringify(gw.gateway.status()));
});
