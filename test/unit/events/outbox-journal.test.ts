import { buildRotationEvent, decodeRecord, encodeRecord, formatLine, OutboxError, replayJournal, type JournalRecord } from '../../../src/events/index.js';

const ev = (n: number) =>
  buildRotationEvent({ vault: 'pmp-prod', resourceName: `res-${n}`, accountName: 'administrator', rotatedAtMs: 1_796_292_902_000 + n * 1000, source: 'listener' });

const add = (n: number, at = 1000 + n): JournalRecord => ({ t: 'add', at, ev: ev(n) });
const text = (...records: JournalRecord[]): string => formatLine() + records.map(encodeRecord).join('');

describe('journal lines', () => {
  it('round-trip every record type', () => {
    for (const r of [{ t: 'meta', dropped: 3 }, add(1), { t: 'ack', id: ev(1).id }, { t: 'drop', id: ev(2).id }] as JournalRecord[]) {
      const line = encodeRecord(r);
      expect(line).toMatch(/^[0-9a-f]{8} \{.*\}\n$/);
      expect(decodeRecord(line.slice(0, -1))).toEqual(r);
    }
  });

  it('a changed character, a cut line or a record of another shape is refused', () => {
    const line = encodeRecord(add(1)).slice(0, -1);
    expect(decodeRecord(line.replace('res-1', 'res-2'))).toBeNull();
    expect(decodeRecord(line.slice(0, -5))).toBeNull();
    expect(decodeRecord(`00000000${line.slice(8)}`)).toBeNull();
    expect(decodeRecord('')).toBeNull();
    const unknown = encodeRecord({ t: 'snapshot', id: 'x' } as unknown as JournalRecord).slice(0, -1);
    expect(decodeRecord(unknown)).toBeNull();
    const badEvent = encodeRecord({ t: 'add', at: 1, ev: { ...ev(1), data: { ...ev(1).data, password: 'x' } } } as JournalRecord).slice(0, -1);
    expect(decodeRecord(badEvent)).toBeNull();
  });
});

describe('replayJournal', () => {
  it('an empty text is an empty outbox', () => {
    expect(replayJournal('', 'f')).toEqual({ entries: new Map(), droppedTotal: 0, records: 0, tornTail: false, badRecords: 0 });
  });

  it('applies adds, acks and drops in order, keeping the first copy of an id', () => {
    const r = replayJournal(text({ t: 'meta', dropped: 5 }, add(1), add(2), add(3), add(2, 99), { t: 'ack', id: ev(1).id }, { t: 'drop', id: ev(2).id }, { t: 'drop', id: ev(9).id }), 'f');
    expect([...r.entries.keys()]).toEqual([ev(3).id]);
    expect(r.entries.get(ev(3).id)).toEqual({ message: ev(3), storedAtMs: 1003 });
    expect(r.droppedTotal).toBe(6);
    expect(r.records).toBe(8);
    expect(r).toMatchObject({ tornTail: false, badRecords: 0 });
  });

  it('a cut-short last line is a torn tail: left out, the lines before it kept', () => {
    const whole = text({ t: 'meta', dropped: 0 }, add(1), add(2));
    const torn = whole + encodeRecord(add(3)).slice(0, 40);
    const r = replayJournal(torn, 'f');
    expect([...r.entries.keys()]).toEqual([ev(1).id, ev(2).id]);
    expect(r).toMatchObject({ tornTail: true, badRecords: 0 });
  });

  it('a complete but damaged last line is a torn tail too (zeros after a power cut)', () => {
    const r = replayJournal(text({ t: 'meta', dropped: 0 }, add(1)) + '\0\0\0\0\n', 'f');
    expect([...r.entries.keys()]).toEqual([ev(1).id]);
    expect(r).toMatchObject({ tornTail: true, badRecords: 0 });
  });

  it('a damaged line in the middle is skipped and counted; the lines after it still count', () => {
    const lines = text({ t: 'meta', dropped: 0 }, add(1), add(2), add(3)).split('\n');
    lines[2] = lines[2]!.replace('res-1', 'res-X');
    const r = replayJournal(lines.join('\n'), 'f');
    expect([...r.entries.keys()]).toEqual([ev(2).id, ev(3).id]);
    expect(r).toMatchObject({ tornTail: false, badRecords: 1 });
  });

  it('a file of a newer format is refused with OUTBOX_VERSION', () => {
    const err = catchError(() => replayJournal(`${formatLine(2)}whatever a later credgw writes\n`, '/var/lib/credgw/outbox.journal'));
    expect(err).toBeInstanceOf(OutboxError);
    expect(err.code).toBe('OUTBOX_VERSION');
    expect(err.message).toContain('/var/lib/credgw/outbox.journal was written by a newer credgw (outbox format 2; this one reads format 1)');
  });

  it.each([['not an outbox', 'hello\n'], ['a format no credgw writes', 'credgw-outbox 0\n'], ['a JSON file', '{"t":"meta"}\n']])('%s is refused with OUTBOX_UNAVAILABLE', (_name, t) => {
    const err = catchError(() => replayJournal(t, 'f'));
    expect(err.code).toBe('OUTBOX_UNAVAILABLE');
  });
});

function catchError(fn: () => unknown): OutboxError {
  try {
    fn();
  } catch (err) {
    return err as OutboxError;
  }
  throw new Error('expected an error');
}
