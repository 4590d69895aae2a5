import { isIP } from 'node:net';
import tls from 'node:tls';
import { derToPem } from './pin.js';

/**
 * Looking at the certificate a server presents, without trusting it.
 *
 * This is the one place where a handshake completes without chain
 * verification, and on purpose: `credgw cert show` must display an
 * untrusted (self-signed) certificate so the admin can decide to trust it,
 * and a vault profile trusted by pin alone must learn the leaf it pins.
 * No application data is ever written to this socket: it is destroyed as
 * soon as the handshake ends (test/integration/tls-inspect.test.ts: a TLS
 * server that records application bytes receives none). Whatever it
 * returns is trusted only after its SPKI pin matches the configured one (or
 * the admin confirms it), and real connections then verify it again with
 * full verification.
 */

export interface PresentedCertificate {
  /** PEM of the leaf. */
  certPem: string;
  /** PEM of every certificate the server sent, leaf first. */
  chainPem: string[];
  /** Whether Node's default verification would have accepted it. */
  authorized: boolean;
  authorizationError: string | null;
}

export interface InspectOptions {
  host: string;
  port: number;
  servername?: string;
  timeoutMs?: number;
  /** An already-connected socket to run TLS over (for example a proxy tunnel). */
  socket?: import('node:net').Socket;
}

export function fetchPresentedCertificate(opts: InspectOptions): Promise<PresentedCertificate> {
  return new Promise((resolve, reject) => {
    const servername = opts.servername ?? (isIP(opts.host) !== 0 ? undefined : opts.host);
    const socket = tls.connect({
      host: opts.host,
      port: opts.port,
      ...(servername ? { servername } : {}),
      ...(opts.socket ? { socket: opts.socket } : {}),
      // Safe unverified: nothing but the handshake is written (test/integration/tls-inspect.test.ts), so an
      // impostor gets no token or secret, and what it presents is trusted only by pin or by the admin.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`TLS handshake with ${opts.host}:${opts.port} timed out`), { code: 'ETIMEDOUT' }));
    }, opts.timeoutMs ?? 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const chain: string[] = [];
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(derToPem(cert.raw));
        cert = cert.issuerCertificate;
      }
      const authorized = socket.authorized;
      const authorizationError = socket.authorizationError ? String(socket.authorizationError) : null;
      socket.destroy();
      const leaf = chain[0];
      if (!leaf) {
        reject(new Error(`${opts.host}:${opts.port} presented no certificate`));
        return;
      }
      resolve({ certPem: leaf, chainPem: chain, authorized, authorizationError });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
