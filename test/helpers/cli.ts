import { Readable, Writable } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** A Writable that keeps what is written to it. */
export function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

/**
 * Runs `credgw …` in-process (runCli) with captured stdout and stderr, the
 * given environment and an empty stdin that is not a terminal.
 */
export async function runCredgw(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const out = capture();
  const err = capture();
  const code = await runCli(args, {
    stdout: out.stream,
    stderr: err.stream,
    stdin: Object.assign(Readable.from([]), { isTTY: false }),
    env,
  });
  return { code, out: out.text(), err: err.text() };
}
