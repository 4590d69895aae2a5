import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeIndex, Outbox, OUTBOX_FILE, rotationEventId, type OutboxOptions, type RotationNotice } from '../../../src/events/index.js';
import { ManualClock } from '../../../src/shared/clock.js';

/**
 * The merge window: the listener sends the script's time, syslog the audit
 * time, seconds apart; one change must stay one event, and two changes of
 * one account must never become one.
 */

const T0 = 1_796_292_902_000;
const change = (patch: Partial<RotationNotice> = {}): RotationNotice => ({
  vault: 'pmp-prod',
  resourceName: 'Windows_Jump_Box',
  accountName: 'administrator',
  rotatedAtMs: T0,
  source: 'listener',
  ...patch,
});

let dir: string;
let opened: Outbox[] = [];

async function openOutbox(opts: Partial<OutboxOptions> = {}): Promise<Outbox> {
  const outbox = await Outbox.open({ dir, clock: new ManualClock(T0), ...opts });
  opened.push(outbox);
  return outbox;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-merge-'));
});

afterEach(async () => {
  for (const o of opened) await o.close();
  opened = [];
  rmSync(dir, { recursive: true, force: true });
});

describe('Outbox: the merge window', () => {
  it('syslog seconds before the listener (either order) is the same change: same id, nothing stored', async () => {
    const outbox = await openOutbox();
    const first = await outbox.record(change({ rotatedAtMs: T0 + 2_400 }));
    const second = await outbox.record(change({ source: 'syslog', rotatedAtMs: T0 - 3_000 }));
    expect(second).toEqual({ eventId: first.eventId, stored: false });
    expect(outbox.pending().map((m) => m.id)).toEqual([first.eventId]);
    expect(outbox.tally.get('syslog', 'duplicate')).toBe(1);

    const other = await openOutbox({ dir: mkdtempSync(join(tmpdir(), 'credgw-merge-')) });
    const a = await other.record(change({ source: 'syslog', rotatedAtMs: T0 - 3_000 }));
    const b = await other.record(change({ rotatedAtMs: T0 + 2_400 }));
    expect(b).toEqual({ eventId: a.eventId, stored: false });
    expect(a.eventId).toBe(rotationEventId(change({ rotatedAtMs: T0 - 3_000 })));
  });

  it('both gateways of a pair get the same listener call: the same id', async () => {
    const a = await openOutbox();
    const b = await openOutbox({ dir: mkdtempSync(join(tmpdir(), 'credgw-merge-')) });
    const n = change({ rotatedAtMs: T0 + 120 });
    expect((await a.record(n)).eventId).toBe((await b.record(n)).eventId);
  });

  it('two reports from one source are two changes, however close', async () => {
    const outbox = await openOutbox();
    const first = await outbox.record(change());
    const second = await outbox.record(change({ rotatedAtMs: T0 + 5_000 }));
    expect(second.stored).toBe(true);
    expect(second.eventId).not.toBe(first.eventId);
  });

  it('each change takes one report per source: the nearest change without one', async () => {
    const outbox = await openOutbox();
    const one = await outbox.record(change());
    const two = await outbox.record(change({ rotatedAtMs: T0 + 1_000 }));
    // Both syslog lines are nearer the first change; the second line goes to the change still without one.
    expect((await outbox.record(change({ source: 'syslog', rotatedAtMs: T0 - 1_000 }))).eventId).toBe(one.eventId);
    expect((await outbox.record(change({ source: 'syslog', rotatedAtMs: T0 - 500 }))).eventId).toBe(two.eventId);
    const third = await outbox.record(change({ source: 'syslog', rotatedAtMs: T0 + 2_500 }));
    expect(third.stored).toBe(true);
    expect(outbox.pending()).toHaveLength(3);
  });

  it('outside the window, for another account or vault, or with the window 0: a new event', async () => {
    const outbox = await openOutbox({ mergeWindowMs: 120_000 });
    const first = await outbox.record(change());
    for (const n of [
      change({ source: 'syslog', rotatedAtMs: T0 + 120_001 }),
      change({ source: 'syslog', accountName: 'root' }),
      change({ source: 'syslog', vault: 'pmp-dr' }),
      change({ source: 'syslog', resourceName: 'windows_jump_box' }),
    ]) {
      const r = await outbox.record(n);
      expect(r.stored).toBe(true);
      expect(r.eventId).not.toBe(first.eventId);
    }
    const off = await openOutbox({ dir: mkdtempSync(join(tmpdir(), 'credgw-merge-')), mergeWindowMs: 0 });
    await off.record(change());
    expect((await off.record(change({ source: 'syslog', rotatedAtMs: T0 - 1_000 }))).stored).toBe(true);
  });

  it('an acked change still absorbs the other source\'s report while its ack is remembered', async () => {
    const outbox = await openOutbox({ rememberAcked: 1 });
    const first = await outbox.record(change());
    outbox.ack(first.eventId);
    expect(await outbox.record(change({ source: 'syslog', rotatedAtMs: T0 - 2_000 }))).toEqual({ eventId: first.eventId, stored: false });
    // Once the ack is forgotten (another acked after it), a late report is stored again (a duplicate, never a loss).
    const other = await outbox.record(change({ accountName: 'root' }));
    outbox.ack(other.eventId);
    expect((await outbox.record(change({ source: 'audit', rotatedAtMs: T0 - 2_000 }))).stored).toBe(true);
  });

  it('a report that arrives while the change is being written answers once it is durable', async () => {
    const outbox = await openOutbox();
    const [a, b] = await Promise.all([outbox.record(change()), outbox.record(change({ source: 'syslog', rotatedAtMs: T0 - 4_000 }))]);
    expect(b).toEqual({ eventId: a.eventId, stored: false });
    expect(readFileSync(join(dir, OUTBOX_FILE), 'utf8').split(a.eventId).length - 1).toBe(1);
  });

  it('events found on disk at open take part', async () => {
    const first = await (await openOutbox()).record(change());
    await opened[0]!.close();
    const outbox = await openOutbox();
    expect(await outbox.record(change({ source: 'syslog', rotatedAtMs: T0 + 30_000 }))).toEqual({ eventId: first.eventId, stored: false });
  });
});

describe('ChangeIndex', () => {
  it('forgets a removed change', () => {
    const index = new ChangeIndex(60_000);
    index.add('ev-1', change(), 'listener');
    expect(index.match(change({ rotatedAtMs: T0 + 1 }), 'syslog')).toBe('ev-1');
    index.remove('ev-1');
    expect(index.match(change(), 'syslog')).toBeUndefined();
    expect(index.size).toBe(0);
    expect(() => new ChangeIndex(-1)).toThrow(RangeError);
  });
});
