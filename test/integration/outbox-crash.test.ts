import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Outbox } from '../../src/events/index.js';

/**
 * No event is lost to kill -9 once `record` has resolved (the listener's
 * 202). A child process (the built `dist/events`) records events from 16
 * concurrent callers, prints each id only after its record resolved, and
 * acks a third of them; the test kills it with SIGKILL once it has read a
 * random number of those ids (the child keeps recording while the signal is
 * on its way), or, every fifth round, a random few ms after the start, while
 * it may still be opening (and so rewriting) the journal; then it re-opens
 * the outbox and checks that every printed, unacked id is pending. The kill
 * follows the child's progress, not a clock, so a slow machine changes
 * nothing but the duration.
 * Every other round the test acks all it found and closes cleanly: those
 * acks must hold at the next open.
 */

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = process.env['CREDGW_TEST_DIST'] || join(REPO, 'dist');
const ROUNDS = 30;
const MAX_STORED = 1_000_000;

const CHILD = `
const { Outbox } = await import(process.env.OUTBOX_MODULE);
const outbox = await Outbox.open({ dir: process.env.OUTBOX_DIR, maxStored: ${MAX_STORED}, compactAfter: 64 });
const round = process.env.ROUND;
process.stdout.write('ready\\n');
let next = 0;
async function caller() {
  for (;;) {
    const i = next++;
    const { eventId } = await outbox.record({
      vault: 'pmp-prod', resourceName: 'r' + round + '-' + i, accountName: 'administrator',
      rotatedAtMs: 1796292902000 + i * 1000, source: i % 2 ? 'listener' : 'syslog',
    });
    // Printed only now: this is the 202 the listener would answer.
    process.stdout.write('S ' + eventId + '\\n');
    // Acked only once its line is in the pipe: a full pipe makes stdout queue
    // in memory, and a kill then loses the line but not the ack.
    if (i % 3 === 0) process.stdout.write('A ' + eventId + '\\n', () => outbox.ack(eventId));
  }
}
for (let c = 0; c < 16; c++) void caller();
`;

interface Round {
  stored: Set<string>;
  acked: Set<string>;
  ready: boolean;
}

/** When one child is killed: once `stored` ids are read, or `earlyMs` after its start. */
type KillAt = { stored: number } | { earlyMs: number };

/** Runs one child until SIGKILL at `at`. */
function crashRound(dir: string, round: number, at: KillAt): Promise<Round> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, OUTBOX_MODULE: pathToFileURL(join(DIST, 'events', 'index.js')).href, OUTBOX_DIR: dir, ROUND: String(round) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    if ('earlyMs' in at) timer = setTimeout(() => child.kill('SIGKILL'), at.earlyMs);
    let stored = 0;
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!('stored' in at)) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('S ') && ++stored === at.stored) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    // 'close', not 'exit': after the pipe's last byte is read, so no printed line is missed.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`child ended with ${code ?? signal} instead of being killed: ${err}`));
        return;
      }
      const r: Round = { stored: new Set(), acked: new Set(), ready: false };
      // Only whole lines: the kill may cut the last one.
      for (const line of out.slice(0, out.lastIndexOf('\n') + 1).split('\n')) {
        if (line === 'ready') r.ready = true;
        else if (line.startsWith('S ')) r.stored.add(line.slice(2));
        else if (line.startsWith('A ')) r.acked.add(line.slice(2));
      }
      resolvePromise(r);
    });
  });
}

let dir: string;
beforeAll(() => {
  if (!existsSync(join(DIST, 'events', 'index.js'))) throw new Error(`${DIST}/events/index.js does not exist: build first (npm test does; or set CREDGW_TEST_DIST)`);
  dir = mkdtempSync(join(tmpdir(), 'credgw-outbox-crash-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it(`loses no recorded event to SIGKILL at random moments (${ROUNDS} rounds)`, async () => {
  let mustHold = new Set<string>();
  let ackedCleanly = new Set<string>();
  let recorded = 0;
  let killedWorking = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const r = await crashRound(dir, round, round % 5 === 4 ? { earlyMs: Math.floor(Math.random() * 80) } : { stored: 8 + Math.floor(Math.random() * 56) });
    recorded += r.stored.size;
    if (r.stored.size > 0) killedWorking++;
    for (const id of r.stored) if (!r.acked.has(id)) mustHold.add(id);
    for (const id of r.acked) mustHold.delete(id);

    // The file must open (torn tail or not) and hold every event whose record resolved.
    const outbox = await Outbox.open({ dir, maxStored: MAX_STORED });
    const pending = new Set(outbox.pending().map((m) => m.id));
    const lost = [...mustHold].filter((id) => !pending.has(id));
    expect({ round, lost }).toEqual({ round, lost: [] });
    // Acks followed by a clean close are durable.
    expect({ round, back: [...ackedCleanly].filter((id) => pending.has(id)) }).toEqual({ round, back: [] });
    if (round % 2 === 1) {
      ackedCleanly = new Set(pending);
      for (const id of pending) outbox.ack(id);
      mustHold = new Set();
    } else ackedCleanly = new Set();
    await outbox.close();
  }
  // Children were killed in the middle of their work, not only before it (by
  // construction: each of the 24 progress-killed rounds read 8 ids or more).
  expect(killedWorking).toBeGreaterThan(ROUNDS / 3);
  expect(recorded).toBeGreaterThan(ROUNDS * 5);
}, 120_000);
