export { buildProgram, runCli } from './program.js';
export { CliContext, CliError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE, formatError, exitCodeFor, type CliIo } from './cli-context.js';
