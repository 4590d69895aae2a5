#!/usr/bin/env node
import { endQuietlyOnBrokenPipe } from './cli-context.js';
import { runCli } from './program.js';

for (const stream of [process.stdout, process.stderr]) endQuietlyOnBrokenPipe(stream, (code) => process.exit(code));

// process.exitCode, not process.exit(): stdout and stderr drain before the process ends.
process.exitCode = await runCli(process.argv.slice(2));
