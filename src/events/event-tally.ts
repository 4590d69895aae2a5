import { EVENT_SOURCES, type EventSource } from '../protocol/index.js';

/**
 * What became of events, for /metrics:
 * - `stored`: a new event made durable;
 * - `duplicate`: a notice of a change already stored (or acked lately);
 * - `acked`: the controller stored it, the outbox let it go;
 * - `dropped`: pushed out by the bound (`events.maxStored`), never acked;
 * - `sent`: handed to the link for the first time by this process;
 * - `resent`: handed to the link again (after a reconnect, or an event an earlier process stored).
 */
export const EVENT_OUTCOMES = ['stored', 'duplicate', 'acked', 'dropped', 'sent', 'resent'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

export interface EventCount {
  source: EventSource;
  outcome: EventOutcome;
  count: number;
}

/** Counts since the process started, by source and outcome; plain numbers for a metrics collector to read. */
export class EventTally {
  private readonly counts = new Map<string, number>();

  count(source: EventSource, outcome: EventOutcome, by = 1): void {
    const key = `${source} ${outcome}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  get(source: EventSource, outcome: EventOutcome): number {
    return this.counts.get(`${source} ${outcome}`) ?? 0;
  }

  /** Every source × outcome, zeros included (a metric that exists from the start can be alerted on). */
  snapshot(): EventCount[] {
    const out: EventCount[] = [];
    for (const source of EVENT_SOURCES) for (const outcome of EVENT_OUTCOMES) out.push({ source, outcome, count: this.get(source, outcome) });
    return out;
  }
}
