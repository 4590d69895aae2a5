import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli } from '../../src/sim/gateway-process.js';
import { cliMain } from '../helpers/gateway-process.js';

/**
 * The built CLI writing into a pipe whose reader has already gone
 * (`credgw diagnose | head -1`): every command ends quietly with status 0,
 * no EPIPE stack trace on stderr. The read end is closed before the child
 * writes anything, so the first write fails, whatever the machine's speed.
 */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credgw-epipe-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8', CREDGW_CONFIG_DIR: dir };
  const child = spawnCli({ cliEntry: cliMain(), args, env });
  child.stdout!.destroy();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })));
}

describe('credgw with stdout closed by its reader', () => {
  it.each([[['--version']], [['--help']], [['config', 'show']], [['diagnose', '--timeout', '200']]])('%j ends quietly with status 0', async (args) => {
    expect(await runIntoClosedPipe(args)).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
