import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { loadForge } from './forge.js';
import { isIP } from 'node:net';
import { spkiPin, spkiPinFromDer } from './pin.js';

/**
 * Certificates: what an admin is shown about one, and making them for the
 * simulators, tests and the demo. Keys come from node:crypto (node-forge's
 * JavaScript RSA key generation takes seconds); node-forge builds and signs
 * the certificate.
 */

export interface CertificateInfo {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** Uppercase hex SHA-256 of the DER certificate, colon separated. */
  fingerprintSha256: string;
  /** base64 SHA-256 SPKI pin. */
  spkiPinSha256: string;
  subjectAltName: string | undefined;
  selfSigned: boolean;
}

export function describeCertificate(certPemOrDer: string | Uint8Array): CertificateInfo {
  const x509 = new X509Certificate(certPemOrDer);
  return {
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    validFrom: x509.validFrom,
    validTo: x509.validTo,
    fingerprintSha256: x509.fingerprint256,
    spkiPinSha256: spkiPin(x509),
    subjectAltName: x509.subjectAltName,
    selfSigned: x509.subject === x509.issuer,
  };
}

export interface KeyPairPem {
  publicKeyPem: string;
  privateKeyPem: string;
}

/** An RSA key pair (node:crypto, fast). */
export function makeRsaKeyPair(bits = 2048): KeyPairPem {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** base64 SHA-256 SPKI pin of the certificate. */
  pin: string;
}

export interface CertificateRequest {
  commonName: string;
  /** DNS names and IP addresses for subjectAltName. Default: localhost, 127.0.0.1, ::1. */
  altNames?: string[];
  /** Validity in days (default 825). */
  days?: number;
  /** Marks the certificate as a CA (basicConstraints cA). */
  isCa?: boolean;
  /** Adds clientAuth to extended key usage (client certificates). */
  clientAuth?: boolean;
}

const DEFAULT_ALT_NAMES = ['localhost', '127.0.0.1', '::1'];
const DEFAULT_VALIDITY_DAYS = 825;

/**
 * Issues a certificate signed by `issuer`, or self-signed when no issuer is
 * given.
 */
export async function issueCertificate(req: CertificateRequest, issuer?: IssuedCertificate): Promise<IssuedCertificate> {
  const forge = await loadForge();
  const keys = makeRsaKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  const notBefore = new Date(Date.now() - 60 * 60 * 1000);
  const notAfter = new Date(notBefore.getTime() + (req.days ?? DEFAULT_VALIDITY_DAYS) * 86_400_000);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const subject = [{ name: 'commonName', value: req.commonName }, { name: 'organizationName', value: 'credgw' }];
  cert.setSubject(subject);
  const signer = issuer ? forge.pki.privateKeyFromPem(issuer.keyPem) : forge.pki.privateKeyFromPem(keys.privateKeyPem);
  cert.setIssuer(issuer ? forge.pki.certificateFromPem(issuer.certPem).subject.attributes : subject);
  const extensions: object[] = [{ name: 'basicConstraints', cA: req.isCa === true, critical: true }];
  if (req.isCa) {
    extensions.push({ name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true });
  } else {
    extensions.push({ name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true });
    extensions.push({ name: 'extKeyUsage', serverAuth: true, clientAuth: req.clientAuth === true });
    const altNames = (req.altNames ?? DEFAULT_ALT_NAMES).map((n) =>
      isIP(n) ? { type: 7, ip: n } : { type: 2, value: n },
    );
    extensions.push({ name: 'subjectAltName', altNames });
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  cert.setExtensions(extensions);
  cert.sign(signer, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return { certPem, keyPem: keys.privateKeyPem, pin: spkiPinFromDer(der) };
}

/** A self-signed server certificate, as a PMP server or the demo controller has. */
export function makeSelfSignedCertificate(req: CertificateRequest): Promise<IssuedCertificate> {
  return issueCertificate(req);
}

/** A private certificate authority, for test PKI. */
export function makeCertificateAuthority(commonName = 'credgw test CA'): Promise<IssuedCertificate> {
  return issueCertificate({ commonName, isCa: true, days: 3650 });
}
