import { createHash, X509Certificate } from 'node:crypto';

/**
 * SPKI pins: base64 of the SHA-256 of the certificate's DER-encoded
 * SubjectPublicKeyInfo (the HPKP / curl `--pinnedpubkey sha256//` form),
 * and the PEM handling pins need.
 *
 * Everything here runs in the daemon (vault CA files, pinned vaults, every
 * new pinned connection), so it uses node:crypto's X509Certificate, which
 * OpenSSL backs and which handles any key type, rather than node-forge,
 * which stays out of the daemon (resident memory:
 * docs/benchmarks.md#memory-and-start-up) and is loaded on first use
 * by certificate generation only.
 */

/** Extracts the DER SubjectPublicKeyInfo from a DER certificate. */
export function spkiFromCertificateDer(der: Uint8Array): Buffer {
  return spkiDer(new X509Certificate(der));
}

function spkiDer(cert: X509Certificate): Buffer {
  return cert.publicKey.export({ type: 'spki', format: 'der' });
}

/** The base64 SHA-256 SPKI pin of a parsed certificate. */
export function spkiPin(cert: X509Certificate): string {
  return createHash('sha256').update(spkiDer(cert)).digest('base64');
}

/** The base64 SHA-256 SPKI pin of a DER certificate. */
export function spkiPinFromDer(der: Uint8Array): string {
  return spkiPin(new X509Certificate(der));
}

/** The base64 SHA-256 SPKI pin of the first certificate in a PEM text. */
export function spkiPinFromPem(pem: string): string {
  return spkiPin(firstCertificate(pem));
}

/** DER bytes of the first certificate in a PEM text. */
export function pemToDer(pem: string): Buffer {
  return firstCertificate(pem).raw;
}

function firstCertificate(pem: string): X509Certificate {
  const first = certificates(pem)[0];
  if (!first) throw new Error('no CERTIFICATE block in PEM');
  return first;
}

/**
 * All CERTIFICATE blocks of a PEM bundle, each re-encoded as PEM. Other
 * block types and text between blocks are skipped; a CERTIFICATE block
 * that is not a valid X.509 certificate is an error.
 */
export function splitPemBundle(pem: string): string[] {
  return certificates(pem).map((c) => c.toString());
}

/** DER → PEM for a certificate. */
export function derToPem(der: Uint8Array): string {
  return new X509Certificate(der).toString();
}

/**
 * The CERTIFICATE blocks of RFC 7468's textual encoding. node:crypto parses
 * one certificate but does not split a bundle, so the blocks are found here
 * and each one is parsed by X509Certificate.
 */
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----/g;

function certificates(pem: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  let n = 0;
  for (const m of pem.matchAll(CERTIFICATE_BLOCK)) {
    n++;
    const der = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
    try {
      out.push(new X509Certificate(der));
    } catch (err) {
      throw new Error(`certificate ${n} of the PEM text is not a valid X.509 certificate (${(err as Error).message})`, { cause: err });
    }
  }
  return out;
}

/** A pin as the admin may write it: with or without a `sha256//` prefix. */
export function normalizePin(pin: string): string {
  return pin.trim().replace(/^sha256\/\//i, '');
}

/** True for a syntactically valid pin (base64 of 32 bytes). */
export function isValidPin(pin: string): boolean {
  const p = normalizePin(pin);
  return /^[A-Za-z0-9+/]{43}=$/.test(p) && Buffer.from(p, 'base64').length === 32;
}
