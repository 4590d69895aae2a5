import type { ErrorCode } from '../shared/index.js';

/**
 * The status document: what the running daemon says about itself on
 * `GET /status` of the loopback telemetry endpoint, what `credgw status`
 * prints, and what the readiness rule of `/readyz` is computed from.
 *
 * It holds state, never secrets: URLs are shown without user info (see
 * safeUrl), errors are messages the gateway wrote itself, and there is no
 * field that could carry a token or a password.
 */

/** The daemon's lifecycle (src/daemon/lifecycle.ts). */
export type StatusLifecycle = 'starting' | 'running' | 'draining' | 'stopped';

/** The HA role as the gateway knows it; 'unknown' until the first welcome. */
export type StatusRole = 'unknown' | 'standby' | 'active' | 'resigning' | 'stopped';

export interface LinkStatus {
  /** The link's state (src/link/link-state.ts: idle, connecting, handshaking, up, backoff, stopped), or 'disabled' with no controller. */
  state: string;
  /** The controller URL without user info ('' with no controller). */
  url: string;
  /** ISO time the current connection reached 'up'; null when not up. */
  connectedSince: string | null;
  /** Dials after the first one since the daemon started. */
  reconnects: number;
  /** Why the last connection failed or ended (a LinkFailureCode and message); null when none failed. */
  lastError: string | null;
}

export interface VaultStatus {
  /** Profile name. */
  name: string;
  /** Base URL, without user info. */
  url: string;
  /** Result of the last health probe; null before the first one. */
  healthy: boolean | null;
  /** Code of the last failure; null when healthy or not probed yet. */
  error: ErrorCode | null;
  /** Message of the last failure (kept after recovery, for the operator); null when none failed. */
  lastError: string | null;
  /** ISO time of the last probe; null before the first one. */
  lastCheckedAt: string | null;
  /** The profile's DNS-name index (protocol section 9); absent when it maps by attribute only (or from a daemon without one). */
  dnsIndex?: DnsIndexStatus;
}

/** Progress of a DNS-name index, as cheap to read as a status request allows. */
export interface DnsIndexStatus {
  /** The index's state (src/vault/dns-index-options.ts: idle, building, ready, stopped). */
  state: string;
  /** Resources in the last resource list. */
  listed: number;
  /** Of those, resources whose DNS NAME has been read (or found empty). */
  indexed: number;
  /** The first pass is done: a miss is answered, not waited for. */
  complete: boolean;
  /** Addresses shared by several resources (RESOURCE_AMBIGUOUS). */
  duplicates: number;
}

export interface LoopStatus {
  /** The loop ticked within its allowed silence. */
  healthy: boolean;
  /** Since its last tick; null before the first tick. */
  lastTickAgoMs: number | null;
}

/** The notice listener (protocol section 12). */
export interface ListenerStatus {
  /** `host:port` it listens on. */
  listen: string;
  /** base64 SHA-256 SPKI pin of its certificate, for the reset-listener script's configuration. */
  pin: string;
  /** Notices answered 202 since the daemon started. */
  accepted: number;
  /** Requests refused since the daemon started, by code. */
  refused: Record<string, number>;
}

/** The syslog receiver. */
export interface SyslogStatus {
  /** Transport (`tcp`, `udp`, `tls`) → `host:port`. */
  listen: Record<string, string>;
  /** Its counters since the daemon started (received, recorded, ignored, foreign, …). */
  counts: Record<string, number>;
}

/** The outbox of rotation events and what reports into it (protocol section 11). */
export interface EventsStatus {
  stateDir: string;
  /** Events not yet acknowledged by the controller. */
  pending: number;
  /** How long the oldest of them has waited; null when none waits. */
  oldestAgeMs: number | null;
  /** Events the bound (events.maxStored) dropped since the outbox file was made. */
  droppedTotal: number;
  /** Sent on the current connection and not yet acknowledged. */
  inFlight: number;
  /** The notice listener; null when off (or it failed to restart on a reload: see lastError). */
  listener: ListenerStatus | null;
  syslog: SyslogStatus | null;
  /** Why the listener is not running although configured; null when it runs or is off. */
  listenerError: string | null;
}

export interface GatewayStatus {
  version: string;
  gatewayId: string;
  clusterId: string;
  pid: number;
  /** ISO time the daemon started. */
  startedAt: string;
  uptimeMs: number;
  lifecycle: StatusLifecycle;
  role: StatusRole;
  /** The epoch of the current role grant; null before the first welcome. */
  epoch: number | null;
  /** ISO time of the last role change; null before the first. */
  roleChangedAt: string | null;
  link: LinkStatus;
  vaults: VaultStatus[];
  /** Commands executing now. */
  inFlight: number;
  /** Commands waiting in the admission queue (limits.maxQueued). */
  queued: number;
  /** The loops the liveness monitor watches (LivenessMonitor.snapshot()). */
  loops: Record<string, LoopStatus>;
  /** Config keys changed by a reload that apply only after a restart (the started values run); empty when none. */
  restartRequired: string[];
  /** The outbox and the notice sources; null when the gateway keeps no outbox (absent from a daemon older than events). */
  events?: EventsStatus | null;
}

export interface Readiness {
  ready: boolean;
  /** Why not, one sentence each; empty when ready. */
  reasons: string[];
  /** What does not make the daemon unready but needs the operator (a pending restart); empty when nothing. */
  warnings: string[];
}

/**
 * The readiness rule of `/readyz`: the daemon is running, the controller
 * link is up, the role is known (standby or active; a resigning gateway is
 * draining and takes nothing new), and at least one vault is healthy.
 */
export function computeReadiness(status: GatewayStatus): Readiness {
  const reasons: string[] = [];
  if (status.lifecycle !== 'running') reasons.push(`the daemon is ${status.lifecycle}`);
  if (status.link.state !== 'up') {
    reasons.push(
      status.link.state === 'disabled'
        ? 'no controller is configured'
        : `the controller link is ${status.link.state}${status.link.lastError ? ` (${status.link.lastError})` : ''}`,
    );
  }
  if (status.role !== 'active' && status.role !== 'standby') reasons.push(`the role is ${status.role}`);
  if (status.vaults.length === 0) reasons.push('no vault is configured');
  else if (!status.vaults.some((v) => v.healthy === true)) {
    const why = status.vaults.map((v) => `${v.name}: ${v.healthy === null ? 'not checked yet' : (v.error ?? 'unhealthy')}`);
    reasons.push(`no vault is healthy (${why.join(', ')})`);
  }
  const warnings: string[] = [];
  if (status.restartRequired.length > 0) warnings.push(`a restart is needed to apply changed ${status.restartRequired.join(', ')}`);
  return { ready: reasons.length === 0, reasons, warnings };
}

/** A URL without user info (and without query or fragment, which may carry tokens); unparsable text becomes '(invalid URL)'. */
export function safeUrl(text: string): string {
  if (text === '') return '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '(invalid URL)';
  }
  if (!url.username && !url.password && !url.search && !url.hash) return text;
  // Rebuilt from parts; an origin written without its trailing slash keeps that form.
  const bare = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(?:[?#]|$)/i.test(text);
  return `${url.protocol}//${url.host}${bare && url.pathname === '/' ? '' : url.pathname}`;
}

/**
 * A copy of a status document with every URL passed through safeUrl, so a
 * caller that forgot to clean one still cannot publish user info.
 */
export function sanitizeStatus(status: GatewayStatus): GatewayStatus {
  return {
    ...status,
    link: { ...status.link, url: safeUrl(status.link.url) },
    vaults: status.vaults.map((v) => ({ ...v, url: safeUrl(v.url), ...(v.dnsIndex ? { dnsIndex: { ...v.dnsIndex } } : {}) })),
    loops: { ...status.loops },
    restartRequired: [...status.restartRequired],
    ...(status.events === undefined ? {} : { events: status.events === null ? null : { ...status.events } }),
  };
}

/** Loose shape check of a document read from the endpoint (it may be another program answering on the port). */
export function isGatewayStatus(value: unknown): value is GatewayStatus {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const link = v['link'] as Record<string, unknown> | null | undefined;
  return (
    typeof v['version'] === 'string' &&
    typeof v['gatewayId'] === 'string' &&
    typeof v['role'] === 'string' &&
    typeof v['lifecycle'] === 'string' &&
    typeof v['uptimeMs'] === 'number' &&
    typeof v['inFlight'] === 'number' &&
    typeof link === 'object' &&
    link !== null &&
    typeof link['state'] === 'string' &&
    Array.isArray(v['vaults'])
  );
}
