import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Clock, errorWithCode } from '../shared/index.js';
import { makeSelfSignedCertificate, spkiPinFromPem } from '../tls/index.js';

/**
 * The notice listener's TLS identity: the configured certificate and key
 * (`notices.certFile`/`notices.keyFile`), or a self-signed one made on
 * first start and kept in the state directory, so that its pin — which the
 * reset-listener script is configured with — survives restarts and
 * upgrades. `credgw status` prints the pin.
 */

export interface ListenerCertificateOptions {
  /** PEM certificate (chain) file; with keyFile, or neither. */
  certFile?: string;
  /** PEM private key file. */
  keyFile?: string;
  /** The gateway's state directory; a made certificate lives in `<stateDir>/notices/`. */
  stateDir: string;
  /** Extra subjectAltNames for a made certificate (DNS names or IPs the vault dials). Default none. */
  altNames?: readonly string[];
  /** For the expiry check. */
  clock: Clock;
}

export interface ListenerCertificate {
  certPem: string;
  keyPem: string;
  /** base64 SHA-256 SPKI pin (curl's `--pinnedpubkey sha256//<pin>`). */
  pin: string;
  certFile: string;
  keyFile: string;
  /** True when this call made the certificate (first start, or the kept pair was unusable). */
  generated: boolean;
}

export class ListenerCertificateError extends errorWithCode('LISTENER_CERTIFICATE_INVALID') {
  override readonly name = 'ListenerCertificateError';
}

/** Folder under the state directory and file names of a made certificate. */
export const MADE_CERT_DIR = 'notices';
export const MADE_CERT_FILE = 'listener.crt';
export const MADE_KEY_FILE = 'listener.key';

/** Loads the configured pair, or the kept one, or makes one. Throws ListenerCertificateError. */
export async function loadListenerCertificate(opts: ListenerCertificateOptions): Promise<ListenerCertificate> {
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) {
    throw new ListenerCertificateError('notices.certFile and notices.keyFile go together: give both or neither');
  }
  if (opts.certFile !== undefined && opts.keyFile !== undefined) {
    const pair = await readPair(opts.certFile, opts.keyFile);
    const why = pairProblem(pair.certPem, pair.keyPem, opts.clock.now());
    if (why) throw new ListenerCertificateError(`${opts.certFile} and ${opts.keyFile}: ${why}`);
    return { ...pair, pin: spkiPinFromPem(pair.certPem), certFile: opts.certFile, keyFile: opts.keyFile, generated: false };
  }

  const dir = join(opts.stateDir, MADE_CERT_DIR);
  const certFile = join(dir, MADE_CERT_FILE);
  const keyFile = join(dir, MADE_KEY_FILE);
  const kept = await readPair(certFile, keyFile).catch(() => null);
  if (kept && pairProblem(kept.certPem, kept.keyPem, opts.clock.now()) === null) {
    return { ...kept, pin: spkiPinFromPem(kept.certPem), certFile, keyFile, generated: false };
  }
  const host = hostname();
  const made = await makeSelfSignedCertificate({
    commonName: host,
    altNames: [...new Set([host, 'localhost', '127.0.0.1', '::1', ...(opts.altNames ?? [])])],
  });
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeAtomically(keyFile, made.keyPem, 0o600);
    await writeAtomically(certFile, made.certPem, 0o644);
  } catch (err) {
    throw new ListenerCertificateError(`cannot keep the notice listener's certificate in ${dir} (${(err as Error).message})`, { cause: err });
  }
  return { certPem: made.certPem, keyPem: made.keyPem, pin: made.pin, certFile, keyFile, generated: true };
}

async function readPair(certFile: string, keyFile: string): Promise<{ certPem: string; keyPem: string }> {
  const read = async (file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new ListenerCertificateError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
  };
  return { certPem: await read(certFile), keyPem: await read(keyFile) };
}

/** Why the pair is unusable (not PEM, expired, key of another certificate), or null. */
function pairProblem(certPem: string, keyPem: string, now: number): string | null {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'the key is not the certificate\'s';
    if (Date.parse(cert.validTo) <= now) return `the certificate expired on ${cert.validTo}`;
    return null;
  } catch (err) {
    return `not a PEM certificate and key (${(err as Error).message})`;
  }
}

/** Write to a temporary name, then rename: a crash leaves the old file or the new one, never half of one. */
async function writeAtomically(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode, flag: 'w' });
  await chmod(tmp, mode);
  await rename(tmp, file);
}
