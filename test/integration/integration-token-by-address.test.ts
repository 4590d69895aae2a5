import { startReferenceController, type ReferenceController } from '../../src/sim/controller/index.js';
import { PMP_VARIANTS, SAMPLE_APP_TOKEN, SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator, type PmpVariant } from '../../src/sim/pmp/index.js';
import {
  CONTROLLER_TOKEN,
  expectNoSecrets,
  gatewayConfig,
  makeWorkspace,
  simVault,
  startInProcess,
  submit,
  waitActive,
  type InProcessGateway,
  type Workspace,
} from '../helpers/gateway-harness.js';

/**
 * Issue 13's "done": a gateway configured with a PAM360 integration token
 * (APP_AUTHTOKEN + APP_NAME) and mapping by address serves the console
 * launch (listAccounts, then getPassword) for a resource the cloud knows only
 * by its host name, against the simulator in each of its variants, over real
 * TLS and the reference controller.
 */

describe.each(PMP_VARIANTS.map((v) => [v]))('integration token and mapping by host name against the %s variant', (variant: PmpVariant) => {
  let ws: Workspace;
  let sim: PmpSimulator;
  let ctl: ReferenceController;
  let gw: InProcessGateway;
  const cluster = `site-app-${variant}`;

  beforeAll(async () => {
    ws = makeWorkspace(`app-token-${variant}`);
    const tls = { certPem: ws.pki.server.certPem, keyPem: ws.pki.server.keyPem };
    sim = await startPmpSimulator({ tls, variant });
    ctl = await startReferenceController({ tokens: [CONTROLLER_TOKEN], tls });
    const vault = simVault(ws, 'pmp', sim, {
      token: ws.secret('pmp-app.token', SAMPLE_APP_TOKEN),
      tokenKind: 'integration',
      appName: 'credgw',
      resourceMatch: ['hostName', 'attribute'],
      dnsIndex: { maxCallsPerMinute: 6000 },
    });
    gw = await startInProcess(ws, gatewayConfig(ws, { gatewayId: `gw-app-${variant}`, clusterId: cluster, controllerUrl: ctl.wsUrl, vaults: [vault] }));
    await waitActive(ctl, cluster, `gw-app-${variant}`, gw);
  });

  afterAll(async () => {
    await gw?.stop();
    await ctl?.close();
    await sim?.close();
    ws?.cleanup();
  });

  it('lists the accounts and fetches a password of a resource known only by its host name', async () => {
    const listed = await submit(ctl, cluster, 'listAccounts', { vault: 'pmp', resource: { id: 'cloud-web01', hostName: 'WEB01.corp.example.' } });
    expect(listed).toMatchObject({ ok: true, data: { resourceId: '302', resourceName: 'Linux_Web_01' } });
    // 912 (deploy) is shared with the gateway; 911 (root) is not, by design of the sample data.
    const accountId = (listed.data as { accounts: { accountId: string; accountName: string }[] }).accounts.find((a) => a.accountName === 'deploy')!.accountId;
    const fetched = await submit(ctl, cluster, 'getPassword', {
      vault: 'pmp',
      resource: { id: 'cloud-web01', hostName: 'web01.corp.example' },
      accountId,
      ticketId: 'INC-1042',
      reason: 'console launch',
    });
    expect(fetched.error).toBeUndefined();
    expect(fetched).toMatchObject({ ok: true, data: { resourceId: '302', accountId: '912', password: 'Sim-Deploy-Pass!' } });
    expectNoSecrets('gateway logs', gw.logs.text(), [SAMPLE_APP_TOKEN, SAMPLE_TOKEN]);
  });
});
