/**
 * The command line that runs the CLI under test: `node <main.js> …args`,
 * or the single-executable binary named by $CREDGW_TEST_BINARY (.ci/run
 * runs the suite's gateway processes and the demo with the shipped binary).
 */
export function cliCommandLine(main: string, args: readonly string[]): [command: string, ...args: string[]] {
  const binary = process.env['CREDGW_TEST_BINARY'];
  return binary ? [binary, ...args] : [process.execPath, main, ...args];
}
