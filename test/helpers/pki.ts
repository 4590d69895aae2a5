import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IssuedCertificate } from '../../src/tls/certificates.js';

export interface TestPki {
  /** Directory holding `<name>.crt` and `<name>.key` for each entry. */
  dir: string;
  ca: IssuedCertificate;
  /** Signed by `ca`, for localhost, 127.0.0.1 and ::1. */
  server: IssuedCertificate;
  /** Signed by `ca`, with clientAuth. */
  client: IssuedCertificate;
  /** Self-signed, for localhost, 127.0.0.1 and ::1 (as a PMP server has). */
  selfSigned: IssuedCertificate;
  /** A CA that signed nothing here. */
  otherCa: IssuedCertificate;
}

/** The suite's PKI made once by global-setup.ts. */
export function testPki(): TestPki {
  const dir = process.env['CREDGW_TEST_PKI'];
  if (!dir) throw new Error('CREDGW_TEST_PKI is not set: run the tests through jest (global setup)');
  const pki = JSON.parse(readFileSync(join(dir, 'pki.json'), 'utf8')) as Omit<TestPki, 'dir'>;
  return { dir, ...pki };
}
