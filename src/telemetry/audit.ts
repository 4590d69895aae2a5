import { closeSync, fchmodSync, openSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import pino, { type Logger } from 'pino';
import type { AuditEvent } from '../shared/index.js';
import { type Clock, CredgwError, type CredgwErrorOptions, systemClock, type TimerHandle, unrefTimer } from '../shared/index.js';
import { auditLineBound, auditLineBytes, writeAuditLine } from './audit-line.js';

export type { AuditEvent };
export { auditLine } from './audit-line.js';

/**
 * The audit trail: one JSON line per listAccounts and per getPassword the
 * gateway answered, to stdout or to a file an operator's log shipper
 * follows. Never a password: the event type has no field that could hold
 * one, and the writer copies only the event's own fields (writeAuditLine), so a
 * `password`/`sealedPassword` key in a wider object never reaches a line.
 *
 * Each line starts with `"type":"audit"` so it can be told apart from the
 * daemon's log lines when both go to stdout.
 */

export interface AuditLog {
  record(event: AuditEvent): void;
  /**
   * Resolves once the destination is open; rejects when it cannot be opened
   * (so the daemon can refuse to start without its audit trail).
   */
  ready(): Promise<void>;
  /**
   * Writes what is buffered to the file open now, then opens the target path
   * again (after logrotate renamed the file: new lines go to a new file
   * there). When that fails, lines keep going to the file already open and
   * the failure is logged. Nothing to do for stdout.
   */
  reopen(): void;
  /** Flushes what is buffered and closes the file (stdout stays open). Idempotent. */
  close(): Promise<void>;
}

/** Mode of an audit file the sink creates, whatever the umask: the service's group (a log shipper) may read it. */
export const AUDIT_FILE_MODE = 0o640;

/** The audit file cannot be opened: the daemon refuses to start without its audit trail. */
export class AuditTargetError extends CredgwError<'AUDIT_UNAVAILABLE'> {
  override readonly name = 'AuditTargetError';
  constructor(
    readonly target: string,
    message: string,
    options?: CredgwErrorOptions,
  ) {
    super('AUDIT_UNAVAILABLE', message, options);
  }
}

/** Longest a recorded line waits before it is handed to the destination, in ms. */
export const AUDIT_FLUSH_MS = 20;
/** A batch this long (in bytes) is handed over at once. */
export const AUDIT_FLUSH_BYTES = 32 * 1024;
/** Room of a batch buffer; a line that cannot fit in an empty one is written on its own. */
const BATCH_BYTES = 2 * AUDIT_FLUSH_BYTES;

export interface AuditSinkOptions {
  /** Where write failures of the audit destination are reported. Default: none (they are ignored). */
  logger?: Logger | undefined;
  /** Times the batch. Default systemClock. */
  clock?: Clock | undefined;
  /** Longest a line waits in the batch, in ms. Default AUDIT_FLUSH_MS (20). */
  flushMs?: number | undefined;
}

/**
 * An audit sink writing JSON lines to `target`: "stdout" or an absolute
 * file path (appended to; the directory must exist).
 *
 * A line (one per command) is written straight into the batch, a buffer
 * outside the JS heap (writeAuditLine; tuned for allocation:
 * docs/benchmarks.md#why-the-hot-path-looks-as-it-does). The batch is
 * written (pino's sonic-boom, one synchronous write) when it reaches
 * AUDIT_FLUSH_BYTES or `flushMs` after its first line, so under load one
 * write carries dozens of lines. Writes are synchronous on purpose: an
 * asynchronous write still in libuv's thread pool when the process exits
 * would land after the exit hook's lines, or not at all. The batch is written by close() and when the
 * process exits (process.exit after a fatal error included), so no line is
 * lost or reordered on any stop but a hard kill (SIGKILL), which can lose
 * the last `flushMs` of lines.
 */
export function createAuditSink(target: 'stdout' | string, options: AuditSinkOptions = {}): AuditLog {
  if (target !== 'stdout' && !isAbsolute(target)) {
    throw new Error(`audit target must be "stdout" or an absolute file path, got "${target}"`);
  }
  let destination: ReturnType<typeof pino.destination>;
  try {
    if (target !== 'stdout') createAuditFile(target);
    destination =
      target === 'stdout'
        ? pino.destination({ dest: 1, sync: true, contentMode: 'buffer' })
        : pino.destination({ dest: target, append: true, mkdir: false, sync: true, contentMode: 'buffer' });
  } catch (err) {
    // A synchronous destination opens at once: ready() rejects with what is wrong, in one line.
    return failedAuditSink(auditTargetError(target, err));
  }
  let failure: Error | undefined;
  const opened = new Promise<void>((resolve, reject) => {
    destination.once('ready', () => resolve());
    destination.once('error', reject);
  });
  // ready() may never be called; the failure is reported through the logger regardless.
  opened.catch(() => undefined);
  // Reported once: the destination may repeat the same failure.
  destination.on('error', (err: Error) => {
    if (failure) return;
    failure = err;
    used = 0;
    options.logger?.error({ err, target }, 'audit destination failed');
  });

  // In contentMode 'buffer' sonic-boom writes Buffers; its type declarations only name strings.
  const writeBytes = destination.write.bind(destination) as unknown as (bytes: Buffer) => boolean;
  const clock = options.clock ?? systemClock;
  const flushMs = options.flushMs ?? AUDIT_FLUSH_MS;
  let batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  let used = 0;
  let flushTimer: TimerHandle | null = null;
  const flush = (): void => {
    clock.clearTimeout(flushTimer);
    flushTimer = null;
    if (used === 0 || failure) return;
    // The destination may keep what it was given (a write it has to retry): a fresh buffer for the next batch.
    const bytes = batch.subarray(0, used);
    batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
    used = 0;
    writeBytes(bytes);
  };
  // A process that exits (even through process.exit) still writes the batch.
  const onExit = (): void => {
    try {
      flush();
    } catch {
      // Not open yet, or already closed: nothing of ours can be written any more.
    }
  };
  process.once('exit', onExit);

  let closing: Promise<void> | undefined;
  return {
    record(event: AuditEvent): void {
      if (closing) {
        options.logger?.warn({ commandId: event.commandId }, 'audit event after close dropped');
        return;
      }
      if (failure) return; // reported once, when it happened
      const bound = auditLineBound(event);
      if (used + bound > BATCH_BYTES) {
        flush();
        if (bound > BATCH_BYTES) {
          writeBytes(auditLineBytes(event));
          return;
        }
      }
      used = writeAuditLine(event, batch, used);
      if (used >= AUDIT_FLUSH_BYTES) flush();
      // Unref'd: a pending batch must not hold the process open (the exit hook writes it).
      else flushTimer ??= unrefTimer(clock.setTimeout(flush, flushMs));
    },
    ready(): Promise<void> {
      return target === 'stdout' ? Promise.resolve() : opened;
    },
    reopen(): void {
      if (target === 'stdout' || closing || failure) return;
      flush();
      try {
        createAuditFile(target);
        destination.reopen();
        options.logger?.info({ target }, 'audit file reopened');
      } catch (err) {
        options.logger?.error({ target, problem: auditTargetError(target, err).message }, 'audit file not reopened, still writing to the one open');
      }
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        process.removeListener('exit', onExit);
        flush();
        if (failure) {
          resolve();
          return;
        }
        destination.once('close', () => resolve());
        // An error while closing is reported by the 'error' listener; the daemon must still be able to stop.
        destination.once('error', () => resolve());
        destination.end();
      });
      return closing;
    },
  };
}

/** The sink of a destination that could not be opened: ready() rejects with why, events are dropped. */
function failedAuditSink(err: AuditTargetError): AuditLog {
  return {
    record: () => undefined,
    ready: () => Promise.reject(err),
    reopen: () => undefined,
    close: () => Promise.resolve(),
  };
}

/**
 * Creates a missing audit file with AUDIT_FILE_MODE (fchmod: the umask would
 * take group read away; an existing file keeps its mode) and checks that it
 * opens for appending, so that the destination's own open, which reports a
 * failure only as an 'error' that ends the trail, does not fail.
 */
function createAuditFile(target: string): void {
  let fd: number;
  try {
    fd = openSync(target, 'ax', AUDIT_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    closeSync(openSync(target, 'a'));
    return;
  }
  try {
    fchmodSync(fd, AUDIT_FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/** One line saying why `target` cannot be opened for appending, and what usually fixes it. */
function auditTargetError(target: string, err: unknown): AuditTargetError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  const dir = dirname(target);
  const uid = process.getuid?.() ?? '?';
  const why: Record<string, string> = {
    ENOENT: `${dir} does not exist`,
    ENOTDIR: `${dir} is not a directory`,
    EACCES: `not writable by uid ${uid}`,
    EPERM: `not writable by uid ${uid}`,
    EROFS: `${dir} is read-only here (credgw.service may write only /var/log/credgw, its LogsDirectory=)`,
    EISDIR: 'it is a directory',
  };
  return new AuditTargetError(target, `telemetry.audit: cannot open ${target} for appending: ${why[code] ?? code}`, { cause: err });
}
