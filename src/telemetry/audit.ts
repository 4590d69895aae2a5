import { isAbsolute } from 'node:path';
import pino, { type Logger } from 'pino';
import type { AuditEvent } from '../shared/audit-event.js';

export type { AuditEvent };

/**
 * The audit trail: one JSON line per listAccounts and per getPassword the
 * gateway answered, to stdout or to a file an operator's log shipper
 * follows. Never a password: the event type has no field that could hold
 * one, and the writer removes `password`/`sealedPassword` keys anyway in
 * case a caller passes a wider object.
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
  /** Flushes what is buffered and closes the file (stdout stays open). Idempotent. */
  close(): Promise<void>;
}

export interface AuditSinkOptions {
  /** Where write failures of the audit destination are reported. Default: none (they are ignored). */
  logger?: Logger | undefined;
}

/**
 * An audit sink writing JSON lines through pino to `target`: "stdout" or an
 * absolute file path (appended to; the directory must exist). Writes are
 * asynchronous; call close() on shutdown so buffered lines reach the file.
 */
export function createAuditSink(target: 'stdout' | string, options: AuditSinkOptions = {}): AuditLog {
  if (target !== 'stdout' && !isAbsolute(target)) {
    throw new Error(`audit target must be "stdout" or an absolute file path, got "${target}"`);
  }
  const destination =
    target === 'stdout'
      ? pino.destination({ dest: 1, sync: false })
      : pino.destination({ dest: target, append: true, mkdir: false, sync: false });
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
    options.logger?.error({ err, target }, 'audit destination failed');
  });
  const writer = pino(
    {
      base: null,
      timestamp: false,
      // The event's own `time` is the timestamp and a level adds nothing to an
      // audit line; the level slot carries the line's type instead (an empty
      // object there makes pino write invalid JSON).
      formatters: { level: () => ({ type: 'audit' }) },
      redact: { paths: ['password', 'sealedPassword', '*.password', '*.sealedPassword'], remove: true },
    },
    destination,
  );
  let closing: Promise<void> | undefined;
  return {
    record(event: AuditEvent): void {
      if (closing) {
        options.logger?.warn({ commandId: event.commandId }, 'audit event after close dropped');
        return;
      }
      if (failure) return; // reported once, when it happened
      writer.info(event);
    },
    ready(): Promise<void> {
      return target === 'stdout' ? Promise.resolve() : opened;
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
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
