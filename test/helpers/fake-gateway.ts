import WebSocket from 'ws';
import type { ReferenceController } from '../../src/sim/controller/index.js';
import type { TestPki } from './pki.js';

/**
 * A fake gateway for the reference controller's suites: the `ws` package
 * speaking the protocol directly over real TLS, so that a test can send any
 * frame (malformed ones too) and wait for any frame back. Acks are counted
 * apart from the other frames.
 */

export interface Frame {
  type: string;
  id?: string;
  epoch?: number;
  role?: string;
  [k: string]: unknown;
}

export interface FakeGatewayOptions {
  gatewayId: string;
  /** Default 'site-1'. */
  clusterId?: string;
  /** The bearer token; null sends no Authorization header. */
  token: string | null;
  protocols?: string[];
  priority?: number;
  healthy?: boolean;
  autoPong?: boolean;
  /** Present the test PKI's client certificate. */
  clientCert?: boolean;
  /** Send hello (default true); an object's fields replace the hello's. */
  hello?: boolean | Record<string, unknown>;
}

export class FakeGateway {
  /** Every frame parsed, but acks. */
  readonly frames: Frame[] = [];
  /** Every text frame as received. */
  readonly raw: string[] = [];
  private readonly ackCounts = new Map<string, number>();
  private listeners: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    readonly ws: WebSocket,
    readonly gatewayId: string,
  ) {
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      this.raw.push(text);
      let frame: Frame | null = null;
      try {
        frame = JSON.parse(text) as Frame;
      } catch {
        // kept in raw only
      }
      if (frame?.type === 'ack') this.ackCounts.set(frame.id!, this.acks(frame.id!) + 1);
      else if (frame) this.frames.push(frame);
      for (const l of [...this.listeners]) l();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => undefined);
  }

  static async connect(ctl: ReferenceController, pki: TestPki, o: FakeGatewayOptions): Promise<FakeGateway> {
    const clusterId = o.clusterId ?? 'site-1';
    const headers: Record<string, string> = { 'X-Credgw-Gateway': o.gatewayId, 'X-Credgw-Cluster': clusterId };
    if (o.token !== null) headers['Authorization'] = `Bearer ${o.token}`;
    const ws = new WebSocket(ctl.wsUrl, o.protocols ?? ['credgw.v1'], {
      headers,
      ca: pki.ca.certPem,
      autoPong: o.autoPong ?? true,
      ...(o.clientCert ? { cert: pki.client.certPem, key: pki.client.keyPem } : {}),
    });
    const gw = new FakeGateway(ws, o.gatewayId);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
    if (o.hello !== false) {
      gw.send({
        type: 'hello',
        protocol: 1,
        gatewayId: o.gatewayId,
        clusterId,
        version: '0.0.1-test',
        priority: o.priority ?? 100,
        capabilities: ['listAccounts', 'getPassword'],
        vaults: [{ name: 'pmp', healthy: o.healthy ?? true }],
        ...(typeof o.hello === 'object' ? o.hello : {}),
      });
    }
    return gw;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The first frame matching (after `skip` others that match), waiting for it if needed. */
  async next(match: (f: Frame) => boolean, skip = 0): Promise<Frame> {
    await this.until(() => this.frames.filter(match).length > skip, 'the expected frame');
    return this.frames.filter(match)[skip]!;
  }

  welcome(): Promise<Frame> {
    return this.next((f) => f.type === 'welcome');
  }

  command(skip = 0): Promise<Frame> {
    return this.next((f) => f.type === 'command', skip);
  }

  answer(cmd: Frame, data: Record<string, unknown> = { ok: 1 }, epoch = cmd.epoch): void {
    this.send({ type: 'result', id: cmd.id, epoch, ok: true, data });
  }

  acks(id: string): number {
    return this.ackCounts.get(id) ?? 0;
  }

  /** Waits until `id` has been acked `count` times in all. */
  acked(id: string, count = 1): Promise<void> {
    return this.until(() => this.acks(id) >= count, `ack ${count} of ${id}`);
  }

  close(): Promise<unknown> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    this.ws.terminate();
    return this.closed;
  }

  /** Resolves once `check` holds; rejects if the connection closes before. */
  private until(check: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const listener = (): void => {
        if (!check()) return;
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve();
      };
      this.listeners.push(listener);
      listener();
      void this.closed.then(() => {
        if (!check()) reject(new Error(`${this.gatewayId}: closed before ${what}`));
      });
    });
  }
}
