import { cleanup, runBacklog, runFuzz, runHostileVault, runReloadRace, tempDir } from '../../bench/lib/chaos/index.mjs';

/**
 * The chaos scenarios of `npm run bench -- chaos` (bench/lib/chaos) at a
 * small scale, against real `credgw run` processes (the build in dist/),
 * asserting the contract of shared/design/protocol.md sections 5 and 8:
 * no crash, every command with a usable id answered exactly once (a
 * duplicate of an in-flight id joins it), a hostile vault turned into an
 * error code within the deadline without its echoed token reaching any
 * output, SIGHUP reloads under load that fail nothing and move no role,
 * and a burst over maxInFlight absorbed by the admission queue.
 */

const SCENARIO_TIMEOUT_MS = 90_000;
let dir: string;

beforeAll(() => {
  dir = tempDir('credgw-chaos-test-');
});

afterAll(async () => {
  await cleanup();
});

test(
  'fuzz: 2,000 seeded frames — no crash, every command answered exactly once, only the contract closes the connection',
  async () => {
    const f = await runFuzz({ dir, frames: 2000, seed: 20261203, hugeKeys: 1, floods: 1, budgetMs: 60_000 });
    expect({
      crashes: f.crashes,
      unanswered: f.unanswered,
      answeredTwice: f.answeredTwice,
      answeredTwiceAlteredDuplicate: f.answeredTwiceAlteredDuplicate,
      resultsForUnknownIds: f.resultsForUnknownIds,
      unexpectedCloses: f.unexpectedCloses,
      closesMissing: f.closesMissing,
      finalCommandAnswered: f.finalCommandAnswered,
    }).toEqual({
      crashes: 0,
      unanswered: 0,
      answeredTwice: 0,
      answeredTwiceAlteredDuplicate: 0,
      resultsForUnknownIds: 0,
      unexpectedCloses: {},
      closesMissing: [],
      finalCommandAnswered: true,
    });
    expect(f.sent).toBeGreaterThanOrEqual(2000);
    expect(f.expectedCloses).toEqual({ 4000: 1, 1003: 1, 1009: 1 });
    expect(f.codes['INTERNAL']).toBeUndefined();
  },
  SCENARIO_TIMEOUT_MS,
);

test(
  'hostile vault: every case an error code within the deadline, no crash, the echoed token in no output',
  async () => {
    const h = await runHostileVault({ dir, bodyMiB: 8, timeoutMs: 1000, graceMs: 2000 });
    expect(h.cases.filter((c) => !c.ok)).toEqual([]);
    expect(h.crashes).toBe(0);
    expect(h.tokenHits).toEqual({ output: 0, audit: 0, results: 0 });
  },
  SCENARIO_TIMEOUT_MS,
);

test(
  'reload race: 5 SIGHUPs under load fail no command and move no role',
  async () => {
    const r = await runReloadRace({ dir, reloads: 5, workers: 4 });
    expect(r.reloads).toBe(5);
    expect(r.commands).toBeGreaterThan(0);
    expect({ failed: r.failed, firstFailure: r.firstFailure, roleMoves: r.roleMoves, crashes: r.crashes }).toEqual({
      failed: 0,
      firstFailure: null,
      roleMoves: 0,
      crashes: 0,
    });
  },
  SCENARIO_TIMEOUT_MS,
);

test(
  'backlog: maxInFlight + 50 commands in one burst are all answered, none OVERLOADED',
  async () => {
    const b = await runBacklog({ dir, commands: 60, maxInFlight: 10, vaultLatencyMs: 300, timeoutMs: 30_000 });
    expect({ ok: b.ok, overloaded: b.overloaded, unanswered: b.unanswered, crashes: b.crashes }).toEqual({
      ok: 60,
      overloaded: 0,
      unanswered: 0,
      crashes: 0,
    });
  },
  SCENARIO_TIMEOUT_MS,
);
