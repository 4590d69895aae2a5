import { constants, createHash, generateKeyPairSync, privateDecrypt, X509Certificate } from 'node:crypto';
import { describeCertificate } from '../../../src/tls/certificates.js';
import forge from 'node-forge';
import { derToPem, isValidPin, normalizePin, pemToDer, spkiFromCertificateDer, spkiPinFromPem, splitPemBundle } from '../../../src/tls/pin.js';
import { parseRecipientKey, RecipientKeyError, sealSecret } from '../../../src/tls/seal.js';
import { isTlsVerificationError, makeServerIdentityCheck, PIN_MISMATCH_CODE } from '../../../src/tls/trust.js';
import { testPki } from '../../helpers/pki.js';

// Made with openssl (self-signed, public halves only; the keys were thrown away).
const EC_COMPRESSED_CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBXDCCAQOgAwIBAgIUYUdgnyYqgo7//6LLzW07RtwblB4wCgYIKoZIzj0EAwIw',
  'EzERMA8GA1UEAwwIZWNjLnRlc3QwIBcNMjYxMTIyMjE0NDQ1WhgPMjEyNjEwMjky',
  'MTQ0NDVaMBMxETAPBgNVBAMMCGVjYy50ZXN0MDkwEwYHKoZIzj0CAQYIKoZIzj0D',
  'AQcDIgACiCW0lswHe2J4rL5NB/xgHJv8QwHWlgyinunYUA301yyjUzBRMB0GA1Ud',
  'DgQWBBQI28GAV1cAzsbiKvgRoIaZG1GlnTAfBgNVHSMEGDAWgBQI28GAV1cAzsbi',
  'KvgRoIaZG1GlnTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIFvS',
  'OkBEGl+d/ZWgH3Bg6PW3U9mQtutZ/Eyq9gnL3BhDAiA/lK8HDEog+kQPiKkyNJeI',
  '91fesWptUewOSGkYFS3m6g==',
  '-----END CERTIFICATE-----',
].join('\n');
const ED25519_CERT = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBOjCB7aADAgECAhQb4b8Ev5ZWW4WwjLa5h/hvOLzksTAFBgMrZXAwEjEQMA4G',
  'A1UEAwwHZWQudGVzdDAgFw0yNjExMjIyMTQ0NDFaGA8yMTI2MTAyOTIxNDQ0MVow',
  'EjEQMA4GA1UEAwwHZWQudGVzdDAqMAUGAytlcAMhAICrNl9VZ3v6SvehKOMvMrXp',
  'KUdFC44MT3fCpuNsqq/ko1MwUTAdBgNVHQ4EFgQUFjU3v/zYvr3RkLqVIyWuGBJ8',
  'm8EwHwYDVR0jBBgwFoAUFjU3v/zYvr3RkLqVIyWuGBJ8m8EwDwYDVR0TAQH/BAUw',
  'AwEB/zAFBgMrZXADQQDe2rzfqG8KyjZO+d2Xmu5qZGxUJiSYvppmpvuW92IGYDlD',
  'QWE4yjYjDlRl/LY3q/2EK5CK2LPiRTJ+9wExVn4C',
  '-----END CERTIFICATE-----',
].join('\n');

describe('SPKI pins', () => {
  const pki = testPki();

  it('match the SHA-256 of the DER SubjectPublicKeyInfo computed by node:crypto', () => {
    const x509 = new X509Certificate(pki.server.certPem);
    const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
    const expected = createHash('sha256').update(spki).digest('base64');
    expect(spkiPinFromPem(pki.server.certPem)).toBe(expected);
    expect(pki.server.pin).toBe(expected);
  });

  it('validate and normalise', () => {
    expect(isValidPin(pki.server.pin)).toBe(true);
    expect(isValidPin(`sha256//${pki.server.pin}`)).toBe(true);
    expect(normalizePin(`sha256//${pki.server.pin}`)).toBe(pki.server.pin);
    expect(isValidPin('abc')).toBe(false);
    expect(isValidPin('A'.repeat(44))).toBe(false);
  });

  it('split bundles', () => {
    expect(splitPemBundle(pki.server.certPem + pki.ca.certPem)).toHaveLength(2);
    expect(splitPemBundle('garbage')).toHaveLength(0);
  });

  it('split bundles into PEM certificates, skipping other block types and text, LF and CRLF alike', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    const lf = (pem: string): string => pem.replace(/\r\n/g, '\n');
    const blocks = splitPemBundle(`# bundle\n${lf(pki.server.certPem)}${String(key)}\n${pki.ca.certPem}`);
    expect(blocks.map((b) => new X509Certificate(b).raw)).toEqual([pki.server.certPem, pki.ca.certPem].map((p) => new X509Certificate(p).raw));
    expect(blocks[0]).toBe(new X509Certificate(pki.server.certPem).toString());
    expect(pemToDer(lf(pki.ca.certPem)).equals(new X509Certificate(pki.ca.certPem).raw)).toBe(true);
    expect(new X509Certificate(derToPem(new X509Certificate(pki.server.certPem).raw)).raw.equals(new X509Certificate(pki.server.certPem).raw)).toBe(true);
    expect(() => pemToDer(String(key))).toThrow('no CERTIFICATE block in PEM');
  });

  it('refuse a CERTIFICATE block that is not a certificate, naming which one', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(() => splitPemBundle(pki.ca.certPem + broken)).toThrow(/^certificate 2 of the PEM text is not a valid X\.509 certificate/);
  });

  // The pins of EC (with a compressed point) and Ed25519 keys, checked against
  // the SubjectPublicKeyInfo bytes exactly as they stand in the certificate,
  // read with node-forge's ASN.1 parser: X509Certificate re-encodes the key,
  // and the pin must be of the certificate's own bytes.
  it.each([
    ['EC P-256, compressed point', EC_COMPRESSED_CERT],
    ['Ed25519', ED25519_CERT],
    ['RSA', 'server'],
  ])('pin %s keys by the certificate\'s own SPKI bytes', (_kind, pemOrName) => {
    const pem = pemOrName === 'server' ? pki.server.certPem : pemOrName;
    const der = new X509Certificate(pem).raw;
    const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
    const fields = (cert.value as forge.asn1.Asn1[])[0]!.value as forge.asn1.Asn1[];
    const hasVersion = fields[0]!.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC;
    const spki = Buffer.from(forge.asn1.toDer(fields[hasVersion ? 6 : 5]!).getBytes(), 'binary');
    expect(spkiFromCertificateDer(der).equals(spki)).toBe(true);
    expect(spkiPinFromPem(pem)).toBe(createHash('sha256').update(spki).digest('base64'));
  });

  it('describe certificates', () => {
    const info = describeCertificate(pki.server.certPem);
    expect(info.subject).toContain('CN=localhost');
    expect(info.issuer).toContain('credgw test CA');
    expect(info.selfSigned).toBe(false);
    expect(info.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(info.spkiPinSha256).toBe(pki.server.pin);
    expect(describeCertificate(pki.selfSigned.certPem).selfSigned).toBe(true);
  });
});

describe('server identity check', () => {
  const pki = testPki();
  const peer = (pem: string) => {
    const x = new X509Certificate(pem);
    return { raw: x.raw, subject: { CN: 'localhost' }, subjectaltname: x.subjectAltName } as never;
  };

  it('accepts the pinned key and refuses another, with a recognisable code', () => {
    expect(makeServerIdentityCheck(pki.server.pin, false)('localhost', peer(pki.server.certPem))).toBeUndefined();
    const err = makeServerIdentityCheck(pki.server.pin, false)('localhost', peer(pki.selfSigned.certPem));
    expect((err as { code?: string } | undefined)?.code).toBe(PIN_MISMATCH_CODE);
    expect(isTlsVerificationError(err)).toBe(true);
  });

  it('checks the hostname when asked', () => {
    expect(makeServerIdentityCheck(null, true)('localhost', peer(pki.server.certPem))).toBeUndefined();
    const err = makeServerIdentityCheck(null, true)('evil.example', peer(pki.server.certPem));
    expect((err as { code?: string } | undefined)?.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('classifies TLS failures, through causes too', () => {
    expect(isTlsVerificationError({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).toBe(true);
    expect(isTlsVerificationError(new Error('x', { cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } }))).toBe(true);
    expect(isTlsVerificationError({ code: 'ECONNREFUSED' })).toBe(false);
    expect(isTlsVerificationError(undefined)).toBe(false);
  });
});

describe('sealed delivery', () => {
  it('seals with RSA-OAEP SHA-256 so node:crypto decrypts it', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const sealed = sealSecret(parseRecipientKey(pem), 'pässw0rd-☃');
    const plain = privateDecrypt({ key: privateKey, oaepHash: 'sha256', padding: constants.RSA_PKCS1_OAEP_PADDING }, Buffer.from(sealed, 'base64'));
    expect(plain.toString('utf8')).toBe('pässw0rd-☃');
  });

  it('accepts PKCS#1 RSA public keys too', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(() => parseRecipientKey(pem)).not.toThrow();
  });

  it.each([
    ['a 1024-bit RSA key', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), /1024 bits/],
    ['an EC key', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), /not a PEM RSA public key/],
    ['garbage', () => 'not a key', /not a PEM RSA public key/],
    ['a private key', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), /not a PEM RSA public key/],
  ])('refuses %s', (_name, make, message) => {
    expect(() => parseRecipientKey(make())).toThrow(RecipientKeyError);
    expect(() => parseRecipientKey(make())).toThrow(message);
  });
});
