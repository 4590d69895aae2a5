import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { EventMessage } from '../../../src/protocol/index.js';
import { ManualClock } from '../../../src/shared/clock.js';
import {
  EVENT_JOURNAL_HEADER,
  EventJournalError,
  EventStore,
  MAX_UNWRITTEN_EVENTS,
  parseEventLine,
  type EventStoreOptions,
} from '../../../src/sim/controller/index.js';

function event(id: string, patch: Partial<EventMessage['data']> = {}): EventMessage {
  return {
    type: 'event',
    id,
    name: 'credentialRotated',
    data: { vault: 'pmp-prod', resourceName: 'Windows_Jump_Box', accountName: 'administrator', rotatedAt: '2026-12-03T10:15:02Z', source: 'listener', ...patch },
  };
}

/** A logger whose lines the test can read. */
function captured(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const text: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => text.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const clock = new ManualClock(Date.UTC(2026, 11, 3, 10, 15, 5));
const silent = pino({ level: 'silent' });
const opened: EventStore[] = [];

async function openStore(o: Partial<EventStoreOptions> = {}): Promise<EventStore> {
  const store = await EventStore.open({ file: null, clock, logger: silent, ...o });
  opened.push(store);
  return store;
}

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

describe('EventStore in memory', () => {
  it('stores an event once by id and acks repeats; seqs are 1, 2, 3 in the order stored', async () => {
    const store = await openStore();
    expect(await store.record('site-1', 'gw-a', event('ev-1'))).toBe('stored');
    expect(await store.record('site-1', 'gw-b', event('ev-1', { source: 'syslog' }))).toBe('repeat');
    expect(await store.record('site-1', 'gw-a', event('ev-2'))).toBe('stored');
    expect(await store.record('site-1', 'gw-b', event('ev-3'))).toBe('stored');
    const page = store.page('site-1', 0, 10);
    expect(page.events.map((e) => [e.seq, e.id, e.gatewayId])).toEqual([
      [1, 'ev-1', 'gw-a'],
      [2, 'ev-2', 'gw-a'],
      [3, 'ev-3', 'gw-b'],
    ]);
    // The first copy is the one kept.
    expect(page.events[0]!.data.source).toBe('listener');
    expect(page.events[0]!.receivedAt).toBe('2026-12-03T10:15:05.000Z');
    expect(page.events[0]!.clusterId).toBe('site-1');
    expect(store.stats('site-1')).toEqual({ oldest: 1, latest: 3, held: 3, repeats: 1, dropped: 0 });
  });

  it('keeps clusters apart: the same id in two clusters is two events', async () => {
    const store = await openStore();
    expect(await store.record('site-1', 'gw-a', event('ev-1'))).toBe('stored');
    expect(await store.record('site-2', 'gw-x', event('ev-1'))).toBe('stored');
    expect(store.page('site-2', 0, 10).events.map((e) => e.seq)).toEqual([1]);
  });

  it('pages with after and limit: next is the cursor to read from, more says whether to', async () => {
    const store = await openStore();
    for (let i = 1; i <= 5; i++) await store.record('site-1', 'gw-a', event(`ev-${i}`));
    const first = store.page('site-1', 0, 2);
    expect(first.events.map((e) => e.seq)).toEqual([1, 2]);
    expect(first).toMatchObject({ next: 2, more: true, reset: false, missed: 0 });
    const second = store.page('site-1', first.next, 2);
    expect(second.events.map((e) => e.seq)).toEqual([3, 4]);
    const last = store.page('site-1', second.next, 2);
    expect(last.events.map((e) => e.seq)).toEqual([5]);
    expect(last).toMatchObject({ next: 5, more: false });
    expect(store.page('site-1', 5, 2)).toEqual({ events: [], next: 5, more: false, reset: false, missed: 0 });
    expect(store.page('unknown', 0, 2)).toEqual({ events: [], next: 0, more: false, reset: false, missed: 0 });
  });

  it('a cursor above any seq the cluster has had reads from the start, flagged reset', async () => {
    const store = await openStore();
    await store.record('site-1', 'gw-a', event('ev-1'));
    const page = store.page('site-1', 500, 10);
    expect(page.reset).toBe(true);
    expect(page.events.map((e) => e.seq)).toEqual([1]);
    expect(store.page('unknown', 3, 10)).toMatchObject({ reset: true, next: 0 });
  });

  it('holds the newest maxPerCluster; a reader behind them is told how many it missed', async () => {
    const { logger, lines } = captured();
    const store = await openStore({ maxPerCluster: 3, logger });
    for (let i = 1; i <= 5; i++) await store.record('site-1', 'gw-a', event(`ev-${i}`));
    expect(store.page('site-1', 0, 10)).toMatchObject({ missed: 2, next: 5 });
    expect(store.page('site-1', 0, 10).events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(store.page('site-1', 1, 10).missed).toBe(1);
    expect(store.page('site-1', 2, 10).missed).toBe(0);
    expect(store.stats('site-1')).toMatchObject({ oldest: 3, latest: 5, held: 3, dropped: 2 });
    // Warned once, when the cluster first dropped.
    expect(lines().filter((l) => l['msg'] === 'event store full, oldest events dropped')).toHaveLength(1);
    // A repeat of a dropped event is no longer known: it is stored again (a duplicate, never a loss).
    expect(await store.record('site-1', 'gw-a', event('ev-1'))).toBe('stored');
  });

  it('next() gives the stream its next held event', async () => {
    const store = await openStore({ maxPerCluster: 2 });
    for (let i = 1; i <= 4; i++) await store.record('site-1', 'gw-a', event(`ev-${i}`));
    expect(store.next('site-1', 0)?.seq).toBe(3);
    expect(store.next('site-1', 3)?.seq).toBe(4);
    expect(store.next('site-1', 4)).toBeUndefined();
    expect(store.next('nope', 0)).toBeUndefined();
  });

  it('tells subscribers which cluster got events, after they are held', async () => {
    const store = await openStore();
    const seen: Array<[string, number]> = [];
    const off = store.subscribe((clusterId) => seen.push([clusterId, store.stats(clusterId).held]));
    await store.record('site-1', 'gw-a', event('ev-1'));
    await store.record('site-1', 'gw-a', event('ev-1'));
    await store.record('site-2', 'gw-x', event('ev-1'));
    off();
    await store.record('site-1', 'gw-a', event('ev-2'));
    expect(seen).toEqual([
      ['site-1', 1],
      ['site-2', 1],
    ]);
  });

  it('refuses events once closed', async () => {
    const store = await openStore();
    await store.close();
    await expect(store.record('site-1', 'gw-a', event('ev-1'))).rejects.toMatchObject({ code: 'EVENTS_CLOSED' });
  });

  it('refuses a bound that is not a positive integer', async () => {
    await expect(EventStore.open({ file: null, clock, logger: silent, maxPerCluster: 0 })).rejects.toThrow(RangeError);
  });
});

describe('EventStore with a file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'credgw-events-'));
    file = join(dir, 'state.json.events');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fileLines = (): string[] => readFileSync(file, 'utf8').split('\n').filter(Boolean);

  it('writes each event before it resolves, and a new store reads them back and goes on from there', async () => {
    const store = await openStore({ file });
    expect(fileLines()).toEqual([EVENT_JOURNAL_HEADER]);
    await store.record('site-1', 'gw-a', event('ev-1'));
    expect(fileLines()).toHaveLength(2);
    await store.record('site-1', 'gw-b', event('ev-2', { dnsName: 'jump01.corp.local', resourceId: '301' }));
    await store.record('site-2', 'gw-x', event('ev-1'));
    await store.close();
    expect(readdirSync(dir)).toEqual(['state.json.events']);

    const again = await openStore({ file });
    expect(again.page('site-1', 0, 10).events).toEqual(store.page('site-1', 0, 10).events);
    expect(again.page('site-1', 0, 10).events[1]!.data).toMatchObject({ dnsName: 'jump01.corp.local', resourceId: '301' });
    expect(await again.record('site-1', 'gw-b', event('ev-1'))).toBe('repeat');
    expect(await again.record('site-1', 'gw-a', event('ev-3'))).toBe('stored');
    expect(again.stats('site-1')).toMatchObject({ oldest: 1, latest: 3 });
    expect(again.stats('site-2')).toMatchObject({ oldest: 1, latest: 1 });
  });

  it('a repeat that comes while the first copy is being written waits for it and writes nothing', async () => {
    const store = await openStore({ file });
    const first = store.record('site-1', 'gw-a', event('ev-1'));
    const second = store.record('site-1', 'gw-b', event('ev-1'));
    expect(await Promise.all([first, second])).toEqual(['stored', 'repeat']);
    expect(fileLines()).toHaveLength(2);
  });

  it('events that arrive during a write share the next one (group commit), in order', async () => {
    const store = await openStore({ file });
    const all = Array.from({ length: 50 }, (_, i) => store.record('site-1', 'gw-a', event(`ev-${i}`)));
    expect(new Set(await Promise.all(all))).toEqual(new Set(['stored']));
    expect(store.page('site-1', 0, 100).events.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => `ev-${i}`));
    expect(fileLines().slice(1).map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it(`refuses (does not ack) what is beyond ${MAX_UNWRITTEN_EVENTS} events waiting for the disk`, async () => {
    const store = await openStore({ file });
    const results = await Promise.allSettled(Array.from({ length: MAX_UNWRITTEN_EVENTS + 1 }, (_, i) => store.record('site-1', 'gw-a', event(`ev-${i}`))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(MAX_UNWRITTEN_EVENTS);
    expect(results.at(-1)).toMatchObject({ status: 'rejected', reason: { code: 'EVENTS_BUSY' } });
  });

  it('a failed write is not stored: the event is refused, its seq given again, the file starts again whole', async () => {
    const { logger, lines } = captured();
    const store = await openStore({ file, logger });
    await store.record('site-1', 'gw-a', event('ev-1'));
    await store.close();
    const broken = await openStore({ file, logger });
    // The file can no longer be opened for appending.
    rmSync(file);
    mkdirSync(file);
    await expect(broken.record('site-1', 'gw-a', event('ev-2'))).rejects.toMatchObject({ code: 'EISDIR' });
    expect(broken.stats('site-1').latest).toBe(1);
    expect(lines().some((l) => l['msg'] === 'events not stored, not acked')).toBe(true);
    rmSync(file, { recursive: true });
    expect(await broken.record('site-1', 'gw-a', event('ev-2'))).toBe('stored');
    expect(broken.page('site-1', 0, 10).events.map((e) => [e.seq, e.id])).toEqual([
      [1, 'ev-1'],
      [2, 'ev-2'],
    ]);
    expect(fileLines()[0]).toBe(EVENT_JOURNAL_HEADER);
    expect(fileLines().slice(1).map((l) => parseEventLine(l)?.id)).toEqual(['ev-2']);
  });

  it('rewrites the file with the held events once dead lines dominate', async () => {
    const store = await openStore({ file, maxPerCluster: 10 });
    for (let batch = 0; batch < 11; batch++) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.record('site-1', 'gw-a', event(`ev-${batch * 100 + i + 1}`))));
    }
    await store.close();
    // Rewritten once past 1000 lines, and only then (close waits for the rewrite under way).
    expect(fileLines().length).toBeLessThan(1 + 1000);
    expect(fileLines().length).toBeGreaterThanOrEqual(1 + 10);
    const again = await openStore({ file, maxPerCluster: 10 });
    expect(again.page('site-1', 0, 100).events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 1091 + i));
    expect(await again.record('site-1', 'gw-a', event('ev-new'))).toBe('stored');
    expect(again.stats('site-1').latest).toBe(1101);
  });

  it('a smaller bound at start keeps the newest and rewrites the file', async () => {
    const store = await openStore({ file });
    for (let i = 1; i <= 5; i++) await store.record('site-1', 'gw-a', event(`ev-${i}`));
    await store.close();
    const again = await openStore({ file, maxPerCluster: 2 });
    expect(again.page('site-1', 0, 10).events.map((e) => e.seq)).toEqual([4, 5]);
    expect(fileLines()).toHaveLength(3);
  });

  it('leaves out a last line cut short by a crash, and damaged lines, with a warning; the file is rewritten clean', async () => {
    const store = await openStore({ file });
    for (let i = 1; i <= 3; i++) await store.record('site-1', 'gw-a', event(`ev-${i}`));
    await store.close();
    const [header, one, two, three] = fileLines();
    writeFileSync(file, `${header}\n${one}\n{"seq":2,"clu\n${three}\n${two!.slice(0, 40)}`);
    const { logger, lines } = captured();
    const again = await openStore({ file, logger });
    expect(again.page('site-1', 0, 10).events.map((e) => e.id)).toEqual(['ev-1', 'ev-3']);
    expect(lines().find((l) => l['msg'] === 'events file has damaged lines, skipped')).toMatchObject({ damaged: 2 });
    expect(readFileSync(file, 'utf8')).toBe(`${header}\n${one}\n${three}\n`);
    expect(await again.record('site-1', 'gw-a', event('ev-4'))).toBe('stored');
    expect(again.stats('site-1').latest).toBe(4);
  });

  it('never loads an event with a password field', async () => {
    const line = JSON.stringify({ seq: 1, clusterId: 'site-1', id: 'ev-1', name: 'credentialRotated', data: { ...event('ev-1').data, newPassword: 'x' }, receivedAt: '2026-12-03T10:15:05.000Z', gatewayId: 'gw-a' });
    expect(parseEventLine(line)).toBeNull();
    writeFileSync(file, `${EVENT_JOURNAL_HEADER}\n${line}\n`);
    const store = await openStore({ file });
    expect(store.stats('site-1').held).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toContain('newPassword');
  });

  it.each([
    ['a file of something else', '{"version":1,"clusters":{}}\n'],
    ['a newer format', 'credgw-controller-events 2\n{}\n'],
  ])('refuses %s with EVENT_STATE_INVALID and leaves it untouched', async (_name, text) => {
    writeFileSync(file, text);
    await expect(EventStore.open({ file, clock, logger: silent })).rejects.toBeInstanceOf(EventJournalError);
    await expect(EventStore.open({ file, clock, logger: silent })).rejects.toMatchObject({ code: 'EVENT_STATE_INVALID' });
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});
