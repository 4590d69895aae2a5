#!/usr/bin/env node
import { runCli } from './program.js';

// process.exitCode, not process.exit(): stdout and stderr drain before the process ends.
process.exitCode = await runCli(process.argv.slice(2));
