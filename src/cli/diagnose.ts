import { Command } from 'commander';
import { formatCheck, runDiagnostics, summarize } from '../diagnose/index.js';
import { EXIT_FAILURE, UsageError, type CliContext } from './cli-context.js';

/**
 * `credgw diagnose`: one line per check (`ok`, `warn` or `FAIL`), then a
 * summary; exit 1 when any check failed, 0 otherwise (warnings included).
 * The output names files, hosts and certificates but never a token, a
 * password or proxy credentials, so it can be pasted into a support ticket.
 * The checks live in src/diagnose/.
 */
export function diagnoseCommand(ctx: CliContext): Command {
  return new Command('diagnose')
    .description('check config, files, secrets, the controller (DNS, proxy, TLS, auth, clock) and each vault; safe to paste')
    .option('--timeout <ms>', 'time-out of each network step', '5000')
    .action(async (opts: { timeout: string }) => {
      const timeoutMs = Number(opts.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) throw new UsageError('--timeout must be 100-120000 ms');
      const results = await runDiagnostics({
        configDir: ctx.configDir(),
        env: ctx.io.env,
        timeoutMs,
        logger: ctx.logger(),
        onResult: (r) => ctx.out(formatCheck(r)),
      });
      const summary = summarize(results);
      ctx.out('');
      ctx.out(`credgw diagnose: ${summary.line}`);
      if (summary.fail > 0) ctx.exitCode = EXIT_FAILURE;
    });
}
