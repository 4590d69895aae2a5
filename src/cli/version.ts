import { Command } from 'commander';
import { BUILD_INFO, runningAsBinary, VERSION } from '../shared/index.js';
import type { CliContext } from './cli-context.js';

/** What `credgw version` reports: enough to tell two builds and their runtimes apart in a support ticket. */
export interface VersionReport {
  version: string;
  commit: string | null;
  builtAt: string | null;
  /** The Node.js runtime this process runs on (the one embedded in the binary). */
  node: string;
  arch: string;
  platform: string;
  /** "binary" for the single executable, "node" for `node dist/cli/main.js`. */
  packaging: 'binary' | 'node';
}

export function versionReport(): VersionReport {
  return {
    version: VERSION,
    commit: BUILD_INFO?.commit ?? null,
    builtAt: BUILD_INFO?.builtAt ?? null,
    node: process.version,
    arch: process.arch,
    platform: process.platform,
    packaging: runningAsBinary() ? 'binary' : 'node',
  };
}

/** `credgw version [--json]`. */
export function versionCommand(ctx: CliContext): Command {
  return new Command('version')
    .description('print the version, commit, build time and Node.js runtime')
    .option('--json', 'one JSON object')
    .action((opts: { json?: boolean }) => {
      const r = versionReport();
      if (opts.json) {
        ctx.out(JSON.stringify(r));
        return;
      }
      ctx.out(`credgw ${r.version}${r.commit ? ` (${r.commit.slice(0, 12)})` : ''}`);
      ctx.out(`node ${r.node} ${r.platform}-${r.arch}, ${r.packaging}${r.builtAt ? `, built ${r.builtAt}` : ''}`);
    });
}
