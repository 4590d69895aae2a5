import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { fetchPresentedCertificate } from '../../src/tls/index.js';
import { testPki } from '../helpers/pki.js';

/**
 * fetchPresentedCertificate completes a handshake without verifying the
 * chain (src/tls/inspect.ts): that is safe only because it writes nothing
 * after the handshake. A real TLS server that records every application
 * byte it receives proves it: the inspection leaves it none, whichever TLS
 * version the server speaks, while a client that does write is recorded.
 */

const pki = testPki();

interface Recording {
  /** The server finished a handshake on the connection. */
  handshakes: number;
  /** Application bytes received after the handshake. */
  bytes: number;
  /** The connection has closed. */
  closed: Promise<void>;
}

interface RecordingServer {
  port: number;
  /** Records the next connection. */
  record(): Recording;
  close(): Promise<void>;
}

/** A TLS server (a self-signed certificate, as a PMP server has) that records what a connection sends it. */
async function recordingServer(version: tls.SecureVersion): Promise<RecordingServer> {
  let current: Recording | null = null;
  let closed = (): void => undefined;
  const server = tls.createServer({ cert: pki.selfSigned.certPem, key: pki.selfSigned.keyPem, minVersion: version, maxVersion: version });
  server.on('secureConnection', (socket) => {
    current!.handshakes++;
    socket.on('data', (chunk: Buffer) => {
      current!.bytes += chunk.length;
    });
    socket.on('error', () => undefined);
  });
  // The TCP connection's close ends whatever the client sent, handshake finished or not.
  server.on('connection', (raw) => raw.on('close', () => closed()));
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    record() {
      current = { handshakes: 0, bytes: 0, closed: new Promise<void>((resolve) => (closed = resolve)) };
      return current;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each<[tls.SecureVersion]>([['TLSv1.2'], ['TLSv1.3']])('fetchPresentedCertificate against a %s server', (version) => {
  let server: RecordingServer;
  beforeAll(async () => {
    server = await recordingServer(version);
  });
  afterAll(() => server.close());

  it('returns the untrusted certificate and writes no application byte on the socket', async () => {
    const rec = server.record();
    const presented = await fetchPresentedCertificate({ host: '127.0.0.1', port: server.port, servername: 'localhost', timeoutMs: 5_000 });
    await rec.closed;
    expect(new X509Certificate(presented.certPem).fingerprint256).toBe(new X509Certificate(pki.selfSigned.certPem).fingerprint256);
    expect(presented.authorized).toBe(false);
    // TLS 1.2: the server finished its handshake before the client did, so the connection was open to
    // application data. TLS 1.3: the client's Finished may not leave before the socket is destroyed.
    if (version === 'TLSv1.2') expect(rec.handshakes).toBe(1);
    expect(rec.bytes).toBe(0);
  });

  it('the recorder sees the bytes of a client that does write after the handshake (the check above can fail)', async () => {
    const rec = server.record();
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: [pki.selfSigned.certPem] });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    socket.end('GET / HTTP/1.1\r\n\r\n');
    await rec.closed;
    expect(rec.handshakes).toBe(1);
    expect(rec.bytes).toBe(18);
  });
});
