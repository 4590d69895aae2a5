/**
 * Every default of the configuration, as a named constant with its unit.
 * The JSON schema carries no `default` keywords on purpose: conf would then
 * write them into the admin's file on every rewrite. Defaults are applied
 * once, in compile, and documented in docs/configuration.md.
 */

/** Where `config.json` lives unless `--config-dir` or CREDGW_CONFIG_DIR says otherwise. */
export const DEFAULT_CONFIG_DIR = '/etc/credgw';
/** Environment variable that overrides the config directory. */
export const CONFIG_DIR_ENV = 'CREDGW_CONFIG_DIR';
/** conf's `configName`: the file is `<dir>/config.json`. */
export const CONFIG_NAME = 'config';
/** Mode of a config.json created from scratch (an existing file keeps its own). */
export const NEW_CONFIG_FILE_MODE = 0o600;
/**
 * The unit's `LoadCredential=credgw:<config dir>/credentials`: systemd names
 * each file of that directory `credgw_<FILE>`. Outside systemd the CLI reads
 * `credential://credgw_<FILE>` from the same file (secrets.ts).
 */
export const CREDENTIAL_ID = 'credgw';
/** The folder of the config directory holding the token files of CREDENTIAL_ID. */
export const CREDENTIALS_SUBDIR = 'credentials';

export const DEFAULT_PRIORITY = 100;

export const DEFAULT_RESOURCE_ID_ATTRIBUTE = 'PMP Resource ID';
/** How the vault token is sent: an API user's key as the AUTHTOKEN header (protocol section 9). */
export const DEFAULT_TOKEN_KIND = 'apiUser';
/** APP_NAME sent with an integration token (tokenKind "integration"). */
export const DEFAULT_APP_NAME = 'credgw';
/** listAccounts pages through STARTINDEX/LIMIT when the vault honours them, else cuts the whole list. */
export const DEFAULT_ACCOUNT_PAGING = 'auto';
export const DEFAULT_VAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_VAULT_MAX_CONNECTIONS = 32;
export const DEFAULT_METADATA_TTL_MS = 30_000;
export const DEFAULT_NOTES_CONCURRENCY = 8;
export const DEFAULT_HEALTH_INTERVAL_MS = 15_000;
/** 24 MiB: a resource with 40,000 accounts is an account list of about 20 MB, and it must still be listed. */
export const DEFAULT_MAX_RESPONSE_BYTES = 24 * 1024 * 1024;
/** Find a command's resource by its custom attribute only (protocol section 5). */
export const DEFAULT_RESOURCE_MATCH = ['attribute'] as const;
/** Vault calls per minute that a profile's DNS-name index may make. */
export const DEFAULT_DNS_INDEX_MAX_CALLS_PER_MINUTE = 120;
/** 15 min between the end of one DNS-name index refresh and the next. */
export const DEFAULT_DNS_INDEX_REFRESH_INTERVAL_MS = 15 * 60_000;

export const DEFAULT_MAX_IN_FLIGHT = 256;
/** Commands waiting for an execution slot (protocol section 5 admission queue). */
export const DEFAULT_MAX_QUEUED = 4096;
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export const DEFAULT_TELEMETRY_LISTEN = '127.0.0.1:9469';
export const DEFAULT_LOG_LEVEL = 'info';
export const DEFAULT_AUDIT = 'stdout';

/** Unacknowledged events kept in the outbox (events.maxStored). */
export const DEFAULT_EVENTS_MAX_STORED = 10_000;
/** Two sources' notices of one change (listener: the script's time; syslog: the audit time) differ by seconds. */
export const DEFAULT_EVENTS_MERGE_WINDOW_MS = 120_000;
/** Notice listener rate limit per source address: sustained per second, and burst. */
export const DEFAULT_NOTICES_RATE_PER_SECOND = 20;
export const DEFAULT_NOTICES_BURST = 40;
/** Plain TCP syslog when notices.syslog names no transport (unprivileged: the unit has no CAP_NET_BIND_SERVICE). */
export const DEFAULT_SYSLOG_TCP = '0.0.0.0:1514';
export const DEFAULT_SYSLOG_TIME_ZONE = 'UTC';

/** Bounds enforced by the schema (inclusive). */
export const LIMITS = {
  priority: { min: 0, max: 1_000_000 },
  vaultTimeoutMs: { min: 100, max: 600_000 },
  maxConnections: { min: 1, max: 1024 },
  metadataTtlMs: { min: 0, max: 3_600_000 },
  notesConcurrency: { min: 1, max: 64 },
  healthIntervalMs: { min: 1_000, max: 3_600_000 },
  /** 64 KiB to 256 MiB. */
  maxResponseBytes: { min: 64 * 1024, max: 256 * 1024 * 1024 },
  dnsIndexMaxCallsPerMinute: { min: 10, max: 60_000 },
  /** 1 min to 7 days. */
  dnsIndexRefreshIntervalMs: { min: 60_000, max: 7 * 24 * 3_600_000 },
  maxInFlight: { min: 1, max: 100_000 },
  maxQueued: { min: 0, max: 1_000_000 },
  drainTimeoutMs: { min: 0, max: 600_000 },
  maxFetchesPerAccountPerMinute: { min: 1, max: 100_000 },
  eventsMaxStored: { min: 1, max: 1_000_000 },
  mergeWindowMs: { min: 0, max: 3_600_000 },
  noticesRatePerSecond: { min: 1, max: 10_000 },
  noticesBurst: { min: 1, max: 100_000 },
} as const;
