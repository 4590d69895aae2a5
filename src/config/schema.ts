import { createHash } from 'node:crypto';
import { LIMITS } from './defaults.js';

/**
 * The JSON schema (draft 2020-12, as conf 15's Ajv2020 reads it) of the raw
 * `config.json`. It checks fields one at a time; rules that relate fields
 * (wss:// vs insecure, certFile with keyFile, unique vault names, pins,
 * loopback listen address) live in compile.ts. Reusable shapes sit in
 * `$defs` so a failing value can be explained by the name of its shape
 * (see `PATTERN_MESSAGES` in schema-errors.ts) without custom keywords.
 *
 * Every object accepts keys that start with `//`: JSON has no comments, and
 * `credgw config init` writes its explanations as `"//": "…"` keys.
 */

/** The raw file as an admin writes it: everything optional that has a default. */
export interface RawVaultProfile {
  name: string;
  url: string;
  token: string;
  tokenKind?: 'apiUser' | 'integration';
  appName?: string;
  orgName?: string | null;
  orgNameAttribute?: string | null;
  accountPaging?: 'auto' | 'off';
  resourceIdAttribute?: string;
  includeAccountNotes?: boolean;
  requireTicketId?: boolean;
  caFile?: string | null;
  pinSha256?: string | null;
  timeoutMs?: number;
  maxConnections?: number;
  metadataTtlMs?: number;
  notesConcurrency?: number;
  healthIntervalMs?: number;
  maxResponseBytes?: number;
  rotationNotices?: boolean;
  resourceMatch?: string[];
  dnsIndex?: { maxCallsPerMinute?: number; refreshIntervalMs?: number; [comment: `//${string}`]: unknown };
  [comment: `//${string}`]: unknown;
}

export interface RawControllerConfig {
  url: string;
  token: string;
  insecure?: boolean;
  caFile?: string | null;
  pinSha256?: string | null;
  certFile?: string | null;
  keyFile?: string | null;
  proxy?: string | null;
  proxyPassword?: string | null;
  [comment: `//${string}`]: unknown;
}

export interface RawSyslogConfig {
  tcp?: string | null;
  udp?: string | null;
  tls?: { listen: string; certFile?: string | null; keyFile?: string | null; clientCaFile?: string | null; [comment: `//${string}`]: unknown } | null;
  sources: { vault: string; from: string[]; [comment: `//${string}`]: unknown }[];
  operations?: string[] | null;
  pattern?: string | null;
  timeZone?: string;
  [comment: `//${string}`]: unknown;
}

export interface RawNoticesConfig {
  listen?: string | null;
  certFile?: string | null;
  keyFile?: string | null;
  altNames?: string[];
  token?: string | null;
  allowFrom?: string[];
  ratePerSecond?: number;
  burst?: number;
  syslog?: RawSyslogConfig | null;
  [comment: `//${string}`]: unknown;
}

export interface RawConfig {
  $schema?: string;
  gatewayId?: string;
  clusterId?: string;
  priority?: number;
  controller?: RawControllerConfig | null;
  vaults?: RawVaultProfile[];
  policy?: {
    allowResources?: string[] | null;
    denyAccounts?: string[];
    maxFetchesPerAccountPerMinute?: number | null;
    [comment: `//${string}`]: unknown;
  };
  limits?: { maxInFlight?: number; maxQueued?: number; drainTimeoutMs?: number; [comment: `//${string}`]: unknown };
  telemetry?: {
    listen?: string | null;
    logLevel?: string;
    audit?: string;
    [comment: `//${string}`]: unknown;
  };
  stateDir?: string | null;
  events?: { maxStored?: number; mergeWindowMs?: number; [comment: `//${string}`]: unknown };
  notices?: RawNoticesConfig;
  [comment: `//${string}`]: unknown;
}

/** Keys starting with `//` are comments, allowed in every object. */
const COMMENTS = { '^//': {} } as const;

const int = (range: { min: number; max: number }) => ({ type: 'integer', minimum: range.min, maximum: range.max }) as const;
/** A string of the shape `def`. The `$defs` carry no `type`, so a use site may also allow null. */
const str = (def: string) => ({ type: 'string', $ref: `#/$defs/${def}` }) as const;
const strOrNull = (def: string) => ({ type: ['string', 'null'], $ref: `#/$defs/${def}` }) as const;

/** The schema of config.json. */
export const configSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://credgw.invalid/schema/config.json',
  title: 'credgw configuration',
  type: 'object',
  additionalProperties: false,
  patternProperties: COMMENTS,
  $defs: {
    // Same alphabet as protocol ids (src/protocol/validate.ts ID_PATTERN): both are sent as headers.
    id: { pattern: '^[A-Za-z0-9._:-]{1,128}$' },
    vaultName: { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
    secretRef: {
      pattern: '^(file:///[^\\u0000]+|env://[A-Za-z_][A-Za-z0-9_]*|credential://[A-Za-z0-9_][A-Za-z0-9_.@-]*)$',
    },
    httpsUrl: { pattern: '^https://[^\\s]+$' },
    controllerUrl: { pattern: '^wss?://[^\\s]+$' },
    proxyUrl: { pattern: '^http://[^\\s]+$' },
    absPath: { pattern: '^/[^\\u0000]*$' },
    nonEmpty: { minLength: 1, maxLength: 256 },
    audit: { pattern: '^(stdout|/[^\\u0000]*)$' },
    // Sent as the APP_NAME header: visible ASCII, inner spaces allowed.
    appName: { pattern: '^[!-~](?:[ -~]{0,62}[!-~])?$' },
    vault: {
      additionalProperties: false,
      patternProperties: COMMENTS,
      required: ['name', 'url', 'token'],
      properties: {
        name: str('vaultName'),
        url: str('httpsUrl'),
        token: str('secretRef'),
        tokenKind: { type: 'string', enum: ['apiUser', 'integration'] },
        appName: str('appName'),
        orgName: strOrNull('nonEmpty'),
        orgNameAttribute: strOrNull('nonEmpty'),
        accountPaging: { type: 'string', enum: ['auto', 'off'] },
        resourceIdAttribute: str('nonEmpty'),
        includeAccountNotes: { type: 'boolean' },
        requireTicketId: { type: 'boolean' },
        caFile: strOrNull('absPath'),
        pinSha256: strOrNull('nonEmpty'),
        timeoutMs: int(LIMITS.vaultTimeoutMs),
        maxConnections: int(LIMITS.maxConnections),
        metadataTtlMs: int(LIMITS.metadataTtlMs),
        notesConcurrency: int(LIMITS.notesConcurrency),
        healthIntervalMs: int(LIMITS.healthIntervalMs),
        maxResponseBytes: int(LIMITS.maxResponseBytes),
        rotationNotices: { type: 'boolean' },
        // Duplicates are a compile rule, with a message that names the way listed twice.
        resourceMatch: { type: 'array', minItems: 1, items: { type: 'string', enum: ['attribute', 'hostName', 'ipAddress'] } },
        dnsIndex: {
          type: 'object',
          additionalProperties: false,
          patternProperties: COMMENTS,
          properties: {
            maxCallsPerMinute: int(LIMITS.dnsIndexMaxCallsPerMinute),
            refreshIntervalMs: int(LIMITS.dnsIndexRefreshIntervalMs),
          },
        },
      },
    },
    controller: {
      additionalProperties: false,
      patternProperties: COMMENTS,
      required: ['url', 'token'],
      properties: {
        url: str('controllerUrl'),
        token: str('secretRef'),
        insecure: { type: 'boolean' },
        caFile: strOrNull('absPath'),
        pinSha256: strOrNull('nonEmpty'),
        certFile: strOrNull('absPath'),
        keyFile: strOrNull('absPath'),
        proxy: strOrNull('proxyUrl'),
        proxyPassword: strOrNull('secretRef'),
      },
    },
    // Rotation notices (protocol sections 11 and 12); addresses and listen strings are checked in compile-notices.ts.
    strings: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 256 } },
    syslogTls: {
      additionalProperties: false,
      patternProperties: COMMENTS,
      required: ['listen'],
      properties: {
        listen: str('nonEmpty'),
        certFile: strOrNull('absPath'),
        keyFile: strOrNull('absPath'),
        clientCaFile: strOrNull('absPath'),
      },
    },
    syslog: {
      additionalProperties: false,
      patternProperties: COMMENTS,
      required: ['sources'],
      properties: {
        tcp: strOrNull('nonEmpty'),
        udp: strOrNull('nonEmpty'),
        tls: { type: ['object', 'null'], $ref: '#/$defs/syslogTls' },
        sources: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            patternProperties: COMMENTS,
            required: ['vault', 'from'],
            properties: { vault: str('vaultName'), from: { $ref: '#/$defs/strings', minItems: 1 } },
          },
        },
        operations: { type: ['array', 'null'], minItems: 1, items: { type: 'string', minLength: 1, maxLength: 256 } },
        pattern: { type: ['string', 'null'], minLength: 1, maxLength: 4096 },
        timeZone: str('nonEmpty'),
      },
    },
  },
  properties: {
    $schema: { type: 'string' },
    gatewayId: str('id'),
    clusterId: str('id'),
    priority: int(LIMITS.priority),
    controller: { type: ['object', 'null'], $ref: '#/$defs/controller' },
    vaults: { type: 'array', items: { type: 'object', $ref: '#/$defs/vault' } },
    policy: {
      type: 'object',
      additionalProperties: false,
      patternProperties: COMMENTS,
      properties: {
        allowResources: { type: ['array', 'null'], items: str('nonEmpty') },
        denyAccounts: { type: 'array', items: str('nonEmpty') },
        maxFetchesPerAccountPerMinute: {
          type: ['integer', 'null'],
          minimum: LIMITS.maxFetchesPerAccountPerMinute.min,
          maximum: LIMITS.maxFetchesPerAccountPerMinute.max,
        },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      patternProperties: COMMENTS,
      properties: {
        maxInFlight: int(LIMITS.maxInFlight),
        maxQueued: int(LIMITS.maxQueued),
        drainTimeoutMs: int(LIMITS.drainTimeoutMs),
      },
    },
    telemetry: {
      type: 'object',
      additionalProperties: false,
      patternProperties: COMMENTS,
      properties: {
        listen: strOrNull('nonEmpty'),
        logLevel: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
        audit: str('audit'),
      },
    },
    stateDir: strOrNull('absPath'),
    events: {
      type: 'object',
      additionalProperties: false,
      patternProperties: COMMENTS,
      properties: {
        maxStored: int(LIMITS.eventsMaxStored),
        mergeWindowMs: int(LIMITS.mergeWindowMs),
      },
    },
    notices: {
      type: 'object',
      additionalProperties: false,
      patternProperties: COMMENTS,
      properties: {
        listen: strOrNull('nonEmpty'),
        certFile: strOrNull('absPath'),
        keyFile: strOrNull('absPath'),
        altNames: { $ref: '#/$defs/strings' },
        token: strOrNull('secretRef'),
        allowFrom: { $ref: '#/$defs/strings' },
        ratePerSecond: int(LIMITS.noticesRatePerSecond),
        burst: int(LIMITS.noticesBurst),
        syslog: { type: ['object', 'null'], $ref: '#/$defs/syslog' },
      },
    },
  },
} as const;

/**
 * Ajv options shared by conf's validator and ours, so both judge a file the
 * same way. No `useDefaults`: defaults belong to compile, not to the file.
 */
export const AJV_OPTIONS = {
  allErrors: true,
  useDefaults: false,
  strict: true,
  // `$defs` hold shapes without a `type` so one shape serves "string" and "string or null".
  strictTypes: false,
  allowUnionTypes: true,
  verbose: true,
} as const;

/** SHA-256 of the schema and the Ajv options: the generated validator (./config-validator.js) carries the one it was made from. */
export function schemaFingerprint(): string {
  return createHash('sha256').update(JSON.stringify({ options: AJV_OPTIONS, schema: configSchema })).digest('hex');
}
