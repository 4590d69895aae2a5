import type { Logger } from 'pino';
import type { LimitsConfig, PolicyConfig } from '../config/types.js';
import type { Clock } from '../shared/clock.js';
import type { CommandOutcome, OutcomeCount } from './outcome-tally.js';
import type { AuditSink, RolePort, VaultRegistry } from './ports.js';

export interface DispatcherStats {
  inFlight: number;
  /** Commands waiting in the admission queue. */
  queued: number;
  /** Duplicates that joined an execution in flight. */
  joined: number;
  outcomes: OutcomeCount[];
}

export interface DispatcherOptions {
  /** Vault profiles and clients, looked up per command (reload-safe). */
  vaults: VaultRegistry;
  /** The role and epoch the commands are fenced against. */
  role: RolePort;
  /** Initial local policy; replace with updatePolicy(). */
  policy: PolicyConfig;
  /** `maxInFlight` executions at once (joins excluded), then `maxQueued` waiting; config defaults 256 and 4096. */
  limits: Pick<LimitsConfig, 'maxInFlight' | 'maxQueued'>;
  /** Receives one event per listAccounts/getPassword answered by this gateway. */
  audit: AuditSink;
  logger: Logger;
  clock: Clock;
  /** Written into audit events. */
  gatewayId: string;
  /** Called once per finished command (not per join); default none. Must not throw (errors are logged). */
  onOutcome?: ((outcome: CommandOutcome) => void) | undefined;
}
