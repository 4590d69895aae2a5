import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls from 'node:tls';
import pino from 'pino';
import { Agent, request } from 'undici';
import { runSimController } from '../../src/cli/sim-controller.js';
import { ControllerLink } from '../../src/link/index.js';
import { systemClock } from '../../src/shared/clock.js';
import { startReferenceController, type ReferenceController, type ReferenceControllerOptions } from '../../src/sim/controller/server.js';
import { capture } from '../helpers/cli.js';
import { FakeGateway } from '../helpers/fake-gateway.js';
import { testPki, type TestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The reference controller's events over real sockets and real TLS: fake
 * gateways (the `ws` package, speaking the protocol directly) send events
 * and read acks; the HTTP API pages them; Server-Sent Events stream them.
 */

const TOKEN = 'gw-token-Ev7Qk2mZp9';
const API_TOKEN = 'api-token-Lx4Rw8Tn1c';

function eventFrame(id: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'event',
    id,
    name: 'credentialRotated',
    data: {
      vault: 'pmp-prod',
      resourceId: '301',
      resourceName: 'Windows_Jump_Box',
      dnsName: 'jump01.corp.local',
      accountName: 'administrator',
      rotatedAt: '2026-12-03T10:15:02.120Z',
      source: 'listener',
      ...patch,
    },
  };
}

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** A Server-Sent Events client on node:https: it reads what comes and parses it. */
type StreamedEvent = { seq: number; id: string; gatewayId: string; data: Record<string, unknown> };

class SseClient {
  readonly messages: SseMessage[] = [];
  private readonly parsed: StreamedEvent[] = [];
  readonly comments: string[] = [];
  private buffer = '';
  private listeners: Array<() => void> = [];
  readonly ended: Promise<void>;

  private constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const message: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else if (line.startsWith('id: ')) message.id = line.slice(4);
          else if (line.startsWith('event: ')) message.event = line.slice(7);
          else if (line.startsWith('data: ')) message.data = line.slice(6);
        }
        if (Object.keys(message).length > 0) this.messages.push(message);
        if (message.event === 'credentialRotated') this.parsed.push(JSON.parse(message.data!) as StreamedEvent);
      }
      for (const l of this.listeners) l();
    });
    this.ended = new Promise((resolve) => res.on('end', () => resolve()));
    res.on('error', () => undefined);
  }

  static open(url: string, o: { ca: string; token?: string | null; lastEventId?: string }): Promise<SseClient | { status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (o.token !== null) headers['authorization'] = `Bearer ${o.token ?? API_TOKEN}`;
      if (o.lastEventId !== undefined) headers['last-event-id'] = o.lastEventId;
      const req = https.get(url, { ca: o.ca, headers, agent: false }, (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          return;
        }
        resolve(new SseClient(res));
      });
      req.on('error', reject);
    });
  }

  /** The events (not gap / reset notices) received so far, parsed. */
  events(): readonly StreamedEvent[] {
    return this.parsed;
  }

  until(check: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const l = (): void => {
        if (!check()) return;
        this.listeners = this.listeners.filter((x) => x !== l);
        resolve();
      };
      this.listeners.push(l);
      l();
    });
  }

  close(): void {
    this.res.destroy();
  }
}

async function openStream(url: string, o: { ca: string; token?: string | null; lastEventId?: string }): Promise<SseClient> {
  const s = await SseClient.open(url, o);
  if (!(s instanceof SseClient)) throw new Error(`stream refused: ${s.status} ${s.body}`);
  return s;
}

describe('reference controller: events', () => {
  let pki: TestPki;
  let agent: Agent;
  let dir: string;
  let ctl: ReferenceController | null = null;
  let gateways: FakeGateway[] = [];
  let streams: SseClient[] = [];
  let logLines: string[] = [];

  beforeAll(() => {
    pki = testPki();
    agent = new Agent({ connect: { ca: pki.ca.certPem } });
    dir = mkdtempSync(join(tmpdir(), 'credgw-ctl-events-'));
  });
  afterAll(async () => {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const s of streams) s.close();
    streams = [];
    await Promise.all(gateways.map((g) => g.close()));
    gateways = [];
    await ctl?.close();
    ctl = null;
  });

  async function start(extra: Partial<ReferenceControllerOptions> = {}): Promise<ReferenceController> {
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    ctl = await startReferenceController({
      tokens: [TOKEN],
      apiTokens: [API_TOKEN],
      tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem },
      heartbeatMs: 200,
      logger: pino({ level: 'debug' }, sink),
      ...extra,
    });
    return ctl;
  }

  /** A gateway with the rotationEvents capability, connected and welcomed. */
  async function gw(gatewayId: string, clusterId = 'site-1'): Promise<FakeGateway> {
    const g = await FakeGateway.connect(ctl!, pki, {
      gatewayId,
      clusterId,
      token: TOKEN,
      hello: { capabilities: ['listAccounts', 'getPassword', 'rotationEvents'], vaults: [{ name: 'pmp-prod', healthy: true }] },
    });
    gateways.push(g);
    await g.welcome();
    return g;
  }

  async function stream(clusterId: string, o: { lastEventId?: string; query?: string } = {}): Promise<SseClient> {
    const s = await openStream(`${ctl!.httpUrl}/api/v1/clusters/${clusterId}/events/stream${o.query ?? ''}`, { ca: pki.ca.certPem, ...o });
    streams.push(s);
    return s;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function get(path: string, token: string | null = API_TOKEN): Promise<{ status: number; json: any }> {
    const res = await request(`${ctl!.httpUrl}${path}`, { dispatcher: agent, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: res.statusCode, json: await res.body.json() };
  }

  it('acks an event once stored and every repeat of it, storing it once', async () => {
    await start();
    const a = await gw('gw-a');
    a.send(eventFrame('ev-1'));
    await a.acked('ev-1');
    a.send(eventFrame('ev-1'));
    a.send(eventFrame('ev-1', { source: 'syslog' }));
    await a.acked('ev-1', 3);
    const page = await get('/api/v1/clusters/site-1/events');
    expect(page.status).toBe(200);
    expect(page.json.events).toHaveLength(1);
    expect(page.json.events[0]).toMatchObject({ seq: 1, clusterId: 'site-1', id: 'ev-1', name: 'credentialRotated', gatewayId: 'gw-a', data: { source: 'listener', resourceId: '301' } });
    expect(page.json).toMatchObject({ next: 1, more: false, reset: false, missed: 0, oldest: 1, latest: 1, counts: { held: 1, repeats: 2, dropped: 0 } });
  });

  it("stores both gateways' copies of one change once, whichever role sent them", async () => {
    await start();
    const a = await gw('gw-a');
    const b = await gw('gw-b');
    expect(ctl!.cluster('site-1')?.activeGatewayId).toBe('gw-a');
    b.send(eventFrame('ev-5d2a'));
    await b.acked('ev-5d2a');
    a.send(eventFrame('ev-5d2a', { source: 'syslog', resourceId: undefined }));
    await a.acked('ev-5d2a');
    const page = await get('/api/v1/clusters/site-1/events');
    expect(page.json.events.map((e: { id: string; gatewayId: string }) => [e.id, e.gatewayId])).toEqual([['ev-5d2a', 'gw-b']]);
    expect(page.json.counts).toMatchObject({ held: 1, repeats: 1 });
  });

  it('keeps clusters apart', async () => {
    await start();
    const a = await gw('gw-a', 'site-1');
    const x = await gw('gw-x', 'site-2');
    a.send(eventFrame('ev-1'));
    x.send(eventFrame('ev-1'));
    await Promise.all([a.acked('ev-1'), x.acked('ev-1')]);
    expect((await get('/api/v1/clusters/site-2/events')).json.events.map((e: { gatewayId: string }) => e.gatewayId)).toEqual(['gw-x']);
    expect((await get('/api/v1/clusters/site-1/events')).json.events.map((e: { gatewayId: string }) => e.gatewayId)).toEqual(['gw-a']);
  });

  it('an event with a password field is a protocol violation: not stored, not acked, its value never logged', async () => {
    await start();
    const a = await gw('gw-a');
    a.send(eventFrame('ev-pw', { newPassword: 'Sup3r-S3cret-Value' }));
    a.send(eventFrame('ev-ok'));
    await a.acked('ev-ok');
    expect(a.acks('ev-pw')).toBe(0);
    expect((await get('/api/v1/clusters/site-1/events')).json.events.map((e: { id: string }) => e.id)).toEqual(['ev-ok']);
    const log = logLines.join('');
    expect(log).toContain('event.data must not carry a password field');
    expect(log).not.toContain('Sup3r-S3cret-Value');
  });

  it('pages with after= and limit=, and refuses bad cursors, limits and cluster ids', async () => {
    await start();
    const a = await gw('gw-a');
    for (let i = 1; i <= 25; i++) a.send(eventFrame(`ev-${i}`));
    await a.acked('ev-25');
    const seen: string[] = [];
    let after = 0;
    for (let pages = 0; ; pages++) {
      const page = await get(`/api/v1/clusters/site-1/events?after=${after}&limit=10`);
      expect(page.status).toBe(200);
      seen.push(...page.json.events.map((e: { id: string }) => e.id));
      after = page.json.next;
      if (!page.json.more) {
        expect(pages).toBe(2);
        break;
      }
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `ev-${i + 1}`));
    expect((await get('/api/v1/clusters/site-1/events?after=25')).json).toMatchObject({ events: [], next: 25, more: false });
    expect((await get('/api/v1/clusters/site-1/events?after=99')).json).toMatchObject({ reset: true, next: 25 });
    expect((await get('/api/v1/clusters/no-such/events')).json).toMatchObject({ clusterId: 'no-such', events: [], oldest: null });
    for (const q of ['after=-1', 'after=x', 'limit=0', 'limit=1001', 'limit=2.5']) {
      expect((await get(`/api/v1/clusters/site-1/events?${q}`)).json.error.code).toBe('BAD_REQUEST');
    }
    expect((await get('/api/v1/clusters/a%20b/events')).json.error.code).toBe('BAD_CLUSTER_ID');
  });

  it('refuses the events page and the stream without the API token', async () => {
    await start();
    for (const token of [null, 'wrong']) {
      const page = await get('/api/v1/clusters/site-1/events', token);
      expect(page.status).toBe(401);
      const s = await SseClient.open(`${ctl!.httpUrl}/api/v1/clusters/site-1/events/stream`, { ca: pki.ca.certPem, token });
      expect(s).toMatchObject({ status: 401 });
    }
    expect(logLines.join('')).not.toContain(API_TOKEN);
  });

  it('streams the held events, then live ones, with heartbeats; Last-Event-ID resumes after the last one read', async () => {
    await start({ eventStreamHeartbeatMs: 50 });
    const a = await gw('gw-a');
    a.send(eventFrame('ev-1'));
    a.send(eventFrame('ev-2'));
    await a.acked('ev-2');
    const s = await stream('site-1');
    await s.until(() => s.events().length === 2);
    a.send(eventFrame('ev-3'));
    await s.until(() => s.events().length === 3);
    expect(s.events().map((e) => [e.seq, e.id])).toEqual([
      [1, 'ev-1'],
      [2, 'ev-2'],
      [3, 'ev-3'],
    ]);
    expect(s.messages.filter((m) => m.event === 'credentialRotated').map((m) => m.id)).toEqual(['1', '2', '3']);
    await s.until(() => s.comments.includes('heartbeat'));
    s.close();

    a.send(eventFrame('ev-4'));
    a.send(eventFrame('ev-5'));
    await a.acked('ev-5');
    // An EventSource reconnects to its first URL with Last-Event-ID: the header wins over after=.
    const resumed = await stream('site-1', { lastEventId: '3', query: '?after=0' });
    await resumed.until(() => resumed.events().length === 2);
    expect(resumed.events().map((e) => e.id)).toEqual(['ev-4', 'ev-5']);
    const byQuery = await stream('site-1', { query: '?after=4' });
    await byQuery.until(() => byQuery.events().length === 1);
    expect(byQuery.events().map((e) => e.id)).toEqual(['ev-5']);
  });

  it('a cursor the controller never gave starts the stream over, after a reset notice; a bad one is 400', async () => {
    await start();
    const a = await gw('gw-a');
    a.send(eventFrame('ev-1'));
    await a.acked('ev-1');
    const s = await stream('site-1', { lastEventId: '40' });
    await s.until(() => s.events().length === 1);
    expect(s.messages[0]).toEqual({ event: 'reset', data: JSON.stringify({ after: 40, latest: 1 }) });
    const bad = await SseClient.open(`${ctl!.httpUrl}/api/v1/clusters/site-1/events/stream`, { ca: pki.ca.certPem, lastEventId: 'abc' });
    expect(bad).toMatchObject({ status: 400 });
  });

  it('tells a stream reader the events it missed when the bound dropped them', async () => {
    await start({ maxEventsPerCluster: 3 });
    const a = await gw('gw-a');
    for (let i = 1; i <= 6; i++) a.send(eventFrame(`ev-${i}`));
    await a.acked('ev-6');
    const s = await stream('site-1', { lastEventId: '1' });
    await s.until(() => s.events().length === 3);
    expect(s.messages[0]).toEqual({ event: 'gap', data: JSON.stringify({ after: 1, next: 4, missed: 2 }) });
    expect(s.events().map((e) => e.seq)).toEqual([4, 5, 6]);
  });

  it('refuses streams over the limit with 503', async () => {
    await start({ maxEventStreams: 1 });
    await stream('site-1');
    const second = await SseClient.open(`${ctl!.httpUrl}/api/v1/clusters/site-1/events/stream`, { ca: pki.ca.certPem });
    expect(second).toMatchObject({ status: 503 });
    expect(JSON.parse((second as { body: string }).body).error.code).toBe('TOO_MANY_STREAMS');
  });

  it('drops a stream client that reads nothing, and the others keep up', async () => {
    await start({ eventStreamHeartbeatMs: 100, heartbeatMs: 1000 });
    const a = await gw('gw-a');
    const fast = await stream('site-1');
    // A client that sends its request and never reads: the socket buffers fill, then the controller cuts it.
    const url = new URL(`${ctl!.httpUrl}/api/v1/clusters/site-1/events/stream`);
    const slow = tls.connect({ host: url.hostname, port: Number(url.port), ca: pki.ca.certPem, servername: 'localhost' });
    await new Promise<void>((resolve) => slow.once('secureConnect', () => resolve()));
    slow.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${API_TOKEN}\r\nAccept: text/event-stream\r\n\r\n`);
    slow.pause();
    slow.on('error', () => undefined);
    const dropped = (): boolean => logLines.some((l) => l.includes('event stream client too slow, dropped'));
    const big = { resourceName: 'r'.repeat(500), accountName: 'a'.repeat(500), dnsName: 'd'.repeat(500) };
    let sent = 0;
    try {
      // Each event is about 1.7 KB on the stream; loopback buffers take a few MB (it depends on the
      // host) before the slow client's socket refuses a write: send batches until the controller
      // has let a few heartbeats pass on a stuck client.
      for (let batch = 0; batch < 40 && !dropped(); batch++) {
        for (let i = 0; i < 250; i++) a.send(eventFrame(`ev-${++sent}`, big));
        await a.acked(`ev-${sent}`);
        await fast.until(() => fast.events().length === sent);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(dropped()).toBe(true);
      expect(fast.events().at(-1)!.seq).toBe(sent);
      expect(ctl!.cluster('site-1')?.activeGatewayId).toBe('gw-a');
    } finally {
      slow.destroy();
    }
  });

  it('ends every stream cleanly when the controller stops', async () => {
    await start();
    const s = await stream('site-1');
    await s.until(() => s.comments.length > 0);
    await ctl!.close();
    await s.ended;
    ctl = null;
  });

  it('keeps the events across a restart when it has a state file', async () => {
    const stateFile = join(dir, 'restart-state.json');
    const first = await start({ stateFile });
    expect(first.eventsFile).toBe(`${stateFile}.events`);
    const a = await gw('gw-a');
    a.send(eventFrame('ev-1'));
    a.send(eventFrame('ev-2'));
    await a.acked('ev-2');
    await Promise.all(gateways.map((g) => g.close()));
    gateways = [];
    await first.close();

    await start({ stateFile });
    const b = await gw('gw-b');
    b.send(eventFrame('ev-2'));
    b.send(eventFrame('ev-3'));
    await b.acked('ev-3');
    expect(b.acks('ev-2')).toBe(1);
    const page = await get('/api/v1/clusters/site-1/events');
    expect(page.json.events.map((e: { seq: number; id: string; gatewayId: string }) => [e.seq, e.id, e.gatewayId])).toEqual([
      [1, 'ev-1', 'gw-a'],
      [2, 'ev-2', 'gw-a'],
      [3, 'ev-3', 'gw-b'],
    ]);
    const s = await stream('site-1', { lastEventId: '2' });
    await s.until(() => s.events().length === 1);
    expect(s.events()[0]!.id).toBe('ev-3');
  });

  it("the gateway's link hands the controller's ack to its 'ack' event", async () => {
    await start();
    const link = new ControllerLink({
      controller: {
        url: ctl!.wsUrl,
        token: 'env://UNUSED',
        insecure: false,
        caFile: join(pki.dir, 'ca.crt'),
        pinSha256: null,
        certFile: null,
        keyFile: null,
        proxy: null,
        proxyPassword: null,
      },
      gatewayId: 'gw-link',
      clusterId: 'site-1',
      priority: 100,
      version: '0.1.0-test',
      capabilities: ['listAccounts', 'getPassword', 'rotationEvents'],
      readToken: async () => TOKEN,
      vaultHealth: () => [{ name: 'pmp-prod', healthy: true }],
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      env: {},
    });
    try {
      const acks: string[] = [];
      link.on('ack', (id) => acks.push(id));
      link.start();
      await new Promise<void>((resolve) => link.once('welcome', () => resolve()));
      expect(link.send(eventFrame('ev-link') as never)).toBe(true);
      await waitFor(() => acks.length > 0, 'the ack');
      expect(acks).toEqual(['ev-link']);
      expect(link.counters.violations).toBe(0);
      expect((await get('/api/v1/clusters/site-1/events')).json.events.map((e: { gatewayId: string }) => e.gatewayId)).toEqual(['gw-link']);
    } finally {
      await link.stop();
    }
  });

  it('credgw sim controller prints the events URL and the stream URL, and where events are kept', async () => {
    const stateFile = join(dir, 'cli-state.json');
    for (const kept of [null, stateFile]) {
      const out = capture();
      const running = await runSimController(
        { port: 0, tls: false, tokenRefs: ['env://CTL_TOKEN'], env: { CTL_TOKEN: TOKEN }, stateFile: kept },
        out.stream,
        pino({ level: 'silent' }),
      );
      try {
        const events = `${running.controller.httpUrl}/api/v1/clusters/{clusterId}/events`;
        expect(out.text()).toContain(`events      : ${events}?after=SEQ`);
        expect(out.text()).toContain(`event stream: ${events}/stream (Server-Sent Events, Last-Event-ID resumes)`);
        expect(out.text()).toContain(kept ? `events kept : in ${stateFile}.events` : 'events kept : in memory');
      } finally {
        await running.close();
      }
    }
  });
});
