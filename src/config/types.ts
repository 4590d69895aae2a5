/**
 * The compiled, frozen configuration every component receives a slice of.
 * Raw input (config.json through conf, validated by the JSON schema) →
 * defaults → compile (cross-field rules) → this. Durations are `…Ms`
 * numbers. Secrets are never literal here: tokens are references
 * (`file:///path`, `env://NAME`, `credential://NAME`) read when needed.
 */

/** A reference to a secret: `file:///abs/path`, `env://NAME` or `credential://NAME`. */
export type SecretRef = string;

/** A way to find the PMP resource of a command (protocol section 9). */
export type ResourceMatch = 'attribute' | 'hostName' | 'ipAddress';

/** The DNS-name index of a profile that finds resources by host name or IP (src/vault/dns-index.ts). */
export interface DnsIndexConfig {
  /** Vault calls per minute for building and refreshing the index, never more in any 60 s. Default 120. */
  readonly maxCallsPerMinute: number;
  /** Pause between the end of one refresh pass (re-list, re-read every DNS NAME) and the next. Default 900000 (15 min). */
  readonly refreshIntervalMs: number;
}

/**
 * What a vault profile's token is (protocol section 9): an API user's key,
 * sent as the AUTHTOKEN header, or a PAM360 integration (application)
 * token, sent as APP_AUTHTOKEN with APP_NAME.
 */
export type VaultTokenKind = 'apiUser' | 'integration';

export interface VaultProfile {
  /** Profile name; commands name it in `params.vault`. */
  readonly name: string;
  /** Base URL, `https://host:port` (no path, no trailing slash). */
  readonly url: string;
  /** Reference to the vault token: an API user's key or an integration token (`tokenKind`). */
  readonly token: SecretRef;
  /** How the token is sent: "apiUser" (AUTHTOKEN header) or "integration" (APP_AUTHTOKEN + APP_NAME). Default "apiUser". */
  readonly tokenKind: VaultTokenKind;
  /** APP_NAME sent with an integration token. Default "credgw". */
  readonly appName: string;
  /** PAM360/MSP organisation (orgName header) of every call; null when not used. */
  readonly orgName: string | null;
  /**
   * Custom attribute of a command's resource that names its PAM360/MSP
   * organisation (sent as orgName per command); null when not used.
   * Excludes `orgName`.
   */
  readonly orgNameAttribute: string | null;
  /** "auto": listAccounts asks the vault for one page (STARTINDEX/LIMIT) when it honours them; "off": always the whole list. Default "auto". */
  readonly accountPaging: 'auto' | 'off';
  /** The custom attribute on a cloud resource that holds the PMP resource ID or name. Default "PMP Resource ID". */
  readonly resourceIdAttribute: string;
  /** Add each account's notes to listAccounts. Default false. */
  readonly includeAccountNotes: boolean;
  /** Refuse getPassword without a ticket ID before calling PMP. Default false. */
  readonly requireTicketId: boolean;
  /** PEM file with the vault's certificate or CA; null to use system roots only. */
  readonly caFile: string | null;
  /** base64 SHA-256 SPKI pin of the vault's certificate; null for none. */
  readonly pinSha256: string | null;
  /** Per-request time-out against the vault. Default 10000. */
  readonly timeoutMs: number;
  /** Connections in the profile's undici pool. Default 32. */
  readonly maxConnections: number;
  /** How long resource lists and account metadata (never passwords) are cached. Default 30000. */
  readonly metadataTtlMs: number;
  /** Concurrent account-details calls when fetching notes. Default 8. */
  readonly notesConcurrency: number;
  /** Interval of the health probe. Default 15000. */
  readonly healthIntervalMs: number;
  /** Largest answer read from the vault; a longer one is VAULT_ERROR, read no further. Default 25165824 (24 MiB). */
  readonly maxResponseBytes: number;
  /** Takes rotation notices (listener, syslog) for this vault: ManageEngine's per-integration synchronisation switch. Default false. */
  readonly rotationNotices: boolean;
  /**
   * The ways to find a command's PMP resource, in order: the first one the
   * command carries a value for decides. No duplicates. Default ["attribute"].
   */
  readonly resourceMatch: readonly ResourceMatch[];
  /** The DNS-name index, kept while resourceMatch has "hostName" or "ipAddress". */
  readonly dnsIndex: DnsIndexConfig;
}

export interface ControllerConfig {
  /** `wss://…` (or `ws://…` with insecure). */
  readonly url: string;
  /** Reference to the gateway's bearer token. */
  readonly token: SecretRef;
  /** Allow `ws://` (loopback development and tests only). Default false. */
  readonly insecure: boolean;
  readonly caFile: string | null;
  readonly pinSha256: string | null;
  /** Client certificate and key (PEM files) for mutual TLS. */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** `http://[user@]host:port` HTTP CONNECT proxy; null → HTTPS_PROXY/NO_PROXY. */
  readonly proxy: string | null;
  /** Reference to the password of controller.proxy's user, read at every dial; null for none. */
  readonly proxyPassword: SecretRef | null;
}

export interface PolicyConfig {
  /** PMP resource IDs or names allowed; null allows all. */
  readonly allowResources: readonly string[] | null;
  /** Account names never fetched (case-insensitive). */
  readonly denyAccounts: readonly string[];
  /** Password fetches allowed per account per minute; null for no limit. */
  readonly maxFetchesPerAccountPerMinute: number | null;
}

export interface LimitsConfig {
  /** Commands executing at once; the next ones wait in the admission queue. Default 256. */
  readonly maxInFlight: number;
  /** Commands waiting for an execution slot, in arrival order; past it, OVERLOADED. Default 4096. */
  readonly maxQueued: number;
  /** Longest graceful drain on stop. Default 10000. */
  readonly drainTimeoutMs: number;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface TelemetryConfig {
  /** `host:port` of the loopback health/metrics/status endpoint; null disables it. */
  readonly listen: string | null;
  readonly logLevel: LogLevel;
  /** Where audit events go: "stdout" or an absolute file path. */
  readonly audit: string;
}

export interface EventsConfig {
  /** Unacknowledged events kept in the outbox; beyond it the oldest is dropped. Default 10000. */
  readonly maxStored: number;
  /** A notice within this of a stored change of the same vault, resource and account (from another source) is that change. Default 120000; 0 turns merging off. */
  readonly mergeWindowMs: number;
}

/** The addresses a vault's syslog comes from. */
export interface SyslogSourceConfig {
  /** A vault profile's name. */
  readonly vault: string;
  /** Addresses and CIDRs (IPv4, IPv6). */
  readonly from: readonly string[];
}

export interface SyslogTlsConfig {
  /** `host:port`. */
  readonly listen: string;
  /** PEM certificate and key; null for the notice listener's certificate (configured or made). */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** PEM CA that client certificates must chain to; null asks for none. */
  readonly clientCaFile: string | null;
}

export interface SyslogConfig {
  /** `host:port` for plain TCP; `0.0.0.0:1514` when no transport is named. */
  readonly tcp: string | null;
  /** `host:port` for UDP (unauthenticated: only when asked). Default null. */
  readonly udp: string | null;
  readonly tls: SyslogTlsConfig | null;
  /** Which vault each sender is; a sender in none is refused. */
  readonly sources: readonly SyslogSourceConfig[];
  /** Operation names that mean a password changed; null for the receiver's defaults (PAM360's). */
  readonly operations: readonly string[] | null;
  /** Regular expression with named groups for the audit line; null for PAM360's documented shape. */
  readonly pattern: string | null;
  /** IANA time zone of the vault's clock, for times without a zone. Default "UTC". */
  readonly timeZone: string;
}

export interface NoticesConfig {
  /** `host:port` of the HTTPS notice listener; null (the default) turns it off. */
  readonly listen: string | null;
  /** PEM certificate and key of the listener; null for one made and kept in the state directory. */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** Extra subjectAltNames of a made certificate (the names the vault dials). Default []. */
  readonly altNames: readonly string[];
  /** Reference to the bearer token the reset-listener script sends; required with listen. */
  readonly token: SecretRef | null;
  /** Addresses and CIDRs that may send notices; empty allows any. Default []. */
  readonly allowFrom: readonly string[];
  /** Per source address. Default 20. */
  readonly ratePerSecond: number;
  /** Per source address. Default 40. */
  readonly burst: number;
  /** PAM360's audit stream over syslog; null (the default) turns it off. */
  readonly syslog: SyslogConfig | null;
}

export interface GatewayConfig {
  readonly gatewayId: string;
  readonly clusterId: string;
  /** Higher wins the active role among healthy gateways. Default 100. */
  readonly priority: number;
  readonly controller: ControllerConfig | null;
  readonly vaults: readonly VaultProfile[];
  readonly policy: PolicyConfig;
  readonly limits: LimitsConfig;
  readonly telemetry: TelemetryConfig;
  /** The state directory (outbox, the listener's made certificate); null: $STATE_DIRECTORY or /var/lib/credgw. */
  readonly stateDir: string | null;
  readonly events: EventsConfig;
  readonly notices: NoticesConfig;
}
