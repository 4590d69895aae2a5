import { Command, CommanderError, Option } from 'commander';
import { CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR } from '../config/defaults.js';
import { VERSION } from '../shared/version.js';
import { certCommand } from './cert.js';
import { CliContext, EXIT_FAILURE, exitCodeFor, formatError, type CliIo } from './cli-context.js';
import { configCommand } from './config.js';
import { demoCommand } from './demo.js';
import { diagnoseCommand } from './diagnose.js';
import { runCommand } from './run.js';
import { simControllerCommand } from './sim-controller.js';
import { simPmpCommand } from './sim-pmp.js';
import { statusCommand } from './status.js';
import { vaultCommand } from './vault.js';

/**
 * The `credgw` program. Built per run with injectable streams and
 * environment so integration tests run it in-process; main.ts runs it on
 * the real process.
 */

const contexts = new WeakMap<Command, CliContext>();

export function buildProgram(partialIo: Partial<CliIo> = {}): Command {
  const io: CliIo = {
    stdout: partialIo.stdout ?? process.stdout,
    stderr: partialIo.stderr ?? process.stderr,
    stdin: partialIo.stdin ?? process.stdin,
    env: partialIo.env ?? process.env,
  };
  const program = new Command('credgw')
    .description('on-premise gateway between a cloud operations platform and ManageEngine PMP / PAM360')
    .version(VERSION, '-V, --version')
    .addOption(
      new Option('--config-dir <dir>', `directory of config.json (env ${CONFIG_DIR_ENV}, default ${DEFAULT_CONFIG_DIR})`),
    )
    .option('--verbose', 'log vault calls (redacted) to stderr')
    .showSuggestionAfterError(true);
  const ctx = new CliContext(io, program);
  contexts.set(program, ctx);

  program.addCommand(configCommand(ctx));
  program.addCommand(vaultCommand(ctx));
  program.addCommand(certCommand(ctx));

  const sim = new Command('sim').description('simulators for tests, benchmarks and demos');
  sim.addCommand(
    simPmpCommand({ out: io.stdout, err: io.stderr, setExitCode: (code) => void (ctx.exitCode = code) }),
  );
  sim.addCommand(
    simControllerCommand({ out: io.stdout, err: io.stderr, env: io.env, setExitCode: (code) => void (ctx.exitCode = code) }),
  );
  program.addCommand(sim);

  program.addCommand(runCommand(ctx));
  program.addCommand(statusCommand(ctx));
  program.addCommand(diagnoseCommand(ctx));
  program.addCommand(demoCommand(ctx));
  // `demo`, `status` and `diagnose` are added here as they land.

  configureTree(program, io);
  return program;
}

/** Parses and runs `argv` (without node and script); resolves to the exit status. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const program = buildProgram(io);
  const ctx = contexts.get(program)!;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    // Commander has already printed its own errors (see configureTree).
    if (!(err instanceof CommanderError)) ctx.err(formatError(err));
    const code = exitCodeFor(err);
    return code === 0 ? 0 : code || EXIT_FAILURE;
  }
}

/**
 * Subcommands added with addCommand do not inherit settings, so every
 * command gets them here: throw instead of process.exit (runCli maps the
 * exit status), write to the injected streams, usage errors as one line.
 */
function configureTree(cmd: Command, io: CliIo): void {
  cmd.exitOverride();
  cmd.configureOutput({
    writeOut: (s) => void io.stdout.write(s),
    writeErr: (s) => void io.stderr.write(s),
    outputError: (s, write) => write(`error: USAGE: ${s.replace(/^error:\s*/, '').trim()} (see --help)\n`),
  });
  for (const sub of cmd.commands) configureTree(sub, io);
}
