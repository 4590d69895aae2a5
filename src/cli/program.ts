import { Command, CommanderError, Option } from 'commander';
import { CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR } from '../config/index.js';
import { VERSION } from '../shared/index.js';
import { CliContext, loadConfigStore, exitCodeFor, formatError, type CliIo } from './cli-context.js';

/**
 * The `credgw` program. Built per run with injectable streams and
 * environment so integration tests run it in-process; main.ts runs it on
 * the real process.
 *
 * Subcommands are loaded on demand: each one's module (and what it pulls
 * in: the simulators, the demo, diagnose, the vault client…) is imported
 * only when that subcommand runs, so `credgw run` — the daemon, running for
 * months — carries only the daemon's code. Help without a subcommand, or an
 * unknown one, loads them all (the command list and suggestions need them).
 */

const contexts = new WeakMap<Command, CliContext>();

interface Subcommand {
  name: string;
  load: (ctx: CliContext, io: CliIo) => Promise<Command>;
}

/** Every subcommand, in the order `--help` lists them. */
const SUBCOMMANDS: readonly Subcommand[] = [
  { name: 'config', load: async (ctx) => (await import('./config.js')).configCommand(ctx) },
  { name: 'vault', load: async (ctx) => (await import('./vault.js')).vaultCommand(ctx) },
  { name: 'cert', load: async (ctx) => (await import('./cert.js')).certCommand(ctx) },
  {
    name: 'sim',
    load: async (ctx, io) => {
      const { simPmpCommand } = await import('./sim-pmp.js');
      const { simControllerCommand } = await import('./sim-controller.js');
      const sim = new Command('sim').description('simulators for tests, benchmarks and demos');
      sim.addCommand(simPmpCommand({ out: io.stdout, err: io.stderr, setExitCode: (code) => void (ctx.exitCode = code) }));
      sim.addCommand(
        simControllerCommand({ out: io.stdout, err: io.stderr, env: io.env, setExitCode: (code) => void (ctx.exitCode = code) }),
      );
      return sim;
    },
  },
  { name: 'run', load: async (ctx) => (await import('./run.js')).runCommand(ctx) },
  { name: 'status', load: async (ctx) => (await import('./status.js')).statusCommand(ctx) },
  { name: 'diagnose', load: async (ctx) => (await import('./diagnose.js')).diagnoseCommand(ctx) },
  { name: 'demo', load: async (ctx) => (await import('./demo.js')).demoCommand(ctx) },
  { name: 'version', load: async (ctx) => (await import('./version.js')).versionCommand(ctx) },
];

/**
 * Which subcommands `argv` needs: the one it names, none for a bare
 * `--version`, or every one (help, no subcommand, an unknown name — the
 * program's own help and suggestions list them all). Root options are
 * `--config-dir <dir>` (takes a value), `--verbose`, `-V`, `-h`.
 */
export function subcommandsFor(argv: readonly string[]): readonly string[] {
  const all = SUBCOMMANDS.map((c) => c.name);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return all;
    if (arg === '--config-dir') {
      i++;
      continue;
    }
    if (arg === '-h' || arg === '--help') return all;
    if (arg === '-V' || arg === '--version') return [];
    if (arg.startsWith('-')) continue;
    return all.includes(arg) ? [arg] : all;
  }
  return all;
}

/** The program with the subcommands `argv` needs (all of them by default). */
export async function buildProgram(partialIo: Partial<CliIo> = {}, argv?: readonly string[]): Promise<Command> {
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

  const wanted = new Set(argv === undefined ? SUBCOMMANDS.map((c) => c.name) : subcommandsFor(argv));
  // One after the other: loading is CPU work anyway, and jest's ESM loader trips over concurrent imports of shared modules.
  // Every command but `run` may write config.json (conf); `run` only reads it.
  if ([...wanted].some((name) => name !== 'run')) await loadConfigStore();
  for (const c of SUBCOMMANDS) if (wanted.has(c.name)) program.addCommand(await c.load(ctx, io));

  configureTree(program, io);
  return program;
}

/** Parses and runs `argv` (without node and script); resolves to the exit status. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const program = await buildProgram(io, argv);
  const ctx = contexts.get(program)!;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    // Commander has already printed its own errors (see configureTree).
    if (!(err instanceof CommanderError)) ctx.err(formatError(err));
    return exitCodeFor(err);
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
