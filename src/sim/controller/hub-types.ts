import type { ResultError, ResultOk, Role, VaultHealth } from '../../protocol/index.js';

/**
 * What the hub shows the outside: the peer it drives (a gateway
 * connection), command outcomes and cluster snapshots (the HTTP API's
 * bodies), and the API's error codes.
 */

/** One gateway connection as the hub sees it. Identity matters: a reconnect is a new peer. */
export interface GatewayPeer {
  readonly gatewayId: string;
  readonly clusterId: string;
  /** Sends one text frame (dropped silently when the connection is closing). */
  send(text: string): void;
  /** Closes the connection with a protocol close code. */
  close(code: number, reason: string): void;
}

/** Controller-side error codes of the HTTP API (gateway codes come in `result` bodies). */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_COMMAND'
  | 'BAD_JSON'
  | 'BODY_TOO_LARGE'
  | 'BAD_CLUSTER_ID'
  | 'ID_CONFLICT'
  | 'NO_ACTIVE_GATEWAY'
  | 'DEADLINE_EXCEEDED'
  | 'CONTROLLER_STOPPING'
  | 'UNKNOWN_CLUSTER'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHORIZED'
  | 'TOO_MANY_STREAMS';

export interface ApiError {
  code: ApiErrorCode;
  message: string;
  retryable: boolean;
}

/** The body of a final result that came from a gateway (HTTP 200). */
export type CommandResultBody = (Omit<ResultOk, 'type'> | Omit<ResultError, 'type'>) & {
  /** The gateway whose result this is. */
  gatewayId: string;
  /** How many times the command was sent (1 + re-sends). */
  attempts: number;
};

/** What a command submission ends with: a gateway's result, or a controller error. */
export type CommandOutcome =
  | { status: 200; body: CommandResultBody }
  | { status: 400 | 409 | 413 | 503 | 504; body: { id?: string; error: ApiError } };

export interface ClusterCounts {
  /** Grants of the active role (the first one included). */
  promotions: number;
  /** Sends of a command after its first (after a lost/resigned active or a NOT_ACTIVE answer). */
  resentCommands: number;
  /** Results whose epoch or connection is not the one the command was last sent with. */
  staleResultsDropped: number;
  /** Results for a command that already had its final result (or was never sent). */
  duplicateResultsDropped: number;
  /** Final results with ok:true. */
  commandsOk: number;
  /** Final results that are not ok (gateway errors and controller errors alike). */
  commandsFailed: number;
}

export interface GatewaySnapshot {
  gatewayId: string;
  role: Role;
  /** The epoch this gateway was last told. */
  epoch: number;
  priority: number;
  resigning: boolean;
  /** At least one vault healthy. */
  healthy: boolean;
  vaults: VaultHealth[];
  version: string;
  capabilities: string[];
  connectedAt: string;
  lastChange: { at: string; reason: string };
  /** Commands sent to this connection and not answered yet. */
  inFlight: number;
}

export interface ClusterSnapshot {
  clusterId: string;
  /** The last epoch granted. */
  epoch: number;
  activeGatewayId: string | null;
  gateways: GatewaySnapshot[];
  /** The last grant of the active role. */
  lastChange: { at: string; gatewayId: string; epoch: number; reason: string } | null;
  counts: ClusterCounts & { commandsInFlight: number; commandsWaiting: number };
}
