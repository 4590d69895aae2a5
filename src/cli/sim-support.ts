/** What the two simulator commands share: their certificate file and their run-until-stopped life. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { waitForTermination } from '../shared/index.js';

/** Where a simulator's certificate was written, and how to stop the simulator and clean up. */
export interface SimCertFile {
  /** Absolute path of the PEM file. */
  path: string;
  /** True when it is a temporary file (no --cert-out): removed by `closer`. */
  temporary: boolean;
  /** Wraps a server's close: runs once, then removes the temporary file. */
  closer(close: () => Promise<void>): () => Promise<void>;
}

/**
 * Writes a simulator's certificate (PEM, 0644: it is public) to `certOut`,
 * or to a fresh temporary directory named after `prefix`. When writing
 * fails, `abort` (the server's close) runs before the error is rethrown.
 */
export async function writeSimCertificate(
  certPem: string,
  certOut: string | undefined,
  prefix: string,
  fileName: string,
  abort: () => Promise<void>,
): Promise<SimCertFile> {
  let tempDir: string | undefined;
  let path: string;
  try {
    if (certOut !== undefined) {
      path = resolve(certOut);
    } else {
      tempDir = mkdtempSync(join(tmpdir(), prefix));
      path = join(tempDir, fileName);
    }
    writeFileSync(path, certPem, { mode: 0o644 });
  } catch (err) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    await abort();
    throw err;
  }
  return {
    path,
    temporary: tempDir !== undefined,
    closer: (close) => {
      let closed: Promise<void> | undefined;
      return () => {
        closed ??= close().finally(() => {
          if (tempDir) rmSync(tempDir, { recursive: true, force: true });
        });
        return closed;
      };
    },
  };
}

/**
 * The life of a simulator command: start it (a failure is one line
 * `error: message (CODE)` and exit status 1), wait for the stop signal,
 * close it, exit status 0.
 */
export async function serveUntilStopped(
  start: () => Promise<{ close(): Promise<void> }>,
  codeOf: (err: unknown) => string,
  io: { errOut: Writable; setExitCode: (code: number) => void; waitForStop?: (() => Promise<unknown>) | undefined },
): Promise<void> {
  let running: { close(): Promise<void> };
  try {
    running = await start();
  } catch (err) {
    io.errOut.write(`error: ${(err as Error).message} (${codeOf(err)})\n`);
    io.setExitCode(1);
    return;
  }
  await (io.waitForStop ?? waitForTermination)();
  await running.close();
  io.setExitCode(0);
}

/** The errno-style code of an error, else INTERNAL. */
export function systemCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'INTERNAL';
}
