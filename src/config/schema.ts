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
