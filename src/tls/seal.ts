import type * as Forge from 'node-forge';
import { loadForge } from './forge.js';

/**
 * Sealed delivery (protocol section 5, `recipientKey`): the password is
 * encrypted to the caller's RSA public key with RSA-OAEP, SHA-256 for both
 * the OAEP digest and MGF1, and returned as base64. The receiver decrypts
 * with node:crypto `privateDecrypt({ key, oaepHash: 'sha256' })` or any
 * RSA-OAEP-256 implementation.
 */

export const MIN_RECIPIENT_KEY_BITS = 2048;

export class RecipientKeyError extends Error {
  override readonly name = 'RecipientKeyError';
}

/** Parsed, checked recipient key. Throws RecipientKeyError when unusable. */
export function parseRecipientKey(pem: string): Forge.pki.rsa.PublicKey {
  const forge = loadForge();
  let key: Forge.pki.rsa.PublicKey;
  try {
    key = forge.pki.publicKeyFromPem(pem) as Forge.pki.rsa.PublicKey;
  } catch {
    throw new RecipientKeyError('recipientKey is not a PEM RSA public key');
  }
  if (!key || typeof key.n?.bitLength !== 'function') {
    throw new RecipientKeyError('recipientKey is not a PEM RSA public key');
  }
  const bits = key.n.bitLength();
  if (bits < MIN_RECIPIENT_KEY_BITS) {
    throw new RecipientKeyError(`recipientKey has ${bits} bits; at least ${MIN_RECIPIENT_KEY_BITS} are required`);
  }
  return key;
}

/** Encrypts `secret` (UTF-8) to `key`; returns base64. */
export function sealSecret(key: Forge.pki.rsa.PublicKey, secret: string): string {
  const forge = loadForge();
  const encrypted = key.encrypt(forge.util.encodeUtf8(secret), 'RSA-OAEP', {
    md: forge.md.sha256.create(),
    mgf1: { md: forge.md.sha256.create() },
  });
  return Buffer.from(encrypted, 'binary').toString('base64');
}
