import { createServer } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { pino } from 'pino';
import type { VaultProfile } from '../../src/config/types.js';
import { systemClock } from '../../src/shared/clock.js';
import { GatewayError } from '../../src/shared/errors.js';
import { codeOf } from '../helpers/error-code.js';
import { SAMPLE_TOKEN, startPmpSimulator, type PmpSimulator } from '../../src/sim/pmp/index.js';
import { issueCertificate } from '../../src/tls/certificates.js';
import { spkiPinFromPem } from '../../src/tls/pin.js';
import {
  createVaultClient,
  VaultHealthMonitor,
  type VaultClient,
  type VaultHealthState,
} from '../../src/vault/index.js';
import { testVaultConnection } from '../../src/diagnose/index.js';
import { testPki } from '../helpers/pki.js';
import { testVaultProfile } from '../helpers/vault-profile.js';

/**
 * How the vault client trusts PMP: a CA file (the CA or the certificate
 * itself, as admins import it), a pin alone for a self-signed vault (the
 * leaf learned once, then full verification), both; and what it refuses
 * before the token is ever sent.
 */

const pki = testPki();
const caFile = join(pki.dir, 'ca.crt');

const readToken = async (): Promise<string> => SAMPLE_TOKEN;
const clients: VaultClient[] = [];
const sims: PmpSimulator[] = [];
function client(profile: VaultProfile): VaultClient {
  const c = createVaultClient(profile, { readToken, clock: systemClock });
  clients.push(c);
  return c;
}
async function startSim(cert: { certPem: string; keyPem: string }, port = 0): Promise<PmpSimulator> {
  const sim = await startPmpSimulator({ tls: cert, port });
  sims.push(sim);
  return sim;
}

/** A new self-signed certificate on an existing key (a renewal that keeps the pin). */
function reissue(keyPem: string, commonName: string): { certPem: string; keyPem: string } {
  const priv = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(priv.n, priv.e);
  cert.serialNumber = '02' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(priv, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

describe('trusted', () => {
  it('a CA-signed vault through caFile = the CA (hostname checked)', async () => {
    const sim = await startSim(pki.server);
    const c = client(testVaultProfile(sim.url, { caFile }));
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
  });

  it('a self-signed vault through caFile = its certificate (PAM360 importCert)', async () => {
    const sim = await startSim(pki.selfSigned);
    const c = client(testVaultProfile(sim.url, { caFile: join(pki.dir, 'selfSigned.crt') }));
    await expect(c.probe()).resolves.toBeUndefined();
  });

  it('a self-signed vault through its pin alone: the leaf is learned once, then fully verified', async () => {
    const sim = await startSim(pki.selfSigned);
    const c = client(testVaultProfile(sim.url, { pinSha256: `sha256//${pki.selfSigned.pin}` }));
    await c.probe();
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    expect(sim.stats().requests).toBe(3);
  });

  it('CA and pin together', async () => {
    const sim = await startSim(pki.server);
    const c = client(testVaultProfile(sim.url, { caFile, pinSha256: pki.server.pin }));
    await expect(c.probe()).resolves.toBeUndefined();
  });

  it('pin only: a renewed certificate on the same key is learned again once', async () => {
    const first = await startSim(pki.selfSigned);
    const codes: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => codes.push((JSON.parse(line) as { code?: unknown }).code) });
    const c = createVaultClient(testVaultProfile(first.url, { pinSha256: pki.selfSigned.pin }), { readToken, clock: systemClock, logger });
    clients.push(c);
    await c.probe();
    const port = first.port;
    await first.close();
    // A different subject, so the learned certificate cannot vouch for it: the handshake fails once.
    const renewed = reissue(pki.selfSigned.keyPem, 'pmp.renewed.test');
    expect(spkiPinFromPem(renewed.certPem)).toBe(pki.selfSigned.pin);
    const second = await startSim(renewed, port);
    await expect(c.getPassword('301', '902', {})).resolves.toMatchObject({ password: 'Sim-Adm1n-Pass!' });
    expect(second.stats().byPath).toEqual({
      '/restapi/json/v1/resources/301/accounts': 1,
      '/restapi/json/v1/resources/301/accounts/902/password': 1,
    });
    // The first handshake with the renewed certificate failed (so it really was learned again).
    expect(codes).toEqual(['VAULT_TLS_ERROR']);
  });
});

describe('refused before the token is sent', () => {
  it.each([
    ['self-signed, no CA file, no pin', () => pki.selfSigned, {}],
    ['CA-signed, no CA file (system roots only)', () => pki.server, {}],
    ['CA file of an unrelated CA', () => pki.server, { caFile: join(pki.dir, 'otherCa.crt') }],
    ['pin-only, wrong pin', () => pki.selfSigned, { pinSha256: pki.server.pin }],
    ['CA trusted but the pin does not match', () => pki.server, { caFile, pinSha256: pki.selfSigned.pin }],
    ['CA file that does not exist', () => pki.server, { caFile: join(pki.dir, 'missing.crt') }],
  ] as const)('%s → VAULT_TLS_ERROR', async (_n, cert, over) => {
    const sim = await startSim(cert());
    const c = client(testVaultProfile(sim.url, over));
    const err = (await c.getPassword('301', '902', {}).catch((e: unknown) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('VAULT_TLS_ERROR');
    expect(err.retryable).toBe(false);
    expect(sim.stats().requests).toBe(0);
  });

  it('pin only: a new key after renewal is refused', async () => {
    const first = await startSim(pki.selfSigned);
    const c = client(testVaultProfile(first.url, { pinSha256: pki.selfSigned.pin }));
    await c.probe();
    const port = first.port;
    await first.close();
    const second = await startSim(pki.server, port);
    expect(await codeOf(c.probe())).toBe('VAULT_TLS_ERROR');
    expect(second.stats().requests).toBe(0);
  });

  it('the host name must match when trust comes from a CA', async () => {
    const elsewhere = await issueCertificate({ commonName: 'pmp.elsewhere.test', altNames: ['pmp.elsewhere.test'] }, pki.ca);
    const sim = await startSim(elsewhere);
    const c = client(testVaultProfile(sim.url, { caFile }));
    expect(await codeOf(c.probe())).toBe('VAULT_TLS_ERROR');
    expect(sim.stats().requests).toBe(0);
  });
});

describe('testVaultConnection', () => {
  it('one line per check, all ok, no secret', async () => {
    const sim = await startSim(pki.selfSigned);
    const url = sim.url.replace('127.0.0.1', 'localhost');
    const checks = await testVaultConnection(testVaultProfile(url, { pinSha256: pki.selfSigned.pin }), readToken);
    expect(checks.map((c) => [c.check, c.ok])).toEqual([
      ['dns', true],
      ['tcp connect', true],
      ['tls', true],
      ['auth', true],
    ]);
    expect(checks[2]?.detail).toContain(pki.selfSigned.pin);
    expect(checks[2]?.detail).toContain('pmp.self-signed.test');
    expect(JSON.stringify(checks)).not.toContain(SAMPLE_TOKEN);
  });

  it('stops at an untrusted certificate and shows what was presented', async () => {
    const sim = await startSim(pki.selfSigned);
    const checks = await testVaultConnection(testVaultProfile(sim.url, { pinSha256: pki.server.pin }), readToken);
    expect(checks.map((c) => [c.check, c.ok])).toEqual([
      ['dns', true],
      ['tcp connect', true],
      ['tls', false],
    ]);
    expect(checks[2]?.detail).toContain(pki.selfSigned.pin);
    expect(sim.stats().requests).toBe(0);
  });

  it('stops at a closed port', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const checks = await testVaultConnection(testVaultProfile(`https://127.0.0.1:${port}`), readToken);
    expect(checks.map((c) => [c.check, c.ok])).toEqual([
      ['dns', true],
      ['tcp connect', false],
    ]);
    expect(checks[1]?.detail).toContain('ECONNREFUSED');
  });

  it('reports a refused key at the auth check', async () => {
    const sim = await startSim(pki.server);
    const checks = await testVaultConnection(testVaultProfile(sim.url, { caFile }), async () => 'wrong-key-123');
    expect(checks.map((c) => c.ok)).toEqual([true, true, true, false]);
    expect(checks[3]?.detail).toMatch(/^ACCESS_DENIED: /);
    expect(JSON.stringify(checks)).not.toContain('wrong-key-123');
  });
});

describe('VaultHealthMonitor with a real client', () => {
  it('turns healthy after the first probe and unhealthy when the vault goes away', async () => {
    const sim = await startSim(pki.server);
    const c = client(testVaultProfile(sim.url, { caFile }));
    const monitor = new VaultHealthMonitor({ vaults: [{ client: c, intervalMs: 60_000 }], clock: systemClock });
    const changes: VaultHealthState[] = [];
    const next = (): Promise<VaultHealthState> => new Promise((resolve) => monitor.once('change', resolve));
    monitor.on('change', (s) => changes.push(s));
    const first = next();
    monitor.start();
    expect(await first).toMatchObject({ name: 'pmp', healthy: true });
    sim.inject({ kind: 'http500' });
    expect(await monitor.probe('pmp')).toMatchObject({ healthy: false, error: 'VAULT_ERROR' });
    monitor.stop();
    expect(changes.map((s) => s.healthy)).toEqual([true, false]);
  });
});
