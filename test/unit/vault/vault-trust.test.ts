import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { GatewayError } from '../../../src/shared/errors.js';
import type { InspectOptions, PresentedCertificate } from '../../../src/tls/inspect.js';
import { VaultTrust } from '../../../src/vault/vault-trust.js';
import { testPki } from '../../helpers/pki.js';

/** VaultTrust without sockets: the presented certificate comes from a script. */
describe('VaultTrust', () => {
  const pki = testPki();
  const presented = (certPem: string): PresentedCertificate => ({ certPem, chainPem: [certPem], authorized: false, authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT' });

  function pinOnly(pin: string, serve: () => string): { trust: VaultTrust; calls: InspectOptions[] } {
    const calls: InspectOptions[] = [];
    const trust = new VaultTrust({
      caFile: null,
      pinSha256: pin,
      host: 'pmp.test',
      port: 7272,
      timeoutMs: 1234,
      inspect: async (o) => {
        calls.push(o);
        return presented(serve());
      },
    });
    return { trust, calls };
  }

  it('picks its mode from the profile', () => {
    const base = { host: 'h', port: 1, timeoutMs: 1 };
    expect(new VaultTrust({ ...base, caFile: '/x', pinSha256: 'p' }).mode).toBe('ca');
    expect(new VaultTrust({ ...base, caFile: null, pinSha256: 'p' }).mode).toBe('pin');
    expect(new VaultTrust({ ...base, caFile: null, pinSha256: null }).mode).toBe('system');
  });

  it('pin only: learns the leaf once, trusts it as an extra CA, and keeps checking the pin', async () => {
    const { trust, calls } = pinOnly(pki.selfSigned.pin, () => pki.selfSigned.certPem);
    const [a, b] = await Promise.all([trust.connectOptions(), trust.connectOptions()]);
    expect(a).toBe(b);
    expect(calls).toEqual([{ host: 'pmp.test', port: 7272, timeoutMs: 1234 }]);
    expect(trust.generation).toBe(1);
    // One secure context for every connection of the generation.
    expect(a.secureContext.context).toBeDefined();
    expect(trust.ready).toBe(a);
    expect(trust.learnedCertificatePem).toBe(pki.selfSigned.certPem);
    const ca = a.ca as string[];
    expect(ca[ca.length - 1]?.replace(/\r/g, '')).toBe(pki.selfSigned.certPem.replace(/\r/g, ''));
    // The identity check still pins: another key is refused even if the chain verified.
    const check = a.checkServerIdentity as (host: string, cert: { raw: Buffer }) => Error | undefined;
    const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(check('pmp.test', { raw: der(pki.selfSigned.certPem) })).toBeUndefined();
    expect(check('pmp.test', { raw: der(pki.server.certPem) })).toBeInstanceOf(Error);
  });

  it('pin only: a presented certificate with another key is VAULT_TLS_ERROR', async () => {
    const { trust } = pinOnly(pki.selfSigned.pin, () => pki.server.certPem);
    const err = (await trust.connectOptions().catch((e: unknown) => e)) as GatewayError;
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('VAULT_TLS_ERROR');
    expect(err.detail).toContain(pki.server.pin);
  });

  it('relearn: true only when a different certificate with the pinned key is presented', async () => {
    let serving = pki.selfSigned.certPem;
    const { trust } = pinOnly(pki.selfSigned.pin, () => serving);
    const first = await trust.connectOptions();
    expect(await trust.relearn()).toBe(false);
    expect(trust.generation).toBe(1);
    // The same leaf keeps its options and so its secure context (the pool is not rebuilt).
    expect(await trust.connectOptions()).toBe(first);
    serving = pki.server.certPem; // another key: refused
    await expect(trust.relearn()).rejects.toMatchObject({ code: 'VAULT_TLS_ERROR' });
  });

  it('CA file: trusted roots plus the file, in one secure context built once', async () => {
    const trust = new VaultTrust({ caFile: join(pki.dir, 'ca.crt'), pinSha256: null, host: 'h', port: 1, timeoutMs: 1 });
    expect(trust.ready).toBeUndefined();
    const a = await trust.connectOptions();
    expect(await trust.connectOptions()).toBe(a);
    expect(trust.ready).toBe(a);
    expect(trust.generation).toBe(0);
    const ca = a.ca as string[];
    expect(ca.length).toBe(rootCertificates.length + 1);
    expect(a.secureContext.context).toBeDefined();
  });

  it('an unreadable CA file is VAULT_TLS_ERROR naming the file', async () => {
    const trust = new VaultTrust({ caFile: '/nonexistent/ca.pem', pinSha256: null, host: 'h', port: 1, timeoutMs: 1 });
    const err = (await trust.connectOptions().catch((e: unknown) => e)) as GatewayError;
    expect(err.code).toBe('VAULT_TLS_ERROR');
    expect(err.detail).toContain('/nonexistent/ca.pem');
  });

  it('network errors while learning stay raw (the client classifies and retries them)', async () => {
    const trust = new VaultTrust({
      caFile: null,
      pinSha256: pki.selfSigned.pin,
      host: 'h',
      port: 1,
      timeoutMs: 1,
      inspect: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
    });
    await expect(trust.connectOptions()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
