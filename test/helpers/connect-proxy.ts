import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * A small real HTTP CONNECT proxy for tests: enforces Basic auth when
 * credentials are given, counts tunnels and records their targets. It
 * speaks plain HTTP/1.1 CONNECT as squid does (200 on success, 407 with
 * Proxy-Authenticate without credentials).
 */
export interface ConnectProxy {
  readonly port: number;
  /** `http://[user:password@]127.0.0.1:port` */
  url(credentials?: { user: string; password: string }): string;
  /** `host:port` of every tunnel opened, in order. */
  readonly tunnels: string[];
  /** CONNECT requests refused with 407. */
  readonly refused: number;
  close(): Promise<void>;
}

export async function startConnectProxy(options: { user?: string; password?: string } = {}): Promise<ConnectProxy> {
  const expected =
    options.user !== undefined ? `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}` : null;
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  let refused = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(405, { 'content-length': '0' });
    res.end();
  });
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  server.on('connection', track);
  server.on('connect', (req: http.IncomingMessage, client: Socket, head: Buffer) => {
    if (expected !== null && req.headers['proxy-authorization'] !== expected) {
      refused++;
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const target = req.url ?? '';
    const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(target);
    if (!m || m[1] === undefined || m[2] === undefined) {
      client.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = net.connect({ host: m[1], port: Number(m[2]) });
    track(upstream);
    upstream.once('connect', () => {
      tunnels.push(target);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n'));
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (credentials) =>
      credentials
        ? `http://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}`
        : `http://127.0.0.1:${port}`,
    tunnels,
    get refused() {
      return refused;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
