import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childEnv, runArgs, spawnCli as spawnCliChild } from '../../src/sim/gateway-process.js';
import { waitFor } from './wait-for.js';

/**
 * The built CLI (`<dist>/cli/main.js`) as a child process of a test: a
 * gateway (`credgw --config-dir DIR run`) or any other command, started
 * through src/sim/gateway-process.ts as the benchmarks and the demo start
 * theirs. `dist` is `$CREDGW_TEST_DIST` when set (a private build during
 * development), else the repository's `dist/` (`npm test` builds it first).
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the CLI under test lives: $CREDGW_TEST_DIST or <repo>/dist. */
export function distDir(): string {
  return resolve(process.env['CREDGW_TEST_DIST'] || join(REPO, 'dist'));
}

/** `<dist>/cli/main.js`; throws when it is not built. */
export function cliMain(): string {
  const main = join(distDir(), 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} does not exist: build first (npm test does; or set CREDGW_TEST_DIST)`);
  return main;
}

/** What tests run as `credgw`: the single-executable binary named by $CREDGW_TEST_BINARY (.ci/run runs the gateway processes and the demo with the shipped binary), else {@link cliMain}. */
export function cliUnderTest(): string {
  return process.env['CREDGW_TEST_BINARY'] || cliMain();
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One child: its output as text and as lines, its exit, signals. */
export class CliProcess {
  /** Complete lines of stdout so far. */
  readonly lines: string[] = [];
  /** Resolves once the process has exited and its output is read to the end. */
  readonly exited: Promise<ExitInfo>;
  private out = '';
  private err = '';
  private outRest = '';
  private exitInfo: ExitInfo | null = null;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.out += chunk;
      const parts = (this.outRest + chunk).split('\n');
      this.outRest = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l !== ''));
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.err += chunk));
    // 'close': exited and its pipes drained, so stdout() holds the last lines.
    this.exited = new Promise((resolveExit) =>
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit(this.exitInfo);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitInfo === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  /** Sends `sig` while it runs. */
  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGKILL when still running (clean-up after a failed test). */
  kill(): void {
    this.signal('SIGKILL');
  }

  /** The first match of `pattern` in stdout+stderr (so far or later); fails if the process exits first. */
  waitForOutput(pattern: RegExp, what: string, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return this.waitForIn(() => this.out + this.err, pattern, what, timeoutMs);
  }

  /** Where stdout ends now, for {@link waitForStdoutAfter}. */
  stdoutMark(): number {
    return this.out.length;
  }

  /**
   * Waits for `pattern` in what stdout received after `mark`: for a line that
   * earlier output may already hold (a second reload's "reopened"), take the
   * mark before causing it.
   */
  waitForStdoutAfter(mark: number, pattern: RegExp, what: string, timeoutMs = 15_000): Promise<RegExpExecArray> {
    return this.waitForIn(() => this.out.slice(mark), pattern, what, timeoutMs);
  }

  /** Until `pattern` matches `text()`; rejects at once if the process exits first. */
  private waitForIn(text: () => string, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray> {
    return waitFor(
      () => pattern.exec(text()) ?? (this.exitInfo ? Promise.reject(new Error(`process exited before ${what}: ${this.err.slice(-800)}`)) : null),
      what,
      timeoutMs,
    );
  }

  /** stdout then stderr. */
  output(): string {
    return this.out + this.err;
  }

  /** Parsed JSON lines of stdout (the gateway's log), other lines skipped. */
  logs(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const l of this.lines) {
      try {
        out.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // pino-pretty or a stray line: not ours to parse
      }
    }
    return out;
  }

  /** The last lines of its output, for failure messages. */
  tail(n = 30): string {
    return [...this.lines.slice(-n), this.err.slice(-800)].join('\n');
  }
}

export interface SpawnOptions {
  /** Added to the test's environment (which loses proxies, NODE_OPTIONS, CREDGW_CONFIG_DIR and NOTIFY_SOCKET). */
  env?: NodeJS.ProcessEnv;
}

/** `node <dist>/cli/main.js …args`. */
export function spawnCli(args: readonly string[], opts: SpawnOptions = {}): CliProcess {
  return new CliProcess(spawnCliChild({ cliEntry: cliUnderTest(), args, env: childEnv(process.env, opts.env) }));
}

/** `credgw --config-dir <configDir> run`. */
export function spawnGateway(configDir: string, opts: SpawnOptions = {}): CliProcess {
  return spawnCli(runArgs(configDir), opts);
}
