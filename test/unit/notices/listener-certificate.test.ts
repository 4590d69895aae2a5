import { afterAll, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListenerCertificateError, loadListenerCertificate, MADE_CERT_DIR, MADE_CERT_FILE, MADE_KEY_FILE } from '../../../src/notices/index.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { spkiPinFromPem } from '../../../src/tls/index.js';
import { testPki } from '../../helpers/pki.js';

describe('loadListenerCertificate', () => {
  const dirs: string[] = [];
  const stateDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'credgw-notices-cert-'));
    dirs.push(d);
    return d;
  };
  const clock = new ManualClock(Date.now());
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('makes a self-signed certificate on first start, keeps it (key 0600), and loads the same one after', async () => {
    const dir = stateDir();
    const first = await loadListenerCertificate({ stateDir: dir, clock, altNames: ['gw-a.corp.local', '10.1.2.5'] });
    expect(first.generated).toBe(true);
    expect(first.certFile).toBe(join(dir, MADE_CERT_DIR, MADE_CERT_FILE));
    expect(first.keyFile).toBe(join(dir, MADE_CERT_DIR, MADE_KEY_FILE));
    expect(statSync(first.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, MADE_CERT_DIR)).mode & 0o777).toBe(0o700);
    expect(first.pin).toBe(spkiPinFromPem(readFileSync(first.certFile, 'utf8')));
    const x509 = new X509Certificate(first.certPem);
    expect(x509.subjectAltName).toContain('DNS:gw-a.corp.local');
    expect(x509.subjectAltName).toContain('IP Address:10.1.2.5');

    const again = await loadListenerCertificate({ stateDir: dir, clock });
    expect(again).toMatchObject({ generated: false, pin: first.pin, certPem: first.certPem });
  });

  it('makes a new one when the kept pair is unusable (key of another certificate), and the pin changes', async () => {
    const dir = stateDir();
    const first = await loadListenerCertificate({ stateDir: dir, clock });
    writeFileSync(first.keyFile, testPki().server.keyPem);
    const second = await loadListenerCertificate({ stateDir: dir, clock });
    expect(second.generated).toBe(true);
    expect(second.pin).not.toBe(first.pin);
  });

  it('makes a new one when the kept certificate expired (by the injected clock)', async () => {
    const dir = stateDir();
    const first = await loadListenerCertificate({ stateDir: dir, clock });
    const later = new ManualClock(Date.parse(new X509Certificate(first.certPem).validTo) + 1);
    expect((await loadListenerCertificate({ stateDir: dir, clock: later })).generated).toBe(true);
  });

  it('uses configured files as they are, and refuses a mismatched pair, a missing file, or only one of the two', async () => {
    const pki = testPki();
    const ok = await loadListenerCertificate({ certFile: join(pki.dir, 'server.crt'), keyFile: join(pki.dir, 'server.key'), stateDir: stateDir(), clock });
    expect(ok).toMatchObject({ generated: false, pin: pki.server.pin });
    await expect(loadListenerCertificate({ certFile: join(pki.dir, 'server.crt'), keyFile: join(pki.dir, 'client.key'), stateDir: stateDir(), clock })).rejects.toThrow(
      "the key is not the certificate's",
    );
    await expect(loadListenerCertificate({ certFile: join(pki.dir, 'nope.crt'), keyFile: join(pki.dir, 'server.key'), stateDir: stateDir(), clock })).rejects.toThrow(
      ListenerCertificateError,
    );
    await expect(loadListenerCertificate({ certFile: join(pki.dir, 'server.crt'), stateDir: stateDir(), clock })).rejects.toThrow('give both or neither');
  });
});
