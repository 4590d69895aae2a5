import { jest } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildRotationEvent, encodeRecord, EventTally, formatLine, Outbox, OUTBOX_FILE, OutboxError, rotationEventId, type OutboxOptions, type RotationNotice } from '../../../src/events/index.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GatewayError } from '../../../src/shared/errors.js';

const T0 = 1_796_292_902_000;

const notice = (n: number, patch: Partial<RotationNotice> = {}): RotationNotice => ({
  vault: 'pmp-prod',
  resourceName: `res-${n}`,
  accountName: 'administrator',
  rotatedAtMs: T0 + n * 1000,
  source: 'listener',
  ...patch,
});
const idOf = (n: number): string => rotationEventId(notice(n));

let dir: string;
let opened: Outbox[] = [];
let logs: Array<Record<string, unknown>>;
let clock: ManualClock;

function logger() {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return pino({ level: 'info' }, stream);
}

async function openOutbox(opts: Partial<OutboxOptions> = {}): Promise<Outbox> {
  const outbox = await Outbox.open({ dir, clock, logger: logger(), ...opts });
  opened.push(outbox);
  return outbox;
}

async function reopen(outbox: Outbox, opts: Partial<OutboxOptions> = {}): Promise<Outbox> {
  await outbox.close();
  return openOutbox(opts);
}

const file = (): string => join(dir, OUTBOX_FILE);
const ids = (outbox: Outbox): string[] => outbox.pending().map((m) => m.id);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-outbox-'));
  logs = [];
  clock = new ManualClock(T0);
});

afterEach(async () => {
  for (const o of opened) await o.close();
  opened = [];
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('Outbox: record', () => {
  it('starts an empty journal (mode 0600) in a state directory it creates', async () => {
    dir = join(dir, 'state', 'credgw');
    const outbox = await openOutbox();
    expect(outbox.stats()).toEqual({ pending: 0, oldestAgeMs: null, droppedTotal: 0, journalRecords: 1 });
    expect(readFileSync(file(), 'utf8').startsWith(formatLine())).toBe(true);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
  });

  it('resolves with the event id once the event is in the file', async () => {
    const outbox = await openOutbox();
    const result = await outbox.record(notice(1));
    expect(result).toEqual({ eventId: idOf(1), stored: true });
    expect(readFileSync(file(), 'utf8')).toContain(idOf(1));
    expect(ids(outbox)).toEqual([idOf(1)]);
    expect(outbox.get(idOf(1))).toMatchObject({ type: 'event', name: 'credentialRotated', data: { resourceName: 'res-1', source: 'listener' } });
  });

  it('a repeat of a stored change stores nothing and answers the same id (also from another source)', async () => {
    const outbox = await openOutbox();
    await outbox.record(notice(1));
    const size = statSync(file()).size;
    expect(await outbox.record(notice(1))).toEqual({ eventId: idOf(1), stored: false });
    expect(await outbox.record(notice(1, { source: 'syslog', rotatedAtMs: T0 + 1000 + 456 }))).toEqual({ eventId: idOf(1), stored: false });
    expect(statSync(file()).size).toBe(size);
    expect(outbox.tally.get('listener', 'duplicate')).toBe(1);
    expect(outbox.tally.get('syslog', 'duplicate')).toBe(1);
    expect(outbox.tally.get('listener', 'stored')).toBe(1);
  });

  it('concurrent repeats: one is stored, every caller resolves only once it is durable', async () => {
    const outbox = await openOutbox();
    const results = await Promise.all([outbox.record(notice(1)), outbox.record(notice(1)), outbox.record(notice(2)), outbox.record(notice(1))]);
    expect(results.map((r) => r.stored)).toEqual([true, false, true, false]);
    expect(readFileSync(file(), 'utf8').split(idOf(1)).length - 1).toBe(1);
  });

  it('a repeat of an acked change stores nothing while the ack is remembered', async () => {
    const outbox = await openOutbox({ rememberAcked: 2 });
    for (const n of [1, 2, 3]) await outbox.record(notice(n));
    for (const n of [1, 2, 3]) outbox.ack(idOf(n));
    expect(await outbox.record(notice(3))).toEqual({ eventId: idOf(3), stored: false });
    // Only the last 2 acks are remembered: the first comes back as new (the controller drops it by id).
    expect(await outbox.record(notice(1))).toEqual({ eventId: idOf(1), stored: true });
  });

  it('refuses a bad notice with BAD_REQUEST and stores nothing', async () => {
    const outbox = await openOutbox();
    await expect(outbox.record(notice(1, { accountName: '' }))).rejects.toBeInstanceOf(GatewayError);
    expect(outbox.stats().pending).toBe(0);
  });

  it('never writes a password a careless caller left on the notice', async () => {
    const outbox = await openOutbox();
    await outbox.record({ ...notice(1), newPassword: 'Sup3r-S3cret' } as RotationNotice);
    expect(readFileSync(file(), 'utf8')).not.toContain('S3cret');
  });

  it('tells subscribers of each new durable event, once', async () => {
    const outbox = await openOutbox();
    const seen: string[] = [];
    const unsubscribe = outbox.subscribe((m) => seen.push(m.id));
    await outbox.record(notice(1));
    await outbox.record(notice(1));
    unsubscribe();
    await outbox.record(notice(2));
    expect(seen).toEqual([idOf(1)]);
  });

  it('refuses records once closed', async () => {
    const outbox = await openOutbox();
    await outbox.close();
    await expect(outbox.record(notice(1))).rejects.toMatchObject({ code: 'OUTBOX_CLOSED' });
  });
});

describe('Outbox: group commit', () => {
  it('records that arrive during a write share the next write and its one fdatasync', async () => {
    const outbox = await openOutbox();
    const probe = await openFile(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const datasync = jest.spyOn(proto, 'datasync');
    const results = await Promise.all(Array.from({ length: 32 }, (_, n) => outbox.record(notice(n))));
    expect(results.every((r) => r.stored)).toBe(true);
    // The first record's write starts at once; the 31 that arrive meanwhile go in the second.
    expect(datasync).toHaveBeenCalledTimes(2);
    expect(ids(outbox)).toEqual(Array.from({ length: 32 }, (_, n) => idOf(n)));
  });
});

describe('Outbox: ack, restart, bound', () => {
  it('pending survives a restart, in order, without what was acked', async () => {
    let outbox = await openOutbox();
    for (const n of [1, 2, 3, 4, 5]) await outbox.record(notice(n));
    expect(outbox.ack(idOf(2))).toBe(true);
    expect(outbox.ack(idOf(4))).toBe(true);
    expect(outbox.ack(idOf(4))).toBe(false);
    expect(outbox.ack('ev-unknown')).toBe(false);
    expect(ids(outbox)).toEqual([idOf(1), idOf(3), idOf(5)]);
    clock.advance(5000);
    outbox = await reopen(outbox);
    expect(ids(outbox)).toEqual([idOf(1), idOf(3), idOf(5)]);
    expect(outbox.stats()).toMatchObject({ pending: 3, oldestAgeMs: 5000, droppedTotal: 0 });
    expect(outbox.get(idOf(3))).toEqual(outbox.pending()[1]);
  });

  it('an ack is written without a sync of its own, and close syncs it', async () => {
    const outbox = await openOutbox();
    await outbox.record(notice(1));
    const probe = await openFile(join(dir, 'probe'), 'w');
    const datasync = jest.spyOn(Object.getPrototypeOf(probe) as { datasync: () => Promise<void> }, 'datasync');
    await probe.close();
    outbox.ack(idOf(1));
    await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(file(), 'utf8')).toContain('"t":"ack"');
    expect(datasync).not.toHaveBeenCalled();
    await outbox.close();
    expect(datasync).toHaveBeenCalledTimes(1);
  });

  it('when full, drops the oldest, counts it, warns, and remembers the total across restarts', async () => {
    let outbox = await openOutbox({ maxStored: 3 });
    for (const n of [1, 2, 3, 4, 5]) await outbox.record(notice(n, { source: n === 1 ? 'syslog' : 'listener' }));
    expect(ids(outbox)).toEqual([idOf(3), idOf(4), idOf(5)]);
    expect(outbox.stats().droppedTotal).toBe(2);
    expect(outbox.tally.get('syslog', 'dropped')).toBe(1);
    expect(outbox.tally.get('listener', 'dropped')).toBe(1);
    const warns = logs.filter((l) => l['msg'] === 'outbox full, oldest events dropped');
    expect(warns.map((w) => [w['level'], w['dropped']])).toEqual([
      [40, 1],
      [40, 1],
    ]);
    outbox = await reopen(outbox, { maxStored: 3 });
    expect(ids(outbox)).toEqual([idOf(3), idOf(4), idOf(5)]);
    expect(outbox.stats().droppedTotal).toBe(2);
    // A smaller bound at start drops the oldest again, and says so.
    outbox = await reopen(outbox, { maxStored: 2 });
    expect(ids(outbox)).toEqual([idOf(4), idOf(5)]);
    expect(outbox.stats().droppedTotal).toBe(3);
    outbox = await reopen(outbox, { maxStored: 10 });
    expect(ids(outbox)).toEqual([idOf(4), idOf(5)]);
    expect(outbox.stats().droppedTotal).toBe(3);
  });

  it('a burst larger than the bound keeps the newest, in order', async () => {
    let outbox = await openOutbox({ maxStored: 2 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => outbox.record(notice(n))));
    expect(results.every((r) => r.stored)).toBe(true);
    expect(ids(outbox)).toEqual([idOf(4), idOf(5)]);
    outbox = await reopen(outbox, { maxStored: 2 });
    expect(ids(outbox)).toEqual([idOf(4), idOf(5)]);
    expect(outbox.stats().droppedTotal).toBe(3);
  });

  it('rewrites the journal once dead lines pile up, keeping what is pending', async () => {
    let outbox = await openOutbox({ compactAfter: 10 });
    for (let n = 0; n < 30; n++) {
      await outbox.record(notice(n));
      if (n % 3 !== 0) outbox.ack(idOf(n));
    }
    await outbox.record(notice(100));
    const kept = [...Array.from({ length: 10 }, (_, i) => idOf(i * 3)), idOf(100)];
    expect(ids(outbox)).toEqual(kept);
    expect(outbox.stats().journalRecords).toBeLessThan(1 + 30 + 20);
    expect(readFileSync(file(), 'utf8').split('\n').length).toBeLessThan(40);
    outbox = await reopen(outbox);
    expect(ids(outbox)).toEqual(kept);
  });
});

describe('Outbox: damage and versions', () => {
  it('a torn tail (the process died inside a write) is ignored and cut away; the records before it stay', async () => {
    let outbox = await openOutbox();
    for (const n of [1, 2, 3]) await outbox.record(notice(n));
    await outbox.close();
    // The add of a 4th event, cut short: its record() never resolved, so nobody was told it was stored.
    const torn = encodeRecord({ t: 'add', at: T0, ev: buildRotationEvent(notice(9)) });
    appendFileSync(file(), torn.slice(0, torn.length - 10));
    outbox = await openOutbox();
    expect(ids(outbox)).toEqual([idOf(1), idOf(2), idOf(3)]);
    expect(logs.filter((l) => l['msg'] === 'outbox open').at(-1)).toMatchObject({ tornTail: true, pending: 3 });
    expect(readFileSync(file(), 'utf8').endsWith('\n')).toBe(true);
    await outbox.record(notice(4));
    outbox = await reopen(outbox);
    expect(ids(outbox)).toEqual([idOf(1), idOf(2), idOf(3), idOf(4)]);
  });

  it('a damaged line in the middle costs that line only, with a warning', async () => {
    let outbox = await openOutbox();
    for (const n of [1, 2, 3]) await outbox.record(notice(n));
    await outbox.close();
    writeFileSync(file(), readFileSync(file(), 'utf8').replace('res-2', 'res-X'));
    outbox = await openOutbox();
    expect(ids(outbox)).toEqual([idOf(1), idOf(3)]);
    expect(logs.find((l) => l['msg'] === 'outbox journal has damaged lines, skipped')).toMatchObject({ level: 40, badRecords: 1 });
  });

  it('refuses a file of a newer format and leaves it untouched', async () => {
    const newer = `${formatLine(2)}{"something":"new"}\n`;
    writeFileSync(file(), newer);
    const err = await Outbox.open({ dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboxError);
    expect((err as OutboxError).code).toBe('OUTBOX_VERSION');
    expect(readFileSync(file(), 'utf8')).toBe(newer);
  });

  it('refuses a file that is not an outbox and leaves it untouched', async () => {
    writeFileSync(file(), 'not mine\n');
    await expect(Outbox.open({ dir })).rejects.toMatchObject({ code: 'OUTBOX_UNAVAILABLE' });
    expect(readFileSync(file(), 'utf8')).toBe('not mine\n');
  });

  it('an empty file (touched by hand) is an empty outbox', async () => {
    writeFileSync(file(), '');
    const outbox = await openOutbox();
    expect(outbox.stats().pending).toBe(0);
    expect(readFileSync(file(), 'utf8').startsWith(formatLine())).toBe(true);
  });

  it('a failed write rejects its records; the next write starts a clean file from memory', async () => {
    let outbox = await openOutbox();
    await outbox.record(notice(1));
    const probe = await openFile(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<{ bytesWritten: number }> };
    await probe.close();
    const realWrite = proto.write;
    jest.spyOn(proto, 'write').mockImplementationOnce(async function (this: unknown, buf: unknown, offset: unknown, length: unknown) {
      // Half of the batch reaches the file, then the disk fails.
      await realWrite.call(this, buf, offset, Math.floor((length as number) / 2));
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    });
    await expect(outbox.record(notice(2))).rejects.toMatchObject({ code: 'OUTBOX_UNAVAILABLE' });
    expect(ids(outbox)).toEqual([idOf(1)]);
    expect(logs.find((l) => l['msg'] === 'outbox write failed')).toBeDefined();
    expect(await outbox.record(notice(3))).toEqual({ eventId: idOf(3), stored: true });
    outbox = await reopen(outbox);
    expect(ids(outbox)).toEqual([idOf(1), idOf(3)]);
    expect(logs.filter((l) => l['msg'] === 'outbox journal has damaged lines, skipped')).toHaveLength(0);
  });
});

describe('Outbox: stats and counters', () => {
  it('counts hand-overs: sent the first time, resent after; events found on disk count as resent', async () => {
    const tally = new EventTally();
    let outbox = await openOutbox({ tally });
    await outbox.record(notice(1));
    outbox.noteSent(idOf(1));
    outbox.noteSent(idOf(1));
    outbox.noteSent('ev-gone');
    expect(tally.get('listener', 'sent')).toBe(1);
    expect(tally.get('listener', 'resent')).toBe(1);
    outbox = await reopen(outbox, { tally });
    outbox.noteSent(idOf(1));
    expect(tally.get('listener', 'resent')).toBe(2);
    outbox.ack(idOf(1));
    expect(tally.get('listener', 'acked')).toBe(1);
    expect(tally.snapshot()).toHaveLength(3 * 6);
    expect(tally.snapshot()).toContainEqual({ source: 'syslog', outcome: 'stored', count: 0 });
  });

  it('oldestAgeMs follows the clock from the oldest pending event', async () => {
    const outbox = await openOutbox();
    await outbox.record(notice(1));
    clock.advance(1500);
    await outbox.record(notice(2));
    clock.advance(500);
    expect(outbox.stats().oldestAgeMs).toBe(2000);
    outbox.ack(idOf(1));
    expect(outbox.stats().oldestAgeMs).toBe(500);
  });
});
