import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { compileConfig } from '../../src/config/compile.js';
import { Gateway } from '../../src/daemon/gateway.js';
import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { testPki } from '../helpers/pki.js';

describe('gateway smoke', () => {
  const pki = testPki();
  let dir: string;
  let sim: PmpSimulator;
  let ctl: ReferenceController;
  let gw: Gateway;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'credgw-smoke-'));
    writeFileSync(join(dir, 'ctl.token'), 'controller-token-1', { mode: 0o600 });
    writeFileSync(join(dir, 'pmp.token'), SAMPLE_TOKEN, { mode: 0o600 });
    sim = await startPmpSimulator({ port: 0, tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem } });
    ctl = await startReferenceController({ tokens: ['controller-token-1'], tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem }, heartbeatMs: 200 });
    const config = compileConfig({
      gatewayId: 'gw-a',
      clusterId: 'site-1',
      controller: { url: ctl.wsUrl, token: `file://${join(dir, 'ctl.token')}`, caFile: join(pki.dir, 'ca.crt') },
      vaults: [{ name: 'pmp', url: sim.url, token: `file://${join(dir, 'pmp.token')}`, caFile: join(pki.dir, 'ca.crt'), includeAccountNotes: true }],
      telemetry: { listen: null, audit: join(dir, 'audit.log') },
    });
    gw = new Gateway(config, { logger: pino({ level: 'silent' }) });
    await gw.start();
  });

  afterAll(async () => {
    await gw?.stop();
    await ctl?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a console launch through the reference controller', async () => {
    const resource = { id: 'opsramp-1', customAttributes: { 'PMP Resource ID': 'Windows_Jump_Box' } };
    const list = await ctl.submit('site-1', { name: 'listAccounts', params: { vault: 'pmp', resource }, timeoutMs: 10000 });
    expect(list).toMatchObject({ status: 200 });
    const pw = await ctl.submit('site-1', { name: 'getPassword', params: { vault: 'pmp', resource, accountId: '902', ticketId: 'INC-1' }, timeoutMs: 10000 });
    expect(JSON.stringify(pw)).toContain('Sim-Adm1n-Pass!');
    console.log(JSON.stringify(list).slice(0, 600));
  });
});
