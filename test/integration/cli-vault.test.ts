import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCredgw } from '../helpers/cli.js';
import { startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { spkiPinFromPem } from '../../src/tls/pin.js';
import { testPki } from '../helpers/pki.js';

/**
 * The vault and cert commands, in-process, against the PMP simulator over
 * real TLS on 127.0.0.1 (port 0).
 */


let sim: PmpSimulator;
let dir: string;
let caFile: string;
let token: string;
let env: NodeJS.ProcessEnv;
const run = (...args: string[]) => runCredgw(['--config-dir', dir, ...args], env);
const configFile = () => join(dir, 'config.json');

beforeAll(async () => {
  sim = await startPmpSimulator({ port: 0 });
  token = sim.tokens[0]!;
});
afterAll(async () => {
  await sim.close();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-cli-vault-'));
  caFile = join(dir, 'sim.pem');
  writeFileSync(caFile, sim.certPem);
  env = { PMP_SIM_TOKEN: token, WRONG_TOKEN: 'not-a-valid-key' };
  expect((await run('vault', 'add', 'sim', '--url', sim.url, '--token', 'env://PMP_SIM_TOKEN', '--ca-file', caFile)).code).toBe(0);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function noSecrets(...texts: string[]): void {
  for (const t of texts) {
    expect(t).not.toContain(token);
    expect(t).not.toContain('Sim-Adm1n-Pass!');
  }
}

describe('credgw vault test', () => {
  it('passes every check against a trusted vault with a good key', async () => {
    const res = await run('vault', 'test', 'sim');
    expect(res.code).toBe(0);
    const lines = res.out.trimEnd().split('\n');
    expect(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['ok dns', 'ok tcp', 'ok tls', 'ok auth']);
    expect(res.out).toContain(sim.pin);
    noSecrets(res.out, res.err);
  });

  it('reads credential://credgw_NAME from <config dir>/credentials/NAME outside systemd, as the unit would load it', async () => {
    mkdirSync(join(dir, 'credentials'), { mode: 0o750 });
    writeFileSync(join(dir, 'credentials', 'sim'), `${token}\n`, { mode: 0o640 });
    expect((await run('config', 'set', 'vaults.sim.token', 'credential://credgw_sim')).code).toBe(0);
    const res = await run('vault', 'test', 'sim');
    expect(res.err).toBe('');
    expect(res.out).toMatch(/^ok\s+auth\s/m);
    expect(res.code).toBe(0);
    expect((await run('vault', 'accounts', 'sim', '301')).code).toBe(0);

    expect((await run('config', 'set', 'vaults.sim.token', 'credential://credgw_absent')).code).toBe(0);
    const absent = await run('vault', 'test', 'sim');
    expect(absent.code).toBe(1);
    expect(absent.out + absent.err).toContain(`credential://credgw_absent: ${join(dir, 'credentials', 'absent')} does not exist`);
    noSecrets(res.out, res.err, absent.out, absent.err);
  });

  it('fails the auth line with a wrong key, and the tls line with an untrusted certificate', async () => {
    expect((await run('config', 'set', 'vaults.sim.token', 'env://WRONG_TOKEN')).code).toBe(0);
    const wrong = await run('vault', 'test', 'sim');
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/^FAIL\s+auth\s+ACCESS_DENIED: /m);
    expect(wrong.out).not.toContain('not-a-valid-key');

    expect((await run('config', 'unset', 'vaults.sim.caFile')).code).toBe(0);
    const untrusted = await run('vault', 'test', 'sim');
    expect(untrusted.code).toBe(1);
    expect(untrusted.out).toMatch(/^FAIL\s+tls\s+not trusted by system roots/m);
    expect(untrusted.out).not.toMatch(/auth/);
  });
});

describe('credgw vault accounts / password', () => {
  it('lists the accounts of a resource given by ID or by name', async () => {
    const byId = await run('vault', 'accounts', 'sim', '301');
    expect(byId.code).toBe(0);
    expect(byId.out).toMatch(/^resource 301 Windows_Jump_Box: 4 accounts\n/);
    expect(byId.out).toMatch(/^902\s+administrator\s+-/m);
    expect(byId.out).toMatch(/^903\s+svc_backup\s+ticket-id/m);
    const byName = await run('vault', 'accounts', 'sim', 'Windows_Jump_Box');
    expect(byName.out).toBe(byId.out);
    const json = JSON.parse((await run('vault', 'accounts', 'sim', '301', '--json')).out) as { accounts: unknown[] };
    expect(json.accounts).toHaveLength(4);
    const notes = await run('vault', 'accounts', 'sim', '301', '--notes');
    expect(notes.out).toMatch(/^902\s+administrator\s+-\s+Domain admin for the jump box$/m);
    noSecrets(byId.out, byId.err);
  });

  it('an unknown resource is RESOURCE_NOT_FOUND (exit 1, one line)', async () => {
    const res = await run('vault', 'accounts', 'sim', 'No_Such_Host');
    expect(res.code).toBe(1);
    expect(res.out).toBe('');
    expect(res.err).toMatch(/^error: RESOURCE_NOT_FOUND: [^\n]+\n$/);
  });

  it('confirms a fetch without printing the password; --reveal prints only the password', async () => {
    const hidden = await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'administrator');
    expect(hidden.code).toBe(0);
    expect(hidden.out).toBe(
      'fetched the password of administrator (account 902) on Windows_Jump_Box (resource 301); not shown: add --reveal to print it\n',
    );
    noSecrets(hidden.out, hidden.err);

    const shown = await run('vault', 'password', 'sim', '301', '902', '--reveal');
    expect(shown).toEqual({ code: 0, out: 'Sim-Adm1n-Pass!\n', err: '' });
  });

  it('passes --ticket-id and --reason, and reports the error codes PMP decides', async () => {
    const noTicket = await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'svc_backup');
    expect(noTicket.code).toBe(1);
    expect(noTicket.err).toMatch(/^error: TICKET_ID_REQUIRED: [^\n]+\n$/);
    const ticket = await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'svc_backup', '--ticket-id', 'INC-1042', '--reveal');
    expect(ticket).toEqual({ code: 0, out: 'Sim-Backup-Pass!\n', err: '' });

    expect((await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'auditor')).err).toMatch(/^error: REASON_REQUIRED: /);
    expect((await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'auditor', '--reason', 'audit')).code).toBe(0);
    expect((await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'breakglass')).err).toMatch(/^error: APPROVAL_REQUIRED: /);
    expect((await run('vault', 'password', 'sim', 'Linux_Web_01', 'root')).err).toMatch(/^error: ACCESS_DENIED: /);
    const none = await run('vault', 'password', 'sim', 'Windows_Jump_Box', 'nobody');
    expect(none).toEqual({ code: 1, out: '', err: 'error: ACCOUNT_NOT_FOUND: no account "nobody" on Windows_Jump_Box\n' });
  });

  it('a missing token is one clear line naming the reference', async () => {
    delete env['PMP_SIM_TOKEN'];
    const res = await run('vault', 'accounts', 'sim', '301');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: VAULT_ERROR: the vault API key cannot be read \(env:\/\/PMP_SIM_TOKEN: environment variable PMP_SIM_TOKEN is not set\)\n$/);
  });

  it('--verbose logs vault calls to stderr, never the key or the password', async () => {
    const res = await run('--verbose', 'vault', 'password', 'sim', '301', 'administrator');
    expect(res.code).toBe(0);
    expect(res.err).not.toBe('');
    for (const line of res.err.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    noSecrets(res.out, res.err);
  });
});

describe('credgw cert', () => {
  it('show prints subject, issuer, validity, fingerprint and the SPKI pin', async () => {
    const res = await run('cert', 'show', sim.url);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/^server\s+: 127\.0\.0\.1:\d+$/m);
    expect(res.out).toMatch(/^subject\s+: .+$/m);
    expect(res.out).toMatch(/^issuer\s+: .+$/m);
    expect(res.out).toMatch(/^valid from\s+: .+$/m);
    expect(res.out).toMatch(/^valid to\s+: .+$/m);
    expect(res.out).toMatch(/^SHA-256\s+: ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
    expect(res.out).toContain(`SPKI pin     : ${sim.pin}`);
    expect(res.out).toMatch(/^system trust\s+: no \(/m);
  });

  it('show: an address nobody listens on is VAULT_UNREACHABLE', async () => {
    const res = await run('cert', 'show', '127.0.0.1:1');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: VAULT_UNREACHABLE: cannot get the certificate of 127\.0\.0\.1:1/);
  });

  it('trust --yes pins the profile to the presented certificate, keeping the file mode', async () => {
    expect((await run('config', 'unset', 'vaults.sim.caFile')).code).toBe(0);
    chmodSync(configFile(), 0o640);
    const res = await run('cert', 'trust', 'sim', '--yes');
    expect(res.code).toBe(0);
    expect(res.out).toContain(`SPKI pin     : ${sim.pin}`);
    expect(res.out).toContain(`pinned vault "sim" to ${sim.pin} in ${configFile()}`);
    const raw = JSON.parse(readFileSync(configFile(), 'utf8')) as { vaults: Array<{ pinSha256?: string }> };
    expect(raw.vaults[0]!.pinSha256).toBe(sim.pin);
    expect(statSync(configFile()).mode & 0o777).toBe(0o640);
    // Pinned alone (no CA file), the profile now works end to end.
    expect((await run('vault', 'test', 'sim')).code).toBe(0);
    expect((await run('vault', 'password', 'sim', '301', '902', '--reveal')).out).toBe('Sim-Adm1n-Pass!\n');
    const again = await run('cert', 'trust', 'sim', '--yes');
    expect(again.out).toContain('already pinned to this certificate; nothing changed');
  });

  it('a wrong pin is refused as VAULT_TLS_ERROR', async () => {
    expect((await run('config', 'unset', 'vaults.sim.caFile')).code).toBe(0);
    expect((await run('config', 'set', 'vaults.sim.pinSha256', spkiPinFromPem(testPki().otherCa.certPem))).code).toBe(0);
    const res = await run('vault', 'accounts', 'sim', '301');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^error: VAULT_TLS_ERROR: /);
  });

  it('trust without --yes refuses with a usage error when stdin is not a terminal', async () => {
    const res = await run('cert', 'trust', 'sim');
    expect(res).toEqual({ code: 2, out: '', err: 'error: USAGE: --yes is required when standard input is not a terminal\n' });
  });
});
