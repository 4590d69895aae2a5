import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { claimSignals, type Clock, CredgwError, systemClock, unrefTimer } from '../shared/index.js';
import { Command, Option } from 'commander';
import { EXIT_FAILURE, EXIT_OK, UsageError, type CliContext } from './cli-context.js';
import { formatMs } from './demo-output.js';
import { defaultCliEntry } from './self-command.js';
import { DemoFailure, DemoInterrupted } from './demo-step-runner.js';
import { DEFAULT_STEP_TIMEOUT_MS } from './demo-context.js';
import { DemoRun } from './demo-steps.js';

/**
 * `credgw demo`: the README's first command. Starts the PMP simulator, the
 * reference controller and an active/standby pair of gateways as real
 * processes on loopback from embedded defaults, performs a console launch,
 * a rotation that reaches the controller as one event and an approved
 * access request, kills the active with SIGKILL and shows the standby take
 * over — then
 * stops everything it started, also on Ctrl-C. docs/demo.md.
 */

export interface DemoCommandDeps {
  /** Default systemClock. */
  clock?: Clock;
  /** The CLI the children run. Default: main.js next to this file (dist/cli/main.js), or the binary itself. */
  cliEntry?: string;
  /** Ends the process after a second Ctrl-C or a wedged clean-up. Default process.exit. */
  exit?: (code: number) => void;
}

/** The demo handles these itself: it must stop its children before it goes. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** After a signal, how long the clean-up may take before everything is killed at once. */
const FORCE_EXIT_AFTER_MS = 15_000;
/** Longest line of a child's output shown with a failure. */
const TAIL_LINE_CHARS = 300;

interface RawOptions {
  keep?: boolean;
  reveal?: boolean;
  stepTimeout: string;
}

export function demoCommand(ctx: CliContext, deps: DemoCommandDeps = {}): Command {
  return new Command('demo')
    .description(
      'start the PMP simulator, the reference controller and two gateways on loopback, do a console launch, a password rotation and an approved access request, kill -9 the active and watch the standby take over',
    )
    .option('--keep', 'keep everything running at the end for exploring (prints curl commands) until Ctrl-C')
    .option('--reveal', 'show the fetched passwords (simulator sample data) instead of a masked form')
    .addOption(new Option('--step-timeout <ms>', 'give up on a step after this long').default(String(DEFAULT_STEP_TIMEOUT_MS)))
    .action(async (raw: RawOptions) => {
      const stepTimeoutMs = Number(raw.stepTimeout);
      if (!/^[0-9]+$/.test(raw.stepTimeout) || stepTimeoutMs < 1000 || stepTimeoutMs > 600_000) {
        throw new UsageError(`--step-timeout must be an integer from 1000 to 600000 (got "${raw.stepTimeout}")`);
      }
      const clock = deps.clock ?? systemClock;
      const exit = deps.exit ?? ((code: number) => process.exit(code));
      const cliEntry = deps.cliEntry ?? defaultCliEntry();
      if (!existsSync(cliEntry)) {
        throw new CredgwError('DEMO_NOT_BUILT', `the demo runs the built CLI (${cliEntry}) as child processes; build it first: npm run build`);
      }

      const stop = new AbortController();
      const run = new DemoRun({
        cliEntry,
        keep: raw.keep === true,
        reveal: raw.reveal === true,
        stepTimeoutMs,
        out: (line) => ctx.out(line),
        err: (line) => ctx.err(line),
        clock,
        env: ctx.io.env,
        stop: stop.signal,
      });

      let received: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (received) {
          ctx.err(`${signal} again: killing every process the demo started at once`);
          run.cleanupSync();
          exit(EXIT_FAILURE);
          return;
        }
        received = signal;
        ctx.err(`${signal}: stopping every process the demo started (again to kill them at once)`);
        stop.abort(new DemoInterrupted(signal));
        unrefTimer(
          clock.setTimeout(() => {
            ctx.err(`clean-up took over ${formatMs(FORCE_EXIT_AFTER_MS)}: killing every process the demo started`);
            run.cleanupSync();
            exit(EXIT_FAILURE);
          }, FORCE_EXIT_AFTER_MS),
        );
      };
      // A crash (uncaught error) still ends here: no child outlives the demo.
      const onExit = (): void => run.cleanupSync();
      // The demo owns its signals while it runs (see claimSignals: conf
      // re-raises them otherwise, ending the demo before it stopped its children).
      claimSignals(STOP_SIGNALS, onSignal);
      process.on('exit', onExit);

      try {
        await run.run();
        const served = run.steps.find((s) => s.title === 'standby serves');
        ctx.out('');
        ctx.out(
          `demo complete: every step ok${served ? `; kill -9 of the active → first password from the standby: ${formatMs(served.ms)}` : ''}`,
        );
        ctx.exitCode = EXIT_OK;
      } catch (err) {
        if (err instanceof DemoInterrupted) {
          ctx.err(`demo interrupted by ${err.signal}; every process it started is stopped`);
          ctx.exitCode = 128 + (osConstants.signals[err.signal] ?? 2);
          return;
        }
        ctx.exitCode = EXIT_FAILURE;
        if (!(err instanceof DemoFailure)) throw err;
        ctx.err(`error: ${err.code}: ${err.message}`);
        for (const tail of err.tails) {
          if (tail.lines.length === 0) continue;
          ctx.err(`last output of ${tail.name} (pid ${tail.pid}):`);
          for (const line of tail.lines) ctx.err(`  ${line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line}`);
        }
      } finally {
        for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
        process.off('exit', onExit);
      }
    });
}
