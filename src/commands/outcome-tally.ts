import type { CommandName } from '../protocol/index.js';
import type { ErrorCode } from '../shared/index.js';

/** One finished command, for metrics. */
export interface CommandOutcome {
  id: string;
  /** null for frames answered by reject() (their name was unknown or unusable). */
  name: CommandName | null;
  outcome: 'ok' | ErrorCode;
  durationMs: number;
  /** Time it waited in the admission queue; undefined when it never waited there. */
  queuedMs?: number | undefined;
}

export interface OutcomeCount {
  name: CommandName | null;
  outcome: 'ok' | ErrorCode;
  count: number;
  totalDurationMs: number;
  maxDurationMs: number;
}

/** Count, total and longest duration of the finished commands, by command name and outcome. */
export class OutcomeTally {
  /** name ('' for rejected frames) → outcome → count. */
  private readonly counts = new Map<string, Map<string, OutcomeCount>>();

  add(o: CommandOutcome): void {
    const nameKey = o.name ?? '';
    let byOutcome = this.counts.get(nameKey);
    if (!byOutcome) {
      byOutcome = new Map();
      this.counts.set(nameKey, byOutcome);
    }
    let c = byOutcome.get(o.outcome);
    if (!c) {
      c = { name: o.name, outcome: o.outcome, count: 0, totalDurationMs: 0, maxDurationMs: 0 };
      byOutcome.set(o.outcome, c);
    }
    c.count++;
    c.totalDurationMs += o.durationMs;
    if (o.durationMs > c.maxDurationMs) c.maxDurationMs = o.durationMs;
  }

  /** Copies of every count so far. */
  snapshot(): OutcomeCount[] {
    const outcomes: OutcomeCount[] = [];
    for (const byOutcome of this.counts.values()) for (const c of byOutcome.values()) outcomes.push({ ...c });
    return outcomes;
  }
}
