import type { CommandMessage, ResultMessage } from '../protocol/index.js';
import type { CommandAbort } from '../shared/abort.js';
import type { TimerHandle } from '../shared/clock.js';
import type { GatewayError } from '../shared/errors.js';
import type { AuditFacts } from './command-context.js';
import type { ReplyPort } from './ports.js';

/** One command's life in the dispatcher, from arrival (queued or running) to its result. */

export type Outcome = { ok: true; data: Record<string, unknown> } | { ok: false; error: GatewayError };

export interface Execution {
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
  timer: TimerHandle | undefined;
  /** Monotonic arrival time. */
  started: number;
  /** Time spent in the admission queue, once it has left it; undefined if it never waited. */
  queuedMs: number | undefined;
  facts: AuditFacts;
  state: 'queued' | 'running' | 'done';
}

/**
 * Drops what a finished execution refers to; nothing reads these fields once
 * `state` is 'done' (a late settlement and the deadline timer check it
 * first). The execution itself is garbage by then, but a stale reference to
 * it can outlive it: a hash table the `running` Map has outgrown keeps its
 * old entries, and young-generation GCs count those as live until the next
 * full GC. Emptied, it no longer drags the command, its facts and its signal
 * through every young-generation GC into the old generation (figures:
 * docs/benchmarks.md, "promoted").
 */
export function release(exec: Execution): void {
  const finished: Partial<Pick<Execution, 'cmd' | 'reply' | 'controller' | 'facts' | 'timer'>> = exec;
  finished.cmd = undefined;
  finished.reply = undefined;
  finished.controller = undefined;
  finished.facts = undefined;
  finished.timer = undefined;
}

/** The newest epoch among the connections waiting for `exec` (the one the fencing check applies to). */
export function newestEpoch(exec: Execution): number {
  let epoch = exec.epoch;
  if (exec.others) for (const e of exec.others.values()) if (e > epoch) epoch = e;
  return epoch;
}

export function resultFrame(id: string, epoch: number, outcome: Outcome): ResultMessage {
  return outcome.ok
    ? { type: 'result', id, epoch, ok: true, data: outcome.data }
    : { type: 'result', id, epoch, ok: false, error: outcome.error.toWire() };
}
