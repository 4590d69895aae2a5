import type { CommandMessage } from '../protocol/index.js';
import { isoTime, type Clock } from '../shared/clock.js';
import type { ErrorCode } from '../shared/errors.js';
import type { AuditFacts } from './command-context.js';
import type { AuditEvent } from './ports.js';

/** What the command itself tells the audit before anything has run. */
export function initialFacts(cmd: CommandMessage): AuditFacts {
  const p = cmd.params;
  return {
    vault: p.vault,
    resource: null,
    resourceId: null,
    accountId: cmd.name === 'getPassword' ? cmd.params.accountId : null,
    accountName: null,
    sealed: cmd.name === 'getPassword' && cmd.params.recipientKey !== undefined,
  };
}

/** The audit event of a finished command (or of one refused at once). */
export function auditEvent(cmd: CommandMessage, facts: AuditFacts, outcome: 'ok' | ErrorCode, durationMs: number, gatewayId: string, clock: Clock): AuditEvent {
  const gp = cmd.name === 'getPassword' ? cmd.params : undefined;
  const event: AuditEvent = {
    time: isoTime(clock.now()),
    event: cmd.name,
    commandId: cmd.id,
    epoch: cmd.epoch,
    gatewayId,
    requestedBy: gp?.requestedBy ?? null,
    ticketId: gp?.ticketId ?? null,
    vault: facts.vault,
    resource: facts.resource,
    resourceId: facts.resourceId,
    accountId: facts.accountId,
    accountName: facts.accountName,
    outcome,
    sealed: facts.sealed,
    durationMs,
  };
  // Present only when given (the audit line has no `reason` key otherwise).
  if (gp?.reason !== undefined) event.reason = gp.reason;
  return event;
}
