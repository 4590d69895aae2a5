import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import pino from 'pino';
import type { EventMessage } from '../../../src/protocol/index.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { EventStore, EventStreams, sseFrame } from '../../../src/sim/controller/index.js';

/** A response that records what is written and refuses writes while `full`. */
class FakeResponse extends EventEmitter {
  status = 0;
  headers: Record<string, string> = {};
  chunks: string[] = [];
  full = false;
  destroyed = false;
  writableEnded = false;
  writableLength = 0;

  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    return this;
  }
  write(text: string): boolean {
    this.chunks.push(text);
    return !this.full;
  }
  end(): void {
    this.writableEnded = true;
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** The socket took everything. */
  drain(): void {
    this.full = false;
    this.emit('drain');
  }
  text(): string {
    return this.chunks.join('');
  }
  ids(): number[] {
    return [...this.text().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  }
}

function event(id: string): EventMessage {
  return { type: 'event', id, name: 'credentialRotated', data: { vault: 'v', resourceName: 'r', accountName: 'a', rotatedAt: '2026-12-03T10:15:02Z', source: 'audit' } };
}

const HB = 1000;
const silent = pino({ level: 'silent' });
let clock: ManualClock;
let store: EventStore;
let streams: EventStreams;

async function setUp(maxStreams = 10): Promise<void> {
  clock = new ManualClock();
  store = await EventStore.open({ file: null, clock, logger: silent, maxPerCluster: 100 });
  streams = new EventStreams({ store, clock, logger: silent, heartbeatMs: HB, maxStreams });
}

function open(clusterId: string, after = 0): FakeResponse {
  const res = new FakeResponse();
  streams.open(clusterId, after, res as unknown as ServerResponse);
  return res;
}

afterEach(async () => {
  streams.stop();
  await store.close();
});

describe('EventStreams', () => {
  it('sends the held events after the cursor, then each one as it is stored, only of its cluster', async () => {
    await setUp();
    await store.record('site-1', 'gw-a', event('ev-1'));
    await store.record('site-1', 'gw-a', event('ev-2'));
    const res = open('site-1', 1);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.ids()).toEqual([2]);
    await store.record('site-2', 'gw-x', event('ev-9'));
    await store.record('site-1', 'gw-b', event('ev-3'));
    expect(res.ids()).toEqual([2, 3]);
    expect(res.text()).toContain(sseFrame(store.page('site-1', 2, 1).events[0]!));
  });

  it('stops writing when the socket refuses and goes on at drain', async () => {
    await setUp();
    const res = open('site-1');
    res.full = true;
    await store.record('site-1', 'gw-a', event('ev-1'));
    await store.record('site-1', 'gw-a', event('ev-2'));
    await store.record('site-1', 'gw-a', event('ev-3'));
    // The refused write is in the socket's buffer; the others wait in the store, not in a queue.
    expect(res.ids()).toEqual([1]);
    res.drain();
    expect(res.ids()).toEqual([1, 2, 3]);
  });

  it('heartbeats a quiet stream; drops one that takes nothing for a whole heartbeat interval', async () => {
    await setUp();
    const quiet = open('site-1');
    const slow = open('site-1');
    const slowish = open('site-1');
    slow.full = true;
    slowish.full = true;
    await store.record('site-1', 'gw-a', event('ev-1'));
    clock.advance(HB);
    expect(quiet.text()).toContain(': heartbeat\n\n');
    expect(slow.destroyed).toBe(false);
    slowish.drain();
    slowish.full = true;
    await store.record('site-1', 'gw-a', event('ev-2'));
    clock.advance(HB);
    expect(slow.destroyed).toBe(true);
    expect(slowish.destroyed).toBe(false);
    expect(quiet.destroyed).toBe(false);
    expect(streams.size).toBe(2);
    clock.advance(HB);
    expect(slowish.destroyed).toBe(true);
  });

  it('a cursor it never gave starts over after a reset notice; dropped events are announced as a gap', async () => {
    await setUp();
    await store.record('site-1', 'gw-a', event('ev-1'));
    const reset = open('site-1', 7);
    expect(reset.text()).toContain(`event: reset\ndata: ${JSON.stringify({ after: 7, latest: 1 })}\n\n`);
    expect(reset.ids()).toEqual([1]);

    const small = await EventStore.open({ file: null, clock, logger: silent, maxPerCluster: 2 });
    const smallStreams = new EventStreams({ store: small, clock, logger: silent, heartbeatMs: HB });
    try {
      for (let i = 1; i <= 5; i++) await small.record('site-1', 'gw-a', event(`ev-${i}`));
      const res = new FakeResponse();
      smallStreams.open('site-1', 1, res as unknown as ServerResponse);
      expect(res.text()).toContain(`event: gap\ndata: ${JSON.stringify({ after: 1, next: 4, missed: 2 })}\n\n`);
      expect(res.ids()).toEqual([4, 5]);
    } finally {
      smallStreams.stop();
      await small.close();
    }
  });

  it('refuses past the limit and after stop; stop ends every stream', async () => {
    await setUp(2);
    const a = open('site-1');
    const b = open('site-2');
    expect(streams.refusal()).toBe('full');
    streams.stop();
    expect(a.writableEnded && b.writableEnded).toBe(true);
    expect(streams.refusal()).toBe('stopping');
    expect(clock.pending).toBe(0);
    await store.record('site-1', 'gw-a', event('ev-1'));
    expect(a.ids()).toEqual([]);
  });
});
