import { readFileSync } from 'node:fs';
import tls, { type PeerCertificate, type ConnectionOptions } from 'node:tls';
import { CredgwError } from '../shared/index.js';
import { normalizePin, splitPemBundle, spkiPinFromDer } from './pin.js';

/**
 * How credgw decides to trust a TLS server. Verification is always done by
 * Node's TLS stack with `rejectUnauthorized` left at its default (true); this
 * module only chooses which roots are trusted and adds an SPKI pin check on
 * top. There is no code path that switches verification off for a
 * connection that carries data.
 */

/** Error code set on a pin mismatch (alongside Node's own TLS codes). */
export const PIN_MISMATCH_CODE = 'ERR_CREDGW_PIN_MISMATCH';

/** Codes of Node/OpenSSL certificate verification failures. */
const TLS_VERIFY_CODES = new Set([
  PIN_MISMATCH_CODE,
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ECONNRESET_TLS',
]);

/** True when `err` (or its cause chain) is a certificate/handshake failure. */
export function isTlsVerificationError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TLS_VERIFY_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) {
      return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The server's certificate key is not the pinned one; its code sits with Node's TLS codes (isTlsVerificationError). */
export class PinMismatchError extends CredgwError<typeof PIN_MISMATCH_CODE> {
  override readonly name = 'PinMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(PIN_MISMATCH_CODE, `certificate public key does not match the pin (expected ${expected}, got ${actual})`);
  }
}

export interface TrustOptions {
  /** PEM file with the server's certificate or its CA (added to the system roots). */
  caFile?: string | null;
  /** PEM text, as an alternative to caFile (already read). */
  caPem?: string | null;
  /** base64 SHA-256 SPKI pin of the server's leaf certificate. */
  pinSha256?: string | null;
  /**
   * Check the server's name against its certificate (default true). Turned
   * off only when a pin identifies the key, which is the stronger check
   * (self-signed PMP certificates name the machine, not the name the admin
   * dials).
   */
  checkHostname?: boolean;
}

/** Reads a CA file into PEM certificates; throws with the path on failure. */
export function readCaFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read CA file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let certs: string[];
  try {
    certs = splitPemBundle(text);
  } catch (err) {
    throw new Error(`CA file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (certs.length === 0) throw new Error(`CA file ${path} holds no PEM certificate`);
  return certs;
}

/** A checkServerIdentity that adds the pin check to (or, with a pin, replaces) the hostname check. */
export function makeServerIdentityCheck(
  pinSha256: string | null | undefined,
  checkHostname: boolean,
): (hostname: string, cert: PeerCertificate) => Error | undefined {
  const pin = pinSha256 ? normalizePin(pinSha256) : null;
  return (hostname, cert) => {
    if (checkHostname) {
      const err = tls.checkServerIdentity(hostname, cert);
      if (err) return err;
    }
    if (pin) {
      const actual = spkiPinFromDer(cert.raw);
      if (actual !== pin) return new PinMismatchError(pin, actual);
    }
    return undefined;
  };
}

/**
 * Options for `tls.connect` (or undici's `connect`) that trust the system
 * roots plus the configured CA, plus any `extraCa` (for example a leaf whose
 * pin was checked), and check the pin when one is set.
 */
export function trustedConnectOptions(
  trust: TrustOptions,
  extraCa: string[] = [],
): Pick<ConnectionOptions, 'ca' | 'checkServerIdentity'> & { extraCa: string[] } {
  const extra = trustedExtraCa(trust, extraCa);
  const checkHostname = trust.checkHostname ?? !trust.pinSha256;
  return { ca: [...tls.rootCertificates, ...extra], extraCa: extra, checkServerIdentity: makeServerIdentityCheck(trust.pinSha256, checkHostname) };
}

/** The certificates trusted on top of the system roots: the CA file's, caPem's, then `extraCa`. */
function trustedExtraCa(trust: TrustOptions, extraCa: string[]): string[] {
  const ca: string[] = [];
  if (trust.caFile) ca.push(...readCaFile(trust.caFile));
  if (trust.caPem) ca.push(...splitPemBundle(trust.caPem));
  ca.push(...extraCa);
  return ca;
}

/**
 * A secure context trusting Node's default roots plus `extraCa` (PEM). Built
 * as the default context with the extras added, because `ca: [...roots,
 * extra]` makes OpenSSL parse all the roots again for every context, on
 * the daemon's start path (docs/benchmarks.md, session 7).
 * `options` may add a client certificate and key.
 */
export function rootsPlusSecureContext(extraCa: readonly string[], options: Pick<tls.SecureContextOptions, 'cert' | 'key'> = {}): tls.SecureContext {
  const context = tls.createSecureContext(options);
  // The native context's addCACert copies the shared root store once, then adds the certificate.
  for (const pem of extraCa) (context.context as { addCACert(pem: string): void }).addCACert(pem);
  return context;
}
