import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * An HTTPS "vault" on 127.0.0.1 port 0 whose answers a test writes itself:
 * bodies far past any limit, bodies that never end, echoes of the request's
 * headers. It counts what it wrote and sees when the client closed the
 * socket, which is how a test proves the client stopped reading.
 */

export type HostileHandler = (req: IncomingMessage, res: ServerResponse, stream: StreamRecord) => void;

/** What the server wrote for one request and how that ended. */
export interface StreamRecord {
  bytesWritten: number;
  /** The client closed the connection before the server finished the answer. */
  closedByClient: boolean;
  /** Settles when the connection has closed, whoever closed it. */
  readonly closed: Promise<void>;
}

export interface HostileVault {
  readonly url: string;
  /** What each request's answer does; replace it per test. */
  handler: HostileHandler;
  /** One record per request, in arrival order. */
  readonly streams: StreamRecord[];
  close(): Promise<void>;
}

export async function startHostileVault(tls: { certPem: string; keyPem: string }): Promise<HostileVault> {
  const sockets = new Set<Socket>();
  const streams: StreamRecord[] = [];
  const vault: HostileVault = {
    url: '',
    handler: (_req, res) => res.end(),
    streams,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    let markClosed!: () => void;
    const record: StreamRecord = { bytesWritten: 0, closedByClient: false, closed: new Promise<void>((r) => (markClosed = r)) };
    streams.push(record);
    res.on('close', () => {
      record.closedByClient = !res.writableFinished;
      markClosed();
    });
    vault.handler(req, res, record);
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (vault as { url: string }).url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return vault;
}

/**
 * Writes `chunk` as fast as the client reads it (waiting for drain, so the
 * server itself never buffers much), until `total` bytes are out (then ends
 * the answer) or the client closes.
 */
export function pump(res: ServerResponse, record: StreamRecord, chunk: Buffer, total: number): void {
  const more = (): void => {
    while (!res.destroyed && record.bytesWritten < total) {
      record.bytesWritten += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', more);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  more();
}
