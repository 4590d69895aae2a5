import type { ErrorCode, WireError } from '../shared/index.js';

/**
 * The wire messages of protocol version 1 (shared/design/protocol.md and
 * docs/protocol.md). One JSON object per WebSocket text frame.
 */

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = 'credgw.v1';

/** Largest frame either side accepts (section 1). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export const HEADER_GATEWAY = 'x-credgw-gateway';
export const HEADER_CLUSTER = 'x-credgw-cluster';

/** Close codes (section 8). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  TOO_BIG: 1009,
  PROTOCOL_ERROR: 4000,
  UNAUTHORIZED: 4001,
  UNSUPPORTED_VERSION: 4002,
  REPLACED: 4003,
} as const;

export const DEFAULT_HEARTBEAT_MS = 1000;
/** A side that hears nothing for this many heartbeats terminates (section 2). */
export const LIVENESS_HEARTBEATS = 3;
/** A gateway that gets no welcome within this time reconnects (section 3). */
export const WELCOME_TIMEOUT_MS = 10_000;

export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
export const MIN_COMMAND_TIMEOUT_MS = 100;
export const MAX_COMMAND_TIMEOUT_MS = 120_000;

/** listAccounts paging (section 5): `params.limit` 1–1000, default 500. */
export const DEFAULT_LIST_LIMIT = 500;
export const MAX_LIST_LIMIT = 1000;

export const COMMAND_NAMES = ['listAccounts', 'getPassword', 'checkInPassword'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];
/** Announced in hello by a gateway that raises access requests and checks passwords in (section 10). */
export const CAPABILITY_ACCESS_REQUESTS = 'accessRequests';
export const CAPABILITIES = ['listAccounts', 'getPassword', 'sealedDelivery', 'checkInPassword', CAPABILITY_ACCESS_REQUESTS] as const;

/** The longest access window a getPassword may ask for (section 10, `accessWindow`; docs/protocol.md). */
export const MAX_ACCESS_WINDOW_MS = 31 * 24 * 60 * 60_000;

export type Role = 'active' | 'standby';

export interface VaultHealth {
  name: string;
  healthy: boolean;
  /** The error code of the last failed probe, when unhealthy. */
  error?: ErrorCode | undefined;
}

// ---- gateway → controller -------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  gatewayId: string;
  clusterId: string;
  version: string;
  priority: number;
  capabilities: string[];
  vaults: VaultHealth[];
}

export interface ResultOk {
  type: 'result';
  id: string;
  epoch: number;
  ok: true;
  data: Record<string, unknown>;
}

export interface ResultError {
  type: 'result';
  id: string;
  epoch: number;
  ok: false;
  error: WireError;
}

export type ResultMessage = ResultOk | ResultError;

/**
 * What became of a result handed to a connection: sent as built; `replaced`
 * by RESULT_TOO_LARGE because it would exceed the frame limit (section 5);
 * or dropped because the connection is `gone`.
 */
export type ResultDelivery = 'sent' | 'replaced' | 'gone';

export interface ResignMessage {
  type: 'resign';
  epoch: number;
}

export interface HealthMessage {
  type: 'health';
  vaults: VaultHealth[];
}

export type GatewayMessage = HelloMessage | ResultMessage | ResignMessage | HealthMessage | EventMessage;

// ---- controller → gateway -------------------------------------------------

export interface WelcomeMessage {
  type: 'welcome';
  protocol: number;
  heartbeatMs: number;
  role: Role;
  epoch: number;
}

export interface RoleMessage {
  type: 'role';
  role: Role;
  epoch: number;
}

export interface ResourceRef {
  /** The cloud's own resource ID (informational). */
  id?: string | undefined;
  name?: string | undefined;
  customAttributes: Record<string, string>;
  /** The device's host name, matched against PMP's DNS NAME by a profile whose resourceMatch lists "hostName" (section 9). */
  hostName?: string | undefined;
  /** The device's IP address, matched against PMP's DNS NAME by a profile whose resourceMatch lists "ipAddress" (section 9). */
  ipAddress?: string | undefined;
}

export interface ListAccountsParams {
  vault: string;
  resource: ResourceRef;
  /** First account of the page, counted from 0. Default 0. */
  offset: number;
  /** Accounts per page, 1–{@link MAX_LIST_LIMIT}. Default {@link DEFAULT_LIST_LIMIT}. */
  limit: number;
}

/** checkInPassword's params, with the password-only ones (section 10) added. */
export interface GetPasswordParams extends CheckInPasswordParams {
  recipientKey?: string | undefined;
  /** Raise an access request in the vault when the account needs approval (section 10). */
  requestAccess?: boolean | undefined;
  /** When the access is wanted (only with requestAccess); absent: now. */
  accessWindow?: AccessWindow | undefined;
}

/** An access request's window (section 10): ISO 8601 times with a zone, the end after the start. */
export interface AccessWindow {
  startTime: string;
  endTime: string;
}

/** The account a command addresses, with the ticket and reason the vault records. */
export interface CheckInPasswordParams {
  vault: string;
  resource: ResourceRef;
  accountId: string;
  ticketId?: string | undefined;
  reason?: string | undefined;
  requestedBy?: string | undefined;
}

interface CommandBase {
  type: 'command';
  id: string;
  epoch: number;
  timeoutMs: number;
}

export interface ListAccountsCommand extends CommandBase {
  name: 'listAccounts';
  params: ListAccountsParams;
}

export interface GetPasswordCommand extends CommandBase {
  name: 'getPassword';
  params: GetPasswordParams;
}

export interface CheckInPasswordCommand extends CommandBase {
  name: 'checkInPassword';
  params: CheckInPasswordParams;
}

export type CommandMessage = ListAccountsCommand | GetPasswordCommand | CheckInPasswordCommand;

export type ControllerMessage = WelcomeMessage | RoleMessage | CommandMessage | AckMessage;

// ---- result payloads ------------------------------------------------------

export interface AccountSummary {
  accountId: string;
  accountName: string;
  notes?: string | undefined;
  ticketIdRequired: boolean;
  reasonRequired: boolean;
}

export interface ListAccountsData {
  resourceId: string;
  resourceName: string;
  accounts: AccountSummary[];
  /** Accounts of the whole list (all pages). */
  totalAccounts: number;
  /** The offset of the next page; absent on the last page. */
  nextOffset?: number;
}

export interface GetPasswordData {
  resourceId: string;
  accountId: string;
  accountName: string;
  /** Present only when no recipientKey was given. */
  password?: string;
  /** base64 RSA-OAEP-SHA256 ciphertext, present only with recipientKey. */
  sealedPassword?: string;
}

export interface CheckInPasswordData {
  accountId: string;
}

// ---- events (section 11, the `rotationEvents` extension) -----------------
// Decoded by both sides (codec.ts); the gateway announces the capability only
// once its outbox is wired to the link (docs/protocol.md, "Events: what
// section 11 left open").

/** Announced in hello by a gateway that reads `resource.hostName` / `resource.ipAddress` (section 9). */
export const CAPABILITY_RESOURCE_BY_ADDRESS = 'resourceByAddress';

/** Announced in hello by a gateway that sends events and takes acks. */
export const CAPABILITY_ROTATION_EVENTS = 'rotationEvents';
/** Extensions announced only when their feature is on; not part of the default CAPABILITIES. */
export const EXTENSION_CAPABILITIES = [CAPABILITY_ROTATION_EVENTS] as const;

export const EVENT_NAMES = ['credentialRotated'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** How the gateway learnt of a change: the reset-listener script, the vault's syslog, or its audit records. */
export const EVENT_SOURCES = ['listener', 'syslog', 'audit'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** A password changed in a vault. Never carries a password, old or new. */
export interface CredentialRotatedData {
  /** The vault profile's name. */
  vault: string;
  /** PMP's resource ID, when the gateway resolved the name. */
  resourceId?: string | undefined;
  resourceName: string;
  dnsName?: string | undefined;
  /** PMP's account ID, when the gateway resolved the name. */
  accountId?: string | undefined;
  accountName: string;
  /** The vault's time of the change, ISO 8601 in UTC. */
  rotatedAt: string;
  source: EventSource;
}

/** Gateway → controller, outside any command; re-sent after each welcome until acked. */
export interface EventMessage {
  type: 'event';
  id: string;
  name: EventName;
  data: CredentialRotatedData;
}

/** Controller → gateway: the event of this id is stored. */
export interface AckMessage {
  type: 'ack';
  id: string;
}
