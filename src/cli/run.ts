import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { ConfigError } from '../config/index.js';
import type { GatewayConfig } from '../config/index.js';
import { startDaemon } from '../daemon/index.js';
import { LinkConfigError } from '../link/index.js';
import { AuditTargetError, createStdoutLogger } from '../telemetry/index.js';
import { CredgwError } from '../shared/index.js';
import { EXIT_FAILURE, formatError, type CliContext } from './cli-context.js';

/**
 * `credgw run`: the gateway daemon (what the systemd unit starts). Refuses
 * to start on an invalid config with the messages of `config validate`.
 * Runs until SIGTERM/SIGINT (graceful drain, exit 0; a second signal exits
 * at once); SIGHUP reloads config and secret files. `--state-dir` names
 * the state directory (the outbox of rotation events) before
 * $STATE_DIRECTORY and the config's stateDir.
 */
export function runCommand(ctx: CliContext): Command {
  return new Command('run')
    .description('run the gateway: dial the controller and serve its commands (the service runs this)')
    .option('--state-dir <dir>', 'the state directory (default: $STATE_DIRECTORY, else the config\'s stateDir, else /var/lib/credgw)')
    .action(async (opts: { stateDir?: string }) => {
      const store = ctx.configFile();
      let config: GatewayConfig;
      try {
        config = store.load();
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const p of err.problems) ctx.err(`${store.path}: ${p}`);
        ctx.err(`error: CONFIG_INVALID: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} in ${store.path}; credgw run refuses to start`);
        ctx.exitCode = EXIT_FAILURE;
        return;
      }
      if (!config.controller) {
        ctx.err(`error: CONFIG_INVALID: ${store.path}: controller: is required to run the gateway`);
        ctx.exitCode = EXIT_FAILURE;
        return;
      }
      const logger = await createStdoutLogger({ level: config.telemetry.logLevel });
      tuneV8ForTheDaemon();
      try {
        await startDaemon({ config, store, logger, env: ctx.io.env, stateDir: opts.stateDir, cwd: process.cwd() });
      } catch (err) {
        if (err instanceof AuditTargetError) {
          ctx.err(`error: ${err.code}: ${err.message}; credgw run refuses to start`);
        } else if (err instanceof LinkConfigError) {
          ctx.err(`error: CONFIG_INVALID: ${store.path}: ${err.message}; credgw run refuses to start`);
        } else if (err instanceof CredgwError) {
          // The outbox, the notice listener, its certificate or token, the syslog receiver.
          ctx.err(`${formatError(err)}; credgw run refuses to start`);
        } else {
          throw err;
        }
        ctx.exitCode = EXIT_FAILURE;
      }
    });
}

/**
 * V8 settings for the daemon, set before its first command; both trade some
 * warm-up CPU for a lower peak RSS (figures: docs/benchmarks.md, "Maglev,
 * and the daemon without it" and session 7):
 * - llhttp, undici's WebAssembly HTTP parser, stays on V8's baseline code:
 *   its TurboFan recompile once hot set the peak in the first commands
 *   (read at WebAssembly compile time, so before the first vault call).
 * - No Maglev, V8's mid-tier compiler: its work in a burst of commands was
 *   much of the in-flight peak. Hot code still reaches TurboFan, so CPU per
 *   command is the same once warm, and higher only while warming up.
 */
function tuneV8ForTheDaemon(): void {
  setFlagsFromString('--no-wasm-dynamic-tiering');
  setFlagsFromString('--no-wasm-tier-up');
  setFlagsFromString('--no-maglev');
}
