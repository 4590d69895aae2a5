import type { AbortLike } from '../shared/abort.js';
import { GatewayError } from '../shared/errors.js';
import type { Policy } from './policy.js';
import type { VaultLease, VaultRegistry } from './ports.js';

/**
 * What the dispatcher hands one command execution. `facts` is filled in by
 * the command as it learns things, so the dispatcher can write a complete
 * audit event whatever way the command ends (success, error, deadline).
 */
export interface CommandContext {
  vaults: VaultRegistry;
  policy: Policy;
  /** Aborted with a DEADLINE_EXCEEDED GatewayError when the command's timeoutMs passes. */
  signal: AbortLike;
  facts: AuditFacts;
  /** The vault the command took (lookupVault); the dispatcher releases it when the command has settled. */
  lease: VaultLease | null;
}

/** The audit-relevant facts of one execution. Never a password. */
export interface AuditFacts {
  vault: string;
  resource: string | null;
  resourceId: string | null;
  accountId: string | null;
  accountName: string | null;
  sealed: boolean;
}

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
