import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_FAILURE, EXIT_USAGE, exitCodeFor, formatError, UsageError } from '../../../src/cli/cli-context.js';
import { DemoApiError } from '../../../src/cli/demo-api.js';
import { DemoFailure, DemoInterrupted } from '../../../src/cli/demo-step-runner.js';
import { DemoProcessError } from '../../../src/cli/demo-supervisor.js';
import { ConfigError, KeyPathError, SecretError } from '../../../src/config/index.js';
import { LinkConfigError, LinkError, type LinkFailureCode } from '../../../src/link/index.js';
import { CredgwError, ERROR_CODES, ERROR_RETRYABLE, GatewayError, isErrorCode, toGatewayError } from '../../../src/shared/errors.js';
import { IllegalTransitionError } from '../../../src/shared/state-machine.js';
import { EpochStoreError, EventJournalError, EventStoreError } from '../../../src/sim/controller/index.js';
import { OutboxError, type OutboxErrorCode } from '../../../src/events/index.js';
import {
  AllowListError,
  AuditRulesError,
  ListenAddressError,
  ListenerCertificateError,
  NoticeListenerError,
  SyslogFramingError,
  SyslogReceiverError,
} from '../../../src/notices/index.js';
import { PmpSimError, type PmpSimErrorCode } from '../../../src/sim/pmp/index.js';
import { AuditTargetError, TelemetryError, type TelemetryErrorCode } from '../../../src/telemetry/index.js';
import { PinMismatchError, RecipientKeyError } from '../../../src/tls/index.js';

/** The protocol's error table (shared/design/protocol.md section 7), copied by hand on purpose. */
const PROTOCOL_TABLE: Array<[string, boolean]> = [
  ['BAD_REQUEST', false],
  ['UNKNOWN_COMMAND', false],
  ['NOT_ACTIVE', true],
  ['UNKNOWN_VAULT', false],
  ['RESOURCE_NOT_MAPPED', false],
  ['RESOURCE_NOT_FOUND', false],
  ['ACCOUNT_NOT_FOUND', false],
  ['TICKET_ID_REQUIRED', false],
  ['REASON_REQUIRED', false],
  ['APPROVAL_REQUIRED', false],
  ['ACCESS_DENIED', false],
  ['POLICY_DENIED', false],
  ['VAULT_UNREACHABLE', true],
  ['VAULT_TLS_ERROR', false],
  ['VAULT_TIMEOUT', true],
  ['VAULT_ERROR', true],
  ['DEADLINE_EXCEEDED', true],
  ['OVERLOADED', true],
  ['RESULT_TOO_LARGE', false],
  ['RESOURCE_AMBIGUOUS', false],
  ['APPROVAL_PENDING', true],
  ['APPROVAL_DENIED', false],
  ['CHECKED_OUT', true],
  ['INTERNAL', true],
];

describe('error codes', () => {
  it('mirror the protocol table exactly, with retryable flags', () => {
    expect(ERROR_CODES).toEqual(PROTOCOL_TABLE.map(([c]) => c));
    for (const [code, retryable] of PROTOCOL_TABLE) {
      expect(isErrorCode(code)).toBe(true);
      expect(ERROR_RETRYABLE[code as keyof typeof ERROR_RETRYABLE]).toBe(retryable);
    }
  });

  it.each(PROTOCOL_TABLE)('%s serialises to the wire with retryable=%s', (code, retryable) => {
    const err = new GatewayError(code as never, 'msg', { detail: 'pmp said', cause: new Error('x') });
    expect(err.toWire()).toEqual({ code, message: 'msg', retryable });
    expect(err.detail).toBe('pmp said');
    expect(err.name).toBe('GatewayError');
  });

  it('rejects unknown codes and wraps foreign errors as INTERNAL', () => {
    expect(isErrorCode('NOPE')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    const wrapped = toGatewayError(new TypeError('boom'));
    expect(wrapped.code).toBe('INTERNAL');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    const same = new GatewayError('VAULT_ERROR', 'x');
    expect(toGatewayError(same)).toBe(same);
  });
});

/** Every member of a code union: a missing or an extra key fails `npm run typecheck`. */
function allOf<C extends string>(codes: Record<C, true>): C[] {
  return Object.keys(codes) as C[];
}

const LINK_CODES = allOf<LinkFailureCode>({
  TOKEN_UNREADABLE: true,
  CONNECT_FAILED: true,
  CONNECT_TIMEOUT: true,
  PROXY_FAILED: true,
  PROXY_PASSWORD_UNREADABLE: true,
  PROXY_AUTH_REQUIRED: true,
  PROXY_REFUSED: true,
  TLS_ERROR: true,
  TLS_CONFIG: true,
  UNAUTHORIZED: true,
  UPGRADE_REFUSED: true,
  PROTOCOL_MISMATCH: true,
  WELCOME_TIMEOUT: true,
  VERSION_MISMATCH: true,
  PROTOCOL_ERROR: true,
  LIVENESS: true,
  REPLACED: true,
  CLOSED: true,
});
const TELEMETRY_CODES = allOf<TelemetryErrorCode>({
  TELEMETRY_NOT_LOOPBACK: true,
  TELEMETRY_LISTEN_FAILED: true,
  NOT_RUNNING: true,
  NOT_ANSWERING: true,
  BAD_RESPONSE: true,
});
const SIM_CODES = allOf<PmpSimErrorCode>({ SIM_DATA_UNREADABLE: true, SIM_DATA_INVALID: true, SIM_FAULT_INVALID: true, SIM_ADMIN_INVALID: true, SIM_OPTIONS_INVALID: true });
const DEMO_PROCESS_CODES = allOf<DemoProcessError['code']>({ PROCESS_EXITED: true, PROCESS_SPAWN_FAILED: true });
const OUTBOX_CODES = allOf<OutboxErrorCode>({ STATE_DIR_INVALID: true, OUTBOX_VERSION: true, OUTBOX_UNAVAILABLE: true, OUTBOX_CLOSED: true });
const NOTICES_CODES = allOf<NoticeListenerError['code']>({ NOTICES_BAD_OPTIONS: true, NOTICES_LISTEN_FAILED: true });
/** Codes the CLI throws with the base itself (cert, config, status, vault, demo). */
const CLI_CODES = ['ABORTED', 'CONFIG_EXISTS', 'CONFIG_INVALID', 'DEMO_NOT_BUILT', 'TELEMETRY_DISABLED', 'UNKNOWN_VAULT', 'VAULT_EXISTS', 'VAULT_TIMEOUT', 'VAULT_UNREACHABLE'];

interface Row {
  /** Builds the error, handing `cause` to the classes that take one. */
  make: (cause: Error) => CredgwError;
  name: string;
  code: string;
  message: string;
  /** False for errors that never stand for another failure (their constructor takes no cause). */
  keepsCause: boolean;
  exit: number;
}

const row = (name: string, code: string, message: string, make: Row['make'], keepsCause = true): Row => ({
  make,
  name,
  code,
  message,
  keepsCause,
  exit: code === 'USAGE' ? EXIT_USAGE : EXIT_FAILURE,
});

const ROWS: Row[] = [
  ...CLI_CODES.map((code) => row('CredgwError', code, 'what failed', (cause) => new CredgwError(code, 'what failed', { cause }))),
  ...ERROR_CODES.map((code) => row('GatewayError', code, 'msg', (cause) => new GatewayError(code, 'msg', { cause }))),
  row('IllegalTransitionError', 'ILLEGAL_TRANSITION', 'link: illegal transition up -> idle (x)', (cause) => new IllegalTransitionError('link: illegal transition up -> idle (x)', { cause })),
  ...TELEMETRY_CODES.map((code) => row('TelemetryError', code, 'no daemon', (cause) => new TelemetryError(code, 'no daemon', { cause }))),
  row('AuditTargetError', 'AUDIT_UNAVAILABLE', 'telemetry.audit: cannot open /x', (cause) => new AuditTargetError('/x', 'telemetry.audit: cannot open /x', { cause })),
  row('ConfigError', 'CONFIG_INVALID', 'invalid configuration in /c.json (2 problems): a: no; b: no', (cause) => new ConfigError(['a: no', 'b: no'], '/c.json', { cause })),
  row('SecretError', 'SECRET_UNAVAILABLE', 'env://PMP_TOKEN: is not set', (cause) => new SecretError('env://PMP_TOKEN', 'NOT_FOUND', 'is not set', { cause })),
  row('KeyPathError', 'KEY_PATH_INVALID', 'the key path is empty', (cause) => new KeyPathError('the key path is empty', { cause })),
  ...SIM_CODES.map((code) => row('PmpSimError', code, 'resources[0].id: is missing', (cause) => new PmpSimError(code, 'resources[0].id', 'is missing', { cause }))),
  row('EpochStoreError', 'EPOCH_STATE_INVALID', '/e.json is not JSON', (cause) => new EpochStoreError('/e.json is not JSON', '/e.json', { cause })),
  row('EventJournalError', 'EVENT_STATE_INVALID', 'the events file /e is not an events journal', (cause) => new EventJournalError('the events file /e is not an events journal', '/e', { cause })),
  ...allOf<EventStoreError['code']>({ EVENTS_BUSY: true, EVENTS_CLOSED: true }).map((code) => row('EventStoreError', code, 'not stored', (cause) => new EventStoreError(code, 'not stored', { cause }))),
  row('UsageError', 'USAGE', '--timeout must be 1-600000 ms', (cause) => new UsageError('--timeout must be 1-600000 ms', { cause })),
  row('DemoApiError', 'CONTROLLER_API_ERROR', 'GET cluster x: HTTP 500', (cause) => new DemoApiError('CONTROLLER_API_ERROR', 'GET cluster x: HTTP 500', { cause })),
  row('DemoApiError', 'SIM_ADMIN_ERROR', 'POST /__sim/rotate: HTTP 400', (cause) => new DemoApiError('SIM_ADMIN_ERROR', 'POST /__sim/rotate: HTTP 400', { cause })),
  ...DEMO_PROCESS_CODES.map((code) => row('DemoProcessError', code, 'gw-a ended', (cause) => new DemoProcessError(code, 'gw-a ended', { cause }))),
  row('DemoFailure', 'STEP_TIMEOUT', 'did not finish within 30 s', (cause) => new DemoFailure('STEP_TIMEOUT', 'did not finish within 30 s', [], { cause })),
  row('DemoInterrupted', 'DEMO_INTERRUPTED', 'interrupted by SIGINT', () => new DemoInterrupted('SIGINT'), false),
  ...LINK_CODES.map((code) => row('LinkError', code, 'link failed', (cause) => new LinkError(code, 'link failed', { cause }))),
  row('LinkConfigError', 'CONFIG_INVALID', 'controller.url: must be a URL', (cause) => new LinkConfigError('controller.url', 'must be a URL', { cause })),
  row('PinMismatchError', 'ERR_CREDGW_PIN_MISMATCH', 'certificate public key does not match the pin (expected a, got b)', () => new PinMismatchError('a', 'b'), false),
  ...OUTBOX_CODES.map((code) => row('OutboxError', code, 'outbox: cannot open', (cause) => new OutboxError(code, 'outbox: cannot open', { cause }))),
  ...NOTICES_CODES.map((code) => row('NoticeListenerError', code, 'notices: cannot listen', (cause) => new NoticeListenerError(code, 'notices: cannot listen', { cause }))),
  row('SyslogReceiverError', 'SYSLOG_RECEIVER_FAILED', 'syslog: cannot listen', (cause) => new SyslogReceiverError('syslog: cannot listen', { cause })),
  row('ListenAddressError', 'LISTEN_ADDRESS_INVALID', '"x" is not host:port', (cause) => new ListenAddressError('"x" is not host:port', { cause })),
  row('ListenerCertificateError', 'LISTENER_CERTIFICATE_INVALID', 'notices.certFile: unreadable', (cause) => new ListenerCertificateError('notices.certFile: unreadable', { cause })),
  row('AuditRulesError', 'AUDIT_RULES_INVALID', 'unknown time zone', (cause) => new AuditRulesError('unknown time zone', { cause })),
  row('AllowListError', 'ALLOW_LIST_INVALID', '"x" is not an address or a CIDR', (cause) => new AllowListError('"x" is not an address or a CIDR', { cause })),
  row('SyslogFramingError', 'SYSLOG_FRAMING', 'bad MSG-LEN', (cause) => new SyslogFramingError('bad MSG-LEN', { cause })),
  row('RecipientKeyError', 'RECIPIENT_KEY_INVALID', 'recipientKey is not a PEM RSA public key', (cause) => new RecipientKeyError('recipientKey is not a PEM RSA public key', { cause })),
];

/** Every class in src/ that extends CredgwError, directly or not, and whether any class extends Error itself. */
function errorClassesInSource(): { credgw: Set<string>; plainError: string[] } {
  const src = fileURLToPath(new URL('../../../src', import.meta.url));
  const parents = new Map<string, string>();
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    for (const m of readFileSync(join(src, file), 'utf8').matchAll(/\bclass (\w+)(?:<[^>{]*>)? extends (\w+)/g)) parents.set(m[1]!, m[2]!);
  }
  // errorWithCode(code) returns a subclass of CredgwError: `class X extends errorWithCode('C')` descends too.
  const descends = (name: string): boolean => name === 'CredgwError' || name === 'errorWithCode' || (parents.has(name) && descends(parents.get(name)!));
  return {
    credgw: new Set([...parents.keys()].filter(descends)),
    plainError: [...parents].filter(([child, parent]) => parent === 'Error' && child !== 'CredgwError').map(([child]) => child),
  };
}

describe('every error of credgw', () => {
  it.each(ROWS.map((r) => [r.name, r.code, r] as const))('%s %s: name, code, message, cause, CLI line and exit status', (_name, _code, r) => {
    const cause = new Error('the failure underneath');
    const err = r.make(cause);
    expect(err).toBeInstanceOf(CredgwError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(r.name);
    expect(err.code).toBe(r.code);
    expect(err.message).toBe(r.message);
    expect(err.cause).toBe(r.keepsCause ? cause : undefined);
    expect(formatError(err)).toBe(`error: ${r.code}: ${r.message}`);
    expect(exitCodeFor(err)).toBe(r.exit);
  });

  it('covers every error class of src/, each of which extends CredgwError', () => {
    const { credgw, plainError } = errorClassesInSource();
    expect(plainError).toEqual([]);
    expect(new Set(ROWS.map((r) => r.name))).toEqual(credgw);
  });

  it('keeps no cause property when none is given', () => {
    expect('cause' in new CredgwError('X', 'm')).toBe(false);
    expect('cause' in new CredgwError('X', 'm', { cause: undefined })).toBe(false);
  });

  it('exits 1 for a foreign error, whatever its code, and 2 only for USAGE', () => {
    expect(exitCodeFor(new TypeError('boom'))).toBe(EXIT_FAILURE);
    expect(exitCodeFor(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(EXIT_FAILURE);
    expect(exitCodeFor(new CredgwError('USAGE', 'bad flag'))).toBe(EXIT_USAGE);
  });
});
