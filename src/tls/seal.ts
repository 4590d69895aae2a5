import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import { errorWithCode } from '../shared/index.js';

/**
 * Sealed delivery (protocol section 5, `recipientKey`): the password is
 * encrypted to the caller's RSA public key with RSA-OAEP, SHA-256 for both
 * the OAEP digest and MGF1, no label, and returned as base64. The receiver
 * decrypts with node:crypto `privateDecrypt({ key, oaepHash: 'sha256' })` or
 * any RSA-OAEP-256 implementation.
 *
 * The key comes from the controller, so it is bounded before any RSA is
 * done with it, and the RSA is OpenSSL's (node:crypto): a public operation
 * costs microseconds there, where a JavaScript one with a huge exponent
 * held the event loop for seconds.
 */

export const MIN_RECIPIENT_KEY_BITS = 2048;
export const MAX_RECIPIENT_KEY_BITS = 8192;
/** Public exponents are small odd numbers (3, 65537); a larger one only makes the RSA slower. */
export const MAX_RECIPIENT_KEY_EXPONENT = 2n ** 32n;
/** A PEM of an 8192-bit key is under 1.5 KiB; the same bound as the protocol's field limit. */
export const MAX_RECIPIENT_KEY_PEM_CHARS = 16 * 1024;
/** RSA-OAEP with SHA-256 takes two 32-byte digests and two bytes of the modulus. */
const OAEP_SHA256_OVERHEAD_BYTES = 2 * 32 + 2;

const NOT_RSA_PUBLIC_KEY = 'recipientKey is not a PEM RSA public key';
const PUBLIC_KEY_LABEL = /-----BEGIN (RSA )?PUBLIC KEY-----/;

/** A recipient key that cannot be used, or a password too long to seal to it. */
export class RecipientKeyError extends errorWithCode('RECIPIENT_KEY_INVALID') {
  override readonly name = 'RecipientKeyError';
}

/** A checked recipient key (parseRecipientKey). */
export interface RecipientKey {
  readonly key: KeyObject;
  readonly modulusBits: number;
  /** The longest secret, in UTF-8 bytes, that one RSA-OAEP-SHA256 block carries. */
  readonly maxSecretBytes: number;
}

/**
 * Parses and checks a recipient key: one SPKI (`BEGIN PUBLIC KEY`) or PKCS#1
 * (`BEGIN RSA PUBLIC KEY`) PEM block, RSA, 2048–8192 bits, an odd public
 * exponent from 3 to 2^32. Throws RecipientKeyError with a stable message.
 */
export function parseRecipientKey(pem: string): RecipientKey {
  if (pem.length > MAX_RECIPIENT_KEY_PEM_CHARS) {
    throw new RecipientKeyError(`recipientKey is longer than ${MAX_RECIPIENT_KEY_PEM_CHARS} characters`);
  }
  // createPublicKey also derives a public key from a private key or a
  // certificate; only a lone public-key block is taken.
  if (pem.split('-----BEGIN').length !== 2 || !PUBLIC_KEY_LABEL.test(pem)) throw new RecipientKeyError(NOT_RSA_PUBLIC_KEY);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem.trim(), format: 'pem' });
  } catch {
    throw new RecipientKeyError(NOT_RSA_PUBLIC_KEY);
  }
  const details = key.asymmetricKeyDetails;
  const bits = details?.modulusLength;
  const exponent = details?.publicExponent;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined || exponent === undefined) throw new RecipientKeyError(NOT_RSA_PUBLIC_KEY);
  if (bits < MIN_RECIPIENT_KEY_BITS) {
    throw new RecipientKeyError(`recipientKey has ${bits} bits; at least ${MIN_RECIPIENT_KEY_BITS} are required`);
  }
  if (bits > MAX_RECIPIENT_KEY_BITS) {
    throw new RecipientKeyError(`recipientKey has ${bits} bits; at most ${MAX_RECIPIENT_KEY_BITS} are accepted`);
  }
  if (exponent < 3n || exponent > MAX_RECIPIENT_KEY_EXPONENT || exponent % 2n === 0n) {
    throw new RecipientKeyError('recipientKey has an unusable public exponent; it must be odd, from 3 to 2^32 (65537 is usual)');
  }
  return { key, modulusBits: bits, maxSecretBytes: Math.ceil(bits / 8) - OAEP_SHA256_OVERHEAD_BYTES };
}

/**
 * Encrypts `secret` (UTF-8) to `recipient`; returns base64. A secret longer
 * than the key can carry is a RecipientKeyError whose message holds neither
 * the secret nor its length.
 */
export function sealSecret(recipient: RecipientKey, secret: string): string {
  const plain = Buffer.from(secret, 'utf8');
  if (plain.length > recipient.maxSecretBytes) {
    throw new RecipientKeyError(
      `the password is too long to seal to a ${recipient.modulusBits}-bit recipientKey (at most ${recipient.maxSecretBytes} bytes); use a larger key`,
    );
  }
  return publicEncrypt({ key: recipient.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, plain).toString('base64');
}
