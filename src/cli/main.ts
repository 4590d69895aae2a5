#!/usr/bin/env node
import { endQuietlyOnBrokenPipe } from './cli-context.js';
import { runCli } from './program.js';

for (const stream of [process.stdout, process.stderr]) endQuietlyOnBrokenPipe(stream, (code) => process.exit(code));

// process.exitCode, not process.exit(): stdout and stderr drain before the process ends.
// A promise, not top-level await: the single-executable binary runs this as CommonJS.
void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
