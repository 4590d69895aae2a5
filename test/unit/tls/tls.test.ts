import { constants, createHash, generateKeyPairSync, privateDecrypt, X509Certificate } from 'node:crypto';
import { describeCertificate } from '../../../src/tls/certificates.js';
import forge from 'node-forge';
import { derToPem, isValidPin, normalizePin, pemToDer, spkiFromCertificateDer, spkiPinFromPem, splitPemBundle } from '../../../src/tls/pin.js';
import { parseRecipientKey, RecipientKeyError, sealSecret } from '../../../src/tls/seal.js';
import { isTlsVerificationError, makeServerIdentityCheck, PIN_MISMATCH_CODE } from '../../../src/tls/trust.js';
import { rsaPublicKeyPem, testPki } from '../../helpers/pki.js';

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

  it('seals up to modulus bytes - 66 and refuses one byte more, without the secret in the message', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key = parseRecipientKey(publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(key.maxSecretBytes).toBe(256 - 66);
    const longest = 'é'.repeat(95); // 190 UTF-8 bytes
    const plain = privateDecrypt({ key: privateKey, oaepHash: 'sha256' }, Buffer.from(sealSecret(key, longest), 'base64'));
    expect(plain.toString('utf8')).toBe(longest);
    const secret = `${longest}x`;
    expect(() => sealSecret(key, secret)).toThrow(RecipientKeyError);
    expect(() => sealSecret(key, secret)).toThrow('the password is too long to seal to a 2048-bit recipientKey (at most 190 bytes); use a larger key');
  });

  const TOO_FEW_BITS = /has 2047 bits; at least 2048 are required/;
  const TOO_MANY_BITS = /bits; at most 8192 are accepted/;
  const BAD_EXPONENT = 'recipientKey has an unusable public exponent; it must be odd, from 3 to 2^32 (65537 is usual)';
  const NOT_RSA = 'recipientKey is not a PEM RSA public key';
  const rsa = (modulusBits: number, exponent?: bigint, type?: 'spki' | 'pkcs1') => () => rsaPublicKeyPem({ modulusBits, exponent, type });

  it.each([
    ['2048 bits, e = 65537', rsa(2048), 2048],
    ['8192 bits, e = 65537', rsa(8192), 8192],
    ['2048 bits, e = 3', rsa(2048, 3n), 2048],
    ['4096 bits, e = 2^32 - 1', rsa(4096, 2n ** 32n - 1n), 4096],
    ['3000 bits (not a multiple of 8), PKCS#1', rsa(3000, 65537n, 'pkcs1'), 3000],
    ['a PEM with surrounding whitespace', () => `\n  ${rsaPublicKeyPem({ modulusBits: 2048 })}\n\n`, 2048],
  ])('accepts %s', (_name, make, bits) => {
    expect(parseRecipientKey(make()).modulusBits).toBe(bits);
  });

  it.each([
    ['2047 bits', rsa(2047), TOO_FEW_BITS],
    ['a 1024-bit RSA key', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), /1024 bits/],
    ['8193 bits', rsa(8193), TOO_MANY_BITS],
    ['16384 bits with a 16384-bit exponent', rsa(16384, (1n << 16383n) | 1n), TOO_MANY_BITS],
    ['8192 bits with an 8192-bit exponent', rsa(8192, (1n << 8191n) | 1n), BAD_EXPONENT],
    ['e = 2^32 + 1', rsa(2048, 2n ** 32n + 1n), BAD_EXPONENT],
    ['an even exponent (65536)', rsa(2048, 65536n), BAD_EXPONENT],
    ['e = 1 (no encryption at all)', rsa(2048, 1n), BAD_EXPONENT],
    ['an EC key', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(), NOT_RSA],
    ['an Ed25519 key', () => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(), NOT_RSA],
    ['garbage', () => 'not a key', NOT_RSA],
    ['a PEM label with a broken body', () => '-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n', NOT_RSA],
    ['a private key', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), NOT_RSA],
    ['a PKCS#1 private key', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), NOT_RSA],
    ['a certificate', () => testPki().server.certPem, NOT_RSA],
    ['a public key followed by a private key', () => `${rsaPublicKeyPem({ modulusBits: 2048 })}${testPki().server.keyPem}`, NOT_RSA],
    ['a PEM longer than 16 KiB', () => rsaPublicKeyPem({ modulusBits: 2048 }) + ' '.repeat(16 * 1024), 'recipientKey is longer than 16384 characters'],
  ])('refuses %s', (_name, make, message) => {
    const pem = make();
    expect(() => parseRecipientKey(pem)).toThrow(RecipientKeyError);
    expect(() => parseRecipientKey(pem)).toThrow(message);
  });
});
