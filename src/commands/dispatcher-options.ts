import type { Logger } from 'pino';
import type { Clock } from '../shared/index.js';
import type { CommandOutcome, OutcomeCount } from './outcome-tally.js';
import type { PendingRequestsOptions } from './pending-requests.js';
import type { PolicyOptions } from './policy.js';
import type { AuditSink, RolePort, Sealer, VaultRegistry } from './ports.js';

export interface DispatcherStats {
  inFlight: number;
  /** Commands waiting in the admission queue. */
  queued: number;
  /** Duplicates that joined an execution in flight. */
  joined: number;
  outcomes: OutcomeCount[];
}

/** The dispatcher's admission limits (config `limits`). */
export interface LimitsOptions {
  /** Commands executing at once (joins excluded); the next ones wait in the admission queue. Config default 256. */
  readonly maxInFlight: number;
  /** Commands waiting for an execution slot, in arrival order; past it, OVERLOADED. Config default 4096. */
  readonly maxQueued: number;
}

export interface DispatcherOptions {
  /** Vault profiles and clients, looked up per command (reload-safe). */
  vaults: VaultRegistry;
  /** The role and epoch the commands are fenced against. */
  role: RolePort;
  /** Initial local policy; replace with updatePolicy(). */
  policy: PolicyOptions;
  limits: LimitsOptions;
  /** Seals a password to a command's recipientKey (getPassword). */
  sealer: Sealer;
  /** Receives one event per command answered by this gateway (joins add none). */
  audit: AuditSink;
  logger: Logger;
  clock: Clock;
  /** Written into audit events. */
  gatewayId: string;
  /** Bounds of the memory of access requests raised (protocol section 10); default access-requests.ts's. */
  pendingRequests?: PendingRequestsOptions | undefined;
  /** Called once per finished command (not per join); default none. Must not throw (errors are logged). */
  onOutcome?: ((outcome: CommandOutcome) => void) | undefined;
}
