import type { CommandMessage } from '../protocol/index.js';
import type { ErrorCode } from '../shared/index.js';
import type { AuditFacts } from './command-context.js';
import type { AuditEvent } from './ports.js';

/** The facts of a command of vault `vault` before its params or its run told anything. */
export function newAuditFacts(vault: string): AuditFacts {
  return { requestedBy: null, ticketId: null, vault, resource: null, resourceId: null, accountId: null, accountName: null, sealed: false };
}

/** What the dispatcher adds to a command's facts for its audit event. */
export interface AuditEnding {
  cmd: CommandMessage;
  gatewayId: string;
  /** ISO 8601 time the command finished. */
  time: string;
  outcome: 'ok' | ErrorCode;
  durationMs: number;
}

/**
 * The audit event of a finished command (or of one refused at once): a new
 * object, so a command that writes its facts after its deadline changes no
 * event already recorded. Written field by field, not as a spread of
 * `facts` (docs/benchmarks.md, "Why the hot path looks as it does").
 */
export function auditEvent(facts: AuditFacts, end: AuditEnding): AuditEvent {
  const event: AuditEvent = {
    time: end.time,
    event: end.cmd.name,
    commandId: end.cmd.id,
    epoch: end.cmd.epoch,
    gatewayId: end.gatewayId,
    requestedBy: facts.requestedBy,
    ticketId: facts.ticketId,
    vault: facts.vault,
    resource: facts.resource,
    resourceId: facts.resourceId,
    accountId: facts.accountId,
    accountName: facts.accountName,
    outcome: end.outcome,
    sealed: facts.sealed,
    durationMs: end.durationMs,
  };
  // Present only when given (the audit line has no `reason` key otherwise).
  if (facts.reason !== undefined) event.reason = facts.reason;
  if (facts.action !== undefined) event.action = facts.action;
  return event;
}
