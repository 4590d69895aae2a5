import type { EventSource } from '../protocol/index.js';
import type { RotationNotice } from './rotation-event.js';

/** Default of `events.mergeWindowMs`: the listener's and the audit trail's times of one change differ by seconds. */
export const DEFAULT_MERGE_WINDOW_MS = 120_000;

interface IndexedChange {
  id: string;
  key: string;
  atMs: number;
  /** Sources that reported this change (its own, and those merged into it since the process started). */
  sources: Set<EventSource>;
}

type ChangeKey = Pick<RotationNotice, 'vault' | 'resourceName' | 'accountName' | 'rotatedAtMs'>;

/**
 * The merge window (docs/protocol.md, "Events: what section 11 left
 * open"): the listener script sends the time it ran, syslog the vault's
 * audit time, and the two differ by seconds, so the derived id splits one
 * change in two. A notice for the same vault, resource and account within
 * `windowMs` of a change the outbox holds (pending, being written, or
 * lately acked) is that change when the change has no report from the
 * notice's source yet: one source reports each change once, so two reports
 * from one source are two changes and are never merged (a merge must not
 * hide a rotation). The nearest such change wins. Pure; the outbox keeps it
 * in step with what it holds.
 */
export class ChangeIndex {
  private readonly byKey = new Map<string, IndexedChange[]>();
  private readonly byId = new Map<string, IndexedChange>();

  /** @param windowMs 0 turns merging off. */
  constructor(private readonly windowMs: number) {
    if (!Number.isSafeInteger(windowMs) || windowMs < 0) throw new RangeError(`ChangeIndex: windowMs must be a non-negative integer, got ${windowMs}`);
  }

  get size(): number {
    return this.byId.size;
  }

  add(id: string, change: ChangeKey, source: EventSource): void {
    if (this.byId.has(id)) return;
    const entry: IndexedChange = { id, key: changeKey(change), atMs: change.rotatedAtMs, sources: new Set([source]) };
    this.byId.set(id, entry);
    const list = this.byKey.get(entry.key);
    if (list) list.push(entry);
    else this.byKey.set(entry.key, [entry]);
  }

  /** `source` reported the change `id` (a repeat of the same id, or a merge). */
  noteSource(id: string, source: EventSource): void {
    this.byId.get(id)?.sources.add(source);
  }

  /** The id of the held change this notice reports, or undefined (a new change). */
  match(notice: ChangeKey, source: EventSource): string | undefined {
    if (this.windowMs === 0) return undefined;
    let best: IndexedChange | undefined;
    let bestGap = Infinity;
    for (const c of this.byKey.get(changeKey(notice)) ?? []) {
      const gap = Math.abs(c.atMs - notice.rotatedAtMs);
      if (gap <= this.windowMs && gap < bestGap && !c.sources.has(source)) {
        best = c;
        bestGap = gap;
      }
    }
    return best?.id;
  }

  remove(id: string): void {
    const entry = this.byId.get(id);
    if (!entry) return;
    this.byId.delete(id);
    const list = this.byKey.get(entry.key)!;
    const rest = list.filter((c) => c !== entry);
    if (rest.length === 0) this.byKey.delete(entry.key);
    else this.byKey.set(entry.key, rest);
  }
}

/** The names as the event id takes them (NFC, case kept). */
function changeKey(c: ChangeKey): string {
  return JSON.stringify([c.vault, c.resourceName.normalize('NFC'), c.accountName.normalize('NFC')]);
}
