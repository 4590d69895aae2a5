import { createPublicKey, randomBytes } from 'node:crypto';
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

export interface RsaPublicKeyShape {
  /** Exact bit length of the modulus. */
  modulusBits: number;
  /** Default 65537. */
  exponent?: bigint;
  /** Default 'spki' (BEGIN PUBLIC KEY); 'pkcs1' is BEGIN RSA PUBLIC KEY. */
  type?: 'spki' | 'pkcs1';
}

/**
 * A PEM RSA public key of any shape, hostile ones included, made in
 * microseconds: a random odd modulus of exactly `modulusBits` bits (no
 * private key exists for it; RSA with it still runs) and the given exponent.
 */
export function rsaPublicKeyPem(shape: RsaPublicKeyShape): string {
  const n = randomBytes(Math.ceil(shape.modulusBits / 8));
  const spare = n.length * 8 - shape.modulusBits;
  n[0] = (n[0]! & (0xff >> spare)) | (0x80 >> spare);
  n[n.length - 1] = n[n.length - 1]! | 1;
  const hex = (shape.exponent ?? 65537n).toString(16);
  const e = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  const jwk = { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') };
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: shape.type ?? 'spki', format: 'pem' }).toString();
}
