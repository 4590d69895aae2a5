export { buildProgram, runCli } from './program.js';
export {
  CliContext,
  UsageError,
  EXIT_OK,
  EXIT_FAILURE,
  EXIT_USAGE,
  EXIT_STATUS_BY_CODE,
  formatError,
  exitCodeFor,
  type CliIo,
} from './cli-context.js';
