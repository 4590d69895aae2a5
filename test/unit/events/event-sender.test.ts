import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRotationEvent, EventSender, Outbox, type SenderOutbox } from '../../../src/events/index.js';
import type { EventMessage } from '../../../src/protocol/index.js';

const ev = (n: number): EventMessage =>
  buildRotationEvent({ vault: 'pmp-prod', resourceName: `res-${n}`, accountName: 'administrator', rotatedAtMs: 1_796_292_902_000 + n * 1000, source: 'listener' });

/** An in-memory outbox with the Outbox's behaviour as the sender sees it. */
class FakeOutbox implements SenderOutbox {
  readonly events = new Map<string, EventMessage>();
  readonly sentCounts = new Map<string, number>();
  private listener: ((m: EventMessage) => void) | null = null;

  add(...ns: number[]): void {
    for (const n of ns) {
      const m = ev(n);
      this.events.set(m.id, m);
      this.listener?.(m);
    }
  }
  pending(): EventMessage[] {
    return [...this.events.values()];
  }
  get(id: string): EventMessage | undefined {
    return this.events.get(id);
  }
  ack(id: string): boolean {
    return this.events.delete(id);
  }
  noteSent(id: string): void {
    this.sentCounts.set(id, (this.sentCounts.get(id) ?? 0) + 1);
  }
  subscribe(listener: (m: EventMessage) => void): () => void {
    this.listener = listener;
    return () => {
      this.listener = null;
    };
  }
}

/** The link's send port: records frames, can be made to refuse (connection gone). */
function link() {
  const frames: EventMessage[] = [];
  const port = { open: true, send: (m: EventMessage) => (port.open ? (frames.push(m), true) : false) };
  return { frames, port, sent: () => frames.map((f) => f.data.resourceName) };
}

describe('EventSender', () => {
  it('sends nothing before a welcome; after it, every pending event in order, at most maxInFlight unacked', () => {
    const outbox = new FakeOutbox();
    outbox.add(1, 2, 3, 4, 5);
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send, maxInFlight: 2 });
    expect(l.frames).toHaveLength(0);
    sender.welcomed();
    expect(l.sent()).toEqual(['res-1', 'res-2']);
    expect(sender.stats()).toEqual({ up: true, inFlight: 2, waiting: 3 });
    sender.ack(ev(2).id);
    expect(l.sent()).toEqual(['res-1', 'res-2', 'res-3']);
    sender.ack(ev(1).id);
    sender.ack(ev(3).id);
    expect(l.sent()).toEqual(['res-1', 'res-2', 'res-3', 'res-4', 'res-5']);
    sender.ack(ev(4).id);
    sender.ack(ev(5).id);
    expect(outbox.events.size).toBe(0);
    expect(sender.stats()).toEqual({ up: true, inFlight: 0, waiting: 0 });
  });

  it('an event stored while the link is up goes out at once when there is room, else after an ack', () => {
    const outbox = new FakeOutbox();
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send, maxInFlight: 1 });
    sender.welcomed();
    outbox.add(1);
    expect(l.sent()).toEqual(['res-1']);
    outbox.add(2);
    expect(l.sent()).toEqual(['res-1']);
    sender.ack(ev(1).id);
    expect(l.sent()).toEqual(['res-1', 'res-2']);
  });

  it('events stored while the link is down wait for the welcome', () => {
    const outbox = new FakeOutbox();
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send });
    outbox.add(1, 2);
    expect(l.frames).toHaveLength(0);
    sender.welcomed();
    expect(l.sent()).toEqual(['res-1', 'res-2']);
  });

  it('a lost link forgets what was in flight: all of it goes again after the next welcome', () => {
    const outbox = new FakeOutbox();
    outbox.add(1, 2, 3);
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send, maxInFlight: 2 });
    sender.welcomed();
    sender.ack(ev(1).id);
    sender.linkDown();
    expect(sender.stats()).toEqual({ up: false, inFlight: 0, waiting: 0 });
    outbox.add(4);
    sender.welcomed();
    expect(l.sent()).toEqual(['res-1', 'res-2', 'res-3', 'res-2', 'res-3']);
    expect(outbox.sentCounts.get(ev(2).id)).toBe(2);
    expect(outbox.sentCounts.get(ev(1).id)).toBe(1);
  });

  it('a frame the link could not send stops the sending until the next welcome, and is sent then', () => {
    const outbox = new FakeOutbox();
    outbox.add(1, 2);
    const l = link();
    l.port.open = false;
    const sender = new EventSender({ outbox, send: l.port.send });
    sender.welcomed();
    expect(l.frames).toHaveLength(0);
    expect(sender.stats().up).toBe(false);
    outbox.add(3);
    expect(l.frames).toHaveLength(0);
    expect(outbox.sentCounts.size).toBe(0);
    l.port.open = true;
    sender.welcomed();
    expect(l.sent()).toEqual(['res-1', 'res-2', 'res-3']);
  });

  it('skips events acked or dropped after they were queued; an ack of an unknown id is harmless', () => {
    const outbox = new FakeOutbox();
    outbox.add(1, 2, 3);
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send, maxInFlight: 1 });
    sender.welcomed();
    outbox.events.delete(ev(2).id); // dropped by the bound
    sender.ack('ev-nobody-knows');
    sender.ack(ev(1).id);
    expect(l.sent()).toEqual(['res-1', 'res-3']);
  });

  it('stop() unsubscribes from the outbox', () => {
    const outbox = new FakeOutbox();
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send });
    sender.welcomed();
    sender.stop();
    outbox.add(1);
    expect(l.frames).toHaveLength(0);
  });

  it('a long session does not keep every id it ever sent', () => {
    const outbox = new FakeOutbox();
    const l = link();
    const sender = new EventSender({ outbox, send: l.port.send, maxInFlight: 1 });
    sender.welcomed();
    for (let n = 0; n < 3000; n++) {
      outbox.add(n);
      sender.ack(ev(n).id);
    }
    expect(l.frames).toHaveLength(3000);
    expect(sender.stats()).toEqual({ up: true, inFlight: 0, waiting: 0 });
    expect((sender as unknown as { queue: string[] }).queue.length).toBeLessThan(2100);
  });

  it('refuses a maxInFlight below 1', () => {
    expect(() => new EventSender({ outbox: new FakeOutbox(), send: () => true, maxInFlight: 0 })).toThrow(RangeError);
  });
});

describe('EventSender with the real Outbox', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credgw-sender-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records, sends, acks; after a restart only the unacked are sent again', async () => {
    let outbox = await Outbox.open({ dir });
    let frames: EventMessage[] = [];
    let sender = new EventSender({ outbox, send: (m) => (frames.push(m), true) });
    sender.welcomed();
    await outbox.record({ vault: 'pmp-prod', resourceName: 'a', accountName: 'root', rotatedAtMs: 1_796_292_902_000, source: 'listener' });
    await outbox.record({ vault: 'pmp-prod', resourceName: 'b', accountName: 'root', rotatedAtMs: 1_796_292_902_000, source: 'syslog' });
    expect(frames.map((f) => f.data.resourceName)).toEqual(['a', 'b']);
    sender.ack(frames[0]!.id);
    sender.stop();
    await outbox.close();

    outbox = await Outbox.open({ dir });
    frames = [];
    sender = new EventSender({ outbox, send: (m) => (frames.push(m), true) });
    sender.welcomed();
    expect(frames.map((f) => f.data.resourceName)).toEqual(['b']);
    expect(outbox.tally.get('syslog', 'resent')).toBe(1);
    sender.stop();
    await outbox.close();
  });
});
