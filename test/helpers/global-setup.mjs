import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Jest loads global setup outside its transform, so this uses the build
// (`npm test` builds first).
import { issueCertificate, makeCertificateAuthority, makeSelfSignedCertificate } from '../../dist/tls/certificates.js';

/**
 * Makes the suite's test PKI once (keys cost time): a CA, a server
 * certificate it signs for localhost/127.0.0.1, a client certificate, a
 * self-signed server certificate, and an unrelated CA. Test files read them
 * with `testPki()` from ./pki.ts.
 */
export default async function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'credgw-pki-'));
  const ca = await makeCertificateAuthority('credgw test CA');
  const server = await issueCertificate({ commonName: 'localhost' }, ca);
  const client = await issueCertificate({ commonName: 'gw-test-client', clientAuth: true }, ca);
  const selfSigned = await makeSelfSignedCertificate({ commonName: 'pmp.self-signed.test' });
  const otherCa = await makeCertificateAuthority('unrelated CA');
  const pki = { ca, server, client, selfSigned, otherCa };
  for (const [name, cert] of Object.entries(pki)) {
    writeFileSync(join(dir, `${name}.crt`), cert.certPem);
    writeFileSync(join(dir, `${name}.key`), cert.keyPem, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'pki.json'), JSON.stringify(pki));
  process.env['CREDGW_TEST_PKI'] = dir;
}
