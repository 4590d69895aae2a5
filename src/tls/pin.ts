import type * as Forge from 'node-forge';
import { loadForge } from './forge.js';

/**
 * SPKI pins: base64 of the SHA-256 of the certificate's DER-encoded
 * SubjectPublicKeyInfo (the HPKP / curl `--pinnedpubkey sha256//` form).
 * Computed with node-forge's ASN.1 reader, which works for any key type
 * (forge's higher-level certificate parser only understands RSA keys).
 */

/** Extracts the DER SubjectPublicKeyInfo from a DER certificate. */
export function spkiFromCertificateDer(der: Uint8Array): Buffer {
  const forge = loadForge();
  const cert = forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString('binary')));
  const tbs = asn1Children(cert)[0];
  if (!tbs) throw new Error('certificate has no tbsCertificate');
  const fields = asn1Children(tbs);
  // [0] EXPLICIT version is optional (absent for v1 certificates).
  const hasVersion = fields[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC;
  const spki = fields[hasVersion ? 6 : 5];
  if (!spki) throw new Error('certificate has no subjectPublicKeyInfo');
  return Buffer.from(forge.asn1.toDer(spki).getBytes(), 'binary');
}

function asn1Children(node: Forge.asn1.Asn1): Forge.asn1.Asn1[] {
  return Array.isArray(node.value) ? node.value : [];
}

/** The base64 SHA-256 SPKI pin of a DER certificate. */
export function spkiPinFromDer(der: Uint8Array): string {
  const forge = loadForge();
  const md = forge.md.sha256.create();
  md.update(spkiFromCertificateDer(der).toString('binary'));
  return Buffer.from(md.digest().getBytes(), 'binary').toString('base64');
}

/** The base64 SHA-256 SPKI pin of the first certificate in a PEM text. */
export function spkiPinFromPem(pem: string): string {
  return spkiPinFromDer(pemToDer(pem));
}

/** DER bytes of the first certificate in a PEM text. */
export function pemToDer(pem: string): Buffer {
  const first = certificateBlocks(pem)[0];
  if (!first) throw new Error('no CERTIFICATE block in PEM');
  return Buffer.from(first.body, 'binary');
}

/** All CERTIFICATE blocks of a PEM bundle, each re-encoded as PEM. */
export function splitPemBundle(pem: string): string[] {
  const forge = loadForge();
  return certificateBlocks(pem).map((b) => forge.pem.encode(b));
}

/** DER → PEM for a certificate. */
export function derToPem(der: Uint8Array): string {
  return loadForge().pem.encode({ type: 'CERTIFICATE', body: Buffer.from(der).toString('binary') });
}

function certificateBlocks(pem: string): Forge.pem.ObjectPEM[] {
  try {
    return loadForge()
      .pem.decode(pem)
      .filter((b) => b.type === 'CERTIFICATE');
  } catch {
    return [];
  }
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
