import { join } from 'node:path';
import { request, Agent } from 'undici';
import type { VaultProfile } from '../../src/config/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { codeOf } from '../helpers/error-code.js';
import {
  PMP_VARIANTS,
  SAMPLE_ORG_NAME,
  SAMPLE_TOKEN,
  SAMPLE_TOKEN_ORG,
  SAMPLE_TOKEN_ORG_OWN,
  startPmpSimulator,
  type PmpSimulator,
  type PmpVariant,
} from '../../src/sim/pmp/index.js';
import { createVaultClient, type VaultClient } from '../../src/vault/index.js';
import { testPki } from '../helpers/pki.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * The gateway's vault client against every variant of the simulator, over
 * real TLS: whatever family of builds the simulator imitates (pam360 now
 * shaped like PAM360's recorded answers), the client lists, resolves,
 * reads notes, maps every account kind to its code and fetches passwords,
 * also after a password change through the API.
 */

const pki = testPki();


describe.each(PMP_VARIANTS.map((v) => [v]))('the vault client against the %s variant', (variant: PmpVariant) => {
  let sim: PmpSimulator;
  const clients: VaultClient[] = [];
  const client = (token: string, over: Partial<VaultProfile> = {}): VaultClient => {
    const profile = testVaultProfile(sim.url, { caFile: join(pki.dir, 'ca.crt'), maxConnections: 4, ...over });
    const c = createVaultClient(profile, { readToken: async () => token, clock: systemClock });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    sim = await startPmpSimulator({ tls: pki.server, variant });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => sim.close());

  it('probes, lists and resolves resources', async () => {
    const c = client(SAMPLE_TOKEN);
    await expect(c.probe()).resolves.toBeUndefined();
    expect((await c.listResources()).map((r) => r.name)).toEqual(['Windows_Jump_Box', 'Linux_Web_01', 'Decommissioned_Host']);
    await expect(c.resolveResource('linux_web_01')).resolves.toEqual({ id: '302', name: 'Linux_Web_01' });
  });

  it('lists accounts with their notes and flags', async () => {
    const c = client(SAMPLE_TOKEN, { includeAccountNotes: true });
    const list = await c.listAccounts('301');
    expect(list.accounts.map((a) => [a.name, a.notes, a.ticketIdRequired, a.reasonRequired])).toEqual([
      ['administrator', 'Domain admin for the jump box', false, false],
      ['svc_backup', 'Backup service; change ticket needed', true, false],
      ['auditor', undefined, false, true],
      ['breakglass', 'Emergency only: approval required', false, false],
    ]);
    await expect(c.accountNotes('302', '913')).resolves.toBe('DB owner');
    expect((await c.listAccounts('302')).accounts.find((a) => a.name === 'root')?.accessDenied).toBe(true);
  });

  it('maps every account kind of the password call to its result', async () => {
    const c = client(SAMPLE_TOKEN);
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    expect(await codeOf(c.getPassword('301', '903', {}))).toBe('TICKET_ID_REQUIRED');
    await expect(c.getPassword('301', '903', { ticketId: 'INC-1' })).resolves.toMatchObject({ password: 'Sim-Backup-Pass!' });
    expect(await codeOf(c.getPassword('301', '904', {}))).toBe('REASON_REQUIRED');
    await expect(c.getPassword('302', '913', { ticketId: 'T', reason: 'R' })).resolves.toMatchObject({ password: 'Sim-Oracle-Pass!' });
    expect(await codeOf(c.getPassword('302', '911', { ticketId: 'T', reason: 'R' }))).toBe('ACCESS_DENIED');
    expect(await codeOf(c.getPassword('301', '905', {}))).toBe('APPROVAL_REQUIRED');
    await expect(c.getPassword('302', '912', {})).resolves.toMatchObject({ password: 'Sim-Deploy-Pass!', accountName: 'deploy' });
  });

  it('works for organisation users: the own organisation without orgName, another one named', async () => {
    await expect(client(SAMPLE_TOKEN_ORG_OWN).getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    await expect(client(SAMPLE_TOKEN_ORG, { orgName: SAMPLE_ORG_NAME }).getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    expect(await codeOf(client(SAMPLE_TOKEN_ORG).probe())).toBe('ACCESS_DENIED');
  });

  it('fetches the new password after a change through the API', async () => {
    const c = client(SAMPLE_TOKEN);
    await expect(c.getPassword('302', '912', {})).resolves.toMatchObject({ password: 'Sim-Deploy-Pass!' });
    const agent = new Agent({ connect: { ca: [pki.ca.certPem] } });
    try {
      const body = `INPUT_DATA=${encodeURIComponent("{'operation': {'Details': {'NEWPASSWORD': 'Changed-Deploy-Pass!'}}}")}`;
      const res = await request(`${sim.url}/restapi/json/v1/resources/302/accounts/912/password`, { method: 'PUT', headers: { AUTHTOKEN: SAMPLE_TOKEN }, body, dispatcher: agent });
      expect(JSON.parse(await res.body.text()).operation.result.status).toBe('Success');
    } finally {
      await agent.close();
    }
    await expect(c.getPassword('302', '912', {})).resolves.toMatchObject({ password: 'Changed-Deploy-Pass!' });
  });
});
