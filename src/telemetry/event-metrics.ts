import { Counter, Gauge, type Registry } from './prom-client-parts.js';

/**
 * The metrics of rotation events (protocol sections 11 and 12), read at
 * each scrape from counts the outbox, the notice listener and the syslog
 * receiver keep themselves (plain numbers since the process started), so
 * nothing on their paths touches prom-client. Label values are bounded:
 * sources, outcomes and refusal codes are fixed unions.
 */

export interface EventMetricsSnapshot {
  /** Every source × outcome of the outbox's tally, zeros included. */
  events: ReadonlyArray<{ source: string; outcome: string; count: number }>;
  pending: number;
  /** null when nothing waits. */
  oldestAgeMs: number | null;
  /** Listener requests by outcome: `accepted` or the refusal code; null when the listener is off. */
  listener: Readonly<Record<string, number>> | null;
  /** Syslog receiver counters by name (received, recorded, foreign, …); null when off. */
  syslog: Readonly<Record<string, number>> | null;
}

/** Registers the event metrics on `registry`; `source` is read at each scrape (null: no outbox, nothing exported). */
export function registerEventMetrics(registry: Registry, prefix: string, source: () => EventMetricsSnapshot | null): void {
  const registers = [registry];
  const read = (): EventMetricsSnapshot | null => {
    try {
      return source();
    } catch {
      // A scrape must not fail because the events part did.
      return null;
    }
  };
  new Counter({
    name: `${prefix}events_total`,
    help: 'Rotation events by source (listener, syslog, audit) and outcome (stored, duplicate, acked, dropped, sent, resent).',
    labelNames: ['source', 'outcome'],
    registers,
    collect() {
      this.reset();
      for (const c of read()?.events ?? []) this.inc({ source: c.source, outcome: c.outcome }, c.count);
    },
  });
  new Gauge({
    name: `${prefix}events_pending`,
    help: 'Rotation events stored and not yet acknowledged by the controller.',
    registers,
    collect() {
      this.set(read()?.pending ?? 0);
    },
  });
  new Gauge({
    name: `${prefix}events_oldest_pending_age_seconds`,
    help: 'How long the oldest unacknowledged rotation event has waited (0 when none waits).',
    registers,
    collect() {
      this.set((read()?.oldestAgeMs ?? 0) / 1000);
    },
  });
  new Counter({
    name: `${prefix}notice_listener_requests_total`,
    help: 'Requests to the notice listener by outcome: accepted, or the refusal code (UNAUTHORIZED, FORBIDDEN_SOURCE, RATE_LIMITED, BODY_TOO_LARGE, …).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(read()?.listener ?? {})) this.inc({ outcome }, n);
    },
  });
  new Counter({
    name: `${prefix}syslog_messages_total`,
    help: 'Syslog messages and connections by what became of them (received, recorded, ignored, failedResets, foreign, oversize, badFraming, disabled, dropped, notRecorded).',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      for (const [outcome, n] of Object.entries(read()?.syslog ?? {})) this.inc({ outcome }, n);
    },
  });
}
