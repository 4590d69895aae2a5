import type { AbortLike } from '../shared/index.js';
import { GatewayError } from '../shared/index.js';
import type { PendingRequests } from './pending-requests.js';
import type { Policy } from './policy.js';
import type { AuditEvent, Sealer, VaultLease, VaultRegistry } from './ports.js';

/**
 * One command as the dispatcher's table knows it (command-table.ts): adding
 * a command is a file that exports one of these and a row in the table.
 * The params come decoded and checked by protocol/ (decodeCommand).
 */
export interface CommandSpec<P> {
  /**
   * Runs the command to the data of its result. A refusal rejects with a
   * GatewayError (its code goes to the controller); anything else is a bug,
   * answered INTERNAL.
   */
  execute(params: P, ctx: CommandContext): Promise<object>;
  /** Writes into `facts` what the params alone tell the audit, before anything runs. Never a secret. */
  audit(params: P, facts: AuditFacts): void;
}

/**
 * What the dispatcher hands one command execution. `facts` is filled in by
 * the command as it learns things, so the dispatcher can write a complete
 * audit event whatever way the command ends (success, error, deadline).
 */
export interface CommandContext {
  vaults: VaultRegistry;
  policy: Policy;
  sealer: Sealer;
  /** Aborted with a DEADLINE_EXCEEDED GatewayError when the command's timeoutMs passes. */
  signal: AbortLike;
  facts: AuditFacts;
  /** The vault the command took (lookupVault); the dispatcher releases it when the command has settled. */
  lease: VaultLease | null;
  /** The access requests the gateway raised and has not seen decided (protocol section 10). */
  pendingRequests: PendingRequests;
}

/** The fields of an audit event the dispatcher does not fill in itself: what the command tells and learns. */
export type AuditFacts = Omit<AuditEvent, 'time' | 'event' | 'commandId' | 'epoch' | 'gatewayId' | 'outcome' | 'durationMs'>;

/** The profile and client of `params.vault`, held in `ctx.lease` (once per command), or UNKNOWN_VAULT. */
export function lookupVault(ctx: CommandContext, name: string): VaultLease {
  const lease = ctx.vaults.acquire(name);
  if (!lease) throw new GatewayError('UNKNOWN_VAULT', `no vault profile named "${name}"`);
  ctx.lease = lease;
  return lease;
}

/**
 * Stops a command between vault calls once its deadline has passed: a
 * vault client that resolved despite the abort must not lead to a further
 * call (least of all the password call).
 */
export function checkNotAborted(signal: AbortLike): void {
  if (signal.aborted) throw signal.reason instanceof GatewayError ? signal.reason : new GatewayError('DEADLINE_EXCEEDED', 'command deadline exceeded');
}
