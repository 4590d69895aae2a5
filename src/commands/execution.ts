import type { CommandMessage, ResultMessage } from '../protocol/index.js';
import type { CommandAbort, GatewayError, TimerHandle } from '../shared/index.js';
import type { AuditFacts } from './command-context.js';
import type { ReplyPort } from './ports.js';

/** One command's life in the dispatcher, from arrival (queued or running) to its result. */

export type Outcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: GatewayError };

/**
 * A command in the dispatcher: what its maps, its deadline timer and its
 * vault callbacks hold. It can outlive the command (a stale reference keeps
 * it until the next full GC), so what the command holds is in `live`, which
 * is dropped when the command is answered (docs/benchmarks.md, "Why the
 * hot path looks as it does").
 */
export interface Execution {
  /** The command while it is queued or running; null once it has been answered. */
  live: LiveExecution | null;
}

export interface LiveExecution {
  cmd: CommandMessage;
  /** The connection that asked first, and the epoch its result carries. */
  reply: ReplyPort;
  epoch: number;
  /**
   * Other connections waiting for this id (a join from a newer connection),
   * with their epochs; null in the common case of one asker, so a command
   * costs no Map.
   */
  others: Map<ReplyPort, number> | null;
  controller: CommandAbort;
  /** The deadline, set at arrival: time spent queued counts against timeoutMs. */
  timer: TimerHandle;
  /** Monotonic arrival time. */
  started: number;
  /** Time spent in the admission queue, once it has left it; undefined if it never waited. */
  queuedMs: number | undefined;
  facts: AuditFacts;
  state: 'queued' | 'running';
}

/** The live record of an execution taken from the dispatcher's maps, which hold only unanswered ones. */
export function liveOf(exec: Execution): LiveExecution {
  if (exec.live === null) throw new Error('an answered command was still in the dispatcher');
  return exec.live;
}

/** The newest epoch among the connections waiting for a command (the one the fencing check applies to). */
export function newestEpoch(live: LiveExecution): number {
  let epoch = live.epoch;
  if (live.others) for (const e of live.others.values()) if (e > epoch) epoch = e;
  return epoch;
}

export function resultFrame(id: string, epoch: number, outcome: Outcome): ResultMessage {
  return outcome.ok
    ? { type: 'result', id, epoch, ok: true, data: outcome.data }
    : { type: 'result', id, epoch, ok: false, error: outcome.error.toWire() };
}
