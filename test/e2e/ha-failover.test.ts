import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ClusterHarness, LoadGenerator, type AuditLine, type LoadReport } from '../helpers/cluster-harness.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * Proof of issue 3/4 (protocol section 4): two real `credgw run`
 * processes, the reference controller and the PMP simulator (one per
 * gateway), under a steady stream of getPassword commands, through a crash,
 * a graceful stop, a vault outage, a frozen process and a controller
 * restart. Nothing here asserts on elapsed time; the failover times seen
 * are printed for the record (bench/failover measures them).
 */

jest.setTimeout(60_000);
/** Bound of every wait (a hang, not a timing assertion). */
const E2E_WAIT_MS = 15_000;
/** The frozen active's vault latency just before the freeze (commands are then surely in its vault calls). */
const SLOW_VAULT_MS = 250;

const observed: string[] = [];

function note(scenario: string, fields: Record<string, unknown>): void {
  const line = `${scenario}: ${Object.entries(fields)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v) : JSON.stringify(v)}`)
    .join(' ')}`;
  observed.push(line);
}

function summary(r: LoadReport): Record<string, unknown> {
  return { submitted: r.submitted, ok: r.ok, failed: r.failed, failures: r.failures, resent: r.results.filter((x) => (x.attempts ?? 1) > 1).length };
}

/** Every submitted command got exactly one final answer. */
function expectEachAnsweredOnce(r: LoadReport): void {
  expect(r.unanswered).toEqual([]);
  expect(r.duplicates).toEqual([]);
  expect(r.results).toHaveLength(r.submitted);
  expect(new Set(r.results.map((x) => x.id)).size).toBe(r.submitted);
}

describe('active/standby failover with real gateway processes', () => {
  let h: ClusterHarness;

  const other = (id: string): string => (id === 'gw-a' ? 'gw-b' : 'gw-a');

  /** The current active, with the other gateway joined as a healthy standby. */
  async function pair(): Promise<{ active: string; standby: string; epoch: number }> {
    const active = await waitFor(() => h.activeId() ?? undefined, 'an active gateway', E2E_WAIT_MS);
    const standby = other(active);
    await h.waitJoined(active, 'active');
    await h.waitJoined(standby, 'standby');
    return { active, standby, epoch: h.snapshot()!.epoch };
  }

  /** Waits until `gatewayId` answered `n` ok results after `since`. */
  async function okResultsFrom(load: LoadGenerator, gatewayId: string, since: number, n: number): Promise<void> {
    await waitFor(() => load.seen.filter((r) => r.ok && r.gatewayId === gatewayId && r.answeredAt >= since).length >= n, `${n} ok results from ${gatewayId}`, E2E_WAIT_MS).catch(
      (err: Error) => {
        throw new Error(`${err.message} (${load.describe()})\n--- ${gatewayId} output ---\n${h.gateways.get(gatewayId)?.tail() ?? ''}`);
      },
    );
  }

  beforeAll(async () => {
    h = await ClusterHarness.create();
    h.spawnGateway('gw-a');
    await h.waitJoined('gw-a', 'active');
    h.spawnGateway('gw-b');
    await h.waitJoined('gw-b', 'standby');
  });

  afterAll(async () => {
    if (observed.length > 0) console.log(`failover times observed (ms, not asserted):\n  ${observed.join('\n  ')}`);
    await h?.close();
  });

  it('kill -9 of the active: the standby serves, every command answered exactly once', async () => {
    const { active, standby, epoch } = await pair();
    const load = new LoadGenerator(h, 'kill9');
    await okResultsFrom(load, active, 0, 4);
    const gw = h.gateways.get(active)!;
    const killedAt = Date.now();
    gw.signal('SIGKILL');
    const promotedAt = await waitFor(() => h.activeId() === standby && Date.now(), `${standby} promoted`, E2E_WAIT_MS);
    const first = await waitFor(() => load.firstOkFrom(standby, killedAt), `an ok result from ${standby}`, E2E_WAIT_MS);
    await okResultsFrom(load, standby, killedAt, 8);
    const report = await load.stop();

    expect(await gw.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expectEachAnsweredOnce(report);
    // Commands caught at the dead active were re-sent to the new one: none is lost or failed.
    expect(report.failures).toEqual({});
    expect(report.results.every((r) => r.status === 200)).toBe(true);
    expect(report.results.filter((r) => r.answeredAt > first.answeredAt).every((r) => r.gatewayId === standby)).toBe(true);
    const snap = h.snapshot()!;
    expect(snap.epoch).toBeGreaterThan(epoch);
    expect(snap.activeGatewayId).toBe(standby);
    note('kill -9', { killToPromotion: promotedAt - killedAt, killToFirstOk: first.answeredAt - killedAt, ...summary(report) });

    h.spawnGateway(active);
    await h.waitJoined(active, 'standby');
    // No move back to the returning gateway (no flapping).
    expect(h.activeId()).toBe(standby);
  });

  it('SIGTERM of the active: handover with zero failed commands, exit 0', async () => {
    const { active, standby, epoch } = await pair();
    const resentBefore = h.snapshot()!.counts.resentCommands;
    const load = new LoadGenerator(h, 'sigterm');
    await okResultsFrom(load, active, 0, 4);
    const gw = h.gateways.get(active)!;
    const termAt = Date.now();
    gw.signal('SIGTERM');
    const promotedAt = await waitFor(() => h.activeId() === standby && Date.now(), `${standby} promoted`, E2E_WAIT_MS);
    const first = await waitFor(() => load.firstOkFrom(standby, termAt), `an ok result from ${standby}`, E2E_WAIT_MS);
    await okResultsFrom(load, standby, termAt, 8);
    const report = await load.stop();

    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expectEachAnsweredOnce(report);
    expect(report.failed).toBe(0);
    expect(report.ok).toBe(report.submitted);
    const snap = h.snapshot()!;
    expect(snap.epoch).toBeGreaterThan(epoch);
    expect(gw.logs().some((l) => l['msg'] === 'resigned the active role')).toBe(true);
    note('SIGTERM', {
      termToPromotion: promotedAt - termAt,
      termToFirstOk: first.answeredAt - termAt,
      resentByController: snap.counts.resentCommands - resentBefore,
      ...summary(report),
    });

    h.spawnGateway(active);
    await h.waitJoined(active, 'standby');
  });

  it("the active's vault becomes unreachable: the role moves to the standby whose vault is healthy", async () => {
    const { active, standby, epoch } = await pair();
    const load = new LoadGenerator(h, 'vault');
    await okResultsFrom(load, active, 0, 4);
    const sim = h.sims.get(active)!;
    const failedAt = Date.now();
    // Every request to the active's own vault has its socket destroyed (as a vault that went away).
    sim.inject({ kind: 'close' });
    const movedAt = await waitFor(() => h.activeId() === standby && Date.now(), `${standby} promoted`, E2E_WAIT_MS);
    const first = await waitFor(() => load.firstOkFrom(standby, failedAt), `an ok result from ${standby}`, E2E_WAIT_MS);
    await okResultsFrom(load, standby, failedAt, 8);
    const report = await load.stop();

    expectEachAnsweredOnce(report);
    const snap = h.snapshot()!;
    expect(snap.epoch).toBeGreaterThan(epoch);
    const old = snap.gateways.find((g) => g.gatewayId === active)!;
    expect(old).toMatchObject({ role: 'standby', healthy: false });
    expect(old.vaults).toEqual([{ name: 'pmp', healthy: false, error: 'VAULT_UNREACHABLE' }]);
    // Only the commands the active took while its vault was failing fail, and as vault-wide outages.
    expect(Object.keys(report.failures).every((c) => c === 'VAULT_UNREACHABLE')).toBe(true);
    expect(report.results.filter((r) => !r.ok).every((r) => r.gatewayId === active)).toBe(true);
    note('vault unreachable', { faultToMove: movedAt - failedAt, faultToFirstOk: first.answeredAt - failedAt, ...summary(report) });

    // The vault comes back: the old active reports healthy again and stays standby (no flapping).
    sim.clearFaults();
    await h.waitJoined(active, 'standby');
    expect(h.activeId()).toBe(standby);
  });

  it('a frozen active (SIGSTOP) is dropped, the standby promoted; after SIGCONT it is a standby and never serves at its old epoch', async () => {
    const { active, standby } = await pair();
    const gw = h.gateways.get(active)!;
    const sim = h.sims.get(active)!;
    const fetchesAtStart = sim.stats().passwordFetches;
    const load = new LoadGenerator(h, 'sigstop');
    await okResultsFrom(load, active, 0, 4);
    const oldEpoch = h.snapshot()!.epoch;
    // Its vault slow, and frozen as a password call has just reached the vault: that call's
    // answer is still to come (this process writes it only after this turn), so at least one
    // command is surely running across the freeze.
    let stoppedAt: number;
    sim.setLatency(SLOW_VAULT_MS);
    try {
      const fetches = sim.stats().passwordFetches;
      await waitFor(() => sim.stats().passwordFetches > fetches, 'a password call at the slow vault', E2E_WAIT_MS);
      stoppedAt = Date.now();
      gw.signal('SIGSTOP');
    } finally {
      sim.setLatency(0);
    }
    // Commands sent to it while it is frozen (the controller has not dropped it yet) sit in its
    // socket buffer: it must not run them; the controller re-sends them to the new active.
    const buffered = [1, 2].map((i) => h.submitGetPassword(`sigstop-buffered-${i}`));
    const promotedAt = await waitFor(() => h.activeId() === standby && Date.now(), `${standby} promoted`, E2E_WAIT_MS);
    const first = await waitFor(() => load.firstOkFrom(standby, stoppedAt), `an ok result from ${standby}`, E2E_WAIT_MS);
    await okResultsFrom(load, standby, stoppedAt, 8);
    expect(h.snapshot()!.gateways.map((g) => g.gatewayId)).toEqual([standby]);

    const fetchesBefore = sim.stats().passwordFetches;
    const contAt = Date.now();
    gw.signal('SIGCONT');
    await h.waitJoined(active, 'standby');
    await okResultsFrom(load, standby, Date.now(), 4);
    const report = await load.stop();

    expectEachAnsweredOnce(report);
    expect(report.failures).toEqual({});
    expect(h.activeId()).toBe(standby);
    // The hazard was there: commands were out at it when it froze, and the controller re-sent them.
    expect(report.results.some((r) => (r.attempts ?? 1) > 1)).toBe(true);
    const answers = (await Promise.all(buffered)).map((o) => (o.status === 200 ? { ok: o.body.ok, gatewayId: o.body.gatewayId, resent: (o.body.attempts ?? 1) > 1 } : o.status));
    expect(answers).toEqual([1, 2].map(() => ({ ok: true, gatewayId: standby, resent: true })));
    // And no result from it was final after it froze.
    expect(report.results.filter((r) => r.gatewayId === active && r.answeredAt > first.answeredAt)).toEqual([]);
    const roleLines = gw.logs().filter((l) => l['msg'] === 'role changed' && Date.parse(String(l['time'])) >= contAt);
    expect(roleLines.map((l) => l['to'])).toEqual(['unknown', 'standby']);

    // Its audit lines of this test, by when each command ran: nothing runs while it is frozen,
    // so the middle of the freeze tells before from after (clear of timestamp rounding, and of
    // what it still did between our kill() and the stop taking hold).
    const frozenMid = (stoppedAt + contAt) / 2;
    const startOf = (e: AuditLine): number => Date.parse(e.time) - e.durationMs;
    // Read in one synchronous step: the simulator counts in this process, so no call is counted
    // in between, and every audit line read is of a call counted already (its answer came after).
    const snapshot = () => {
      const fetched = sim.stats().passwordFetches - fetchesAtStart;
      const mine = gw.audit().filter((e) => e.commandId.startsWith('sigstop-'));
      const ended = mine.filter((e) => Date.parse(e.time) < frozenMid);
      const across = mine.filter((e) => startOf(e) < frozenMid && Date.parse(e.time) >= frozenMid);
      const woken = mine.filter((e) => startOf(e) >= frozenMid);
      return { fetched, ended, across, woken, ranBeforeWake: ended.length + across.length };
    };
    // A command it was running across the freeze writes its line after its call, a moment after
    // the wake: wait until every call has its command's line (a broken gateway never gets there).
    let c = snapshot();
    await waitFor(() => (c = snapshot()).fetched <= c.ranBeforeWake, 'an audit line for every vault call', E2E_WAIT_MS).catch(() => undefined);
    const fetchedAfterWake = c.fetched + fetchesAtStart - fetchesBefore;
    // Nothing it took after waking ran: each was refused, at no vault cost.
    expect(c.woken.filter((e) => e.outcome !== 'NOT_ACTIVE')).toEqual([]);
    // Before the freeze, answers the controller took; at least one command ran across it.
    expect(c.ended.filter((e) => e.epoch !== oldEpoch || e.outcome !== 'ok')).toEqual([]);
    expect(c.across.length).toBeGreaterThan(0);
    expect(c.across.filter((e) => e.epoch !== oldEpoch)).toEqual([]);
    // Each vault call is one command's, and a command makes one at most: exactly one for each
    // that ended ok, at most one for each that ran before the wake. A call it had started may
    // reach the vault only after SIGCONT, as the process resumes mid-call (its answer goes
    // nowhere). A call beyond that fails here (unless a command that was running across the
    // freeze never got to its own: it was refused on waking, and its place is free).
    expect(c.fetched).toBeGreaterThanOrEqual([...c.ended, ...c.across].filter((e) => e.outcome === 'ok').length);
    expect(c.fetched).toBeLessThanOrEqual(c.ranBeforeWake);
    // So every call the vault saw after the wake is one of a command that was running across the freeze.
    expect(fetchedAfterWake).toBeLessThanOrEqual(c.across.length);
    note('SIGSTOP', {
      stopToPromotion: promotedAt - stoppedAt,
      stopToFirstOk: first.answeredAt - stoppedAt,
      staleResultsDropped: h.snapshot()!.counts.staleResultsDropped,
      runningAcrossFreeze: c.across.length,
      vaultCallsAfterWake: fetchedAfterWake,
      ...summary(report),
    });
  });

  it('the controller restarts: both reconnect, one active, at an epoch higher than before', async () => {
    const { epoch } = await pair();
    const restartAt = Date.now();
    await h.restartController();
    const { active, standby, epoch: after } = await pair();
    const rejoinedAt = Date.now();
    expect(after).toBeGreaterThan(epoch);
    const snap = h.snapshot()!;
    expect(snap.gateways.filter((g) => g.role === 'active').map((g) => g.gatewayId)).toEqual([active]);
    expect(snap.gateways.find((g) => g.gatewayId === standby)).toMatchObject({ role: 'standby', epoch: after });

    const load = new LoadGenerator(h, 'restart');
    await okResultsFrom(load, active, restartAt, 8);
    const report = await load.stop();
    expectEachAnsweredOnce(report);
    expect(report.failed).toBe(0);
    expect(report.results.every((r) => r.epoch === after && r.gatewayId === active)).toBe(true);
    note('controller restart', { restartToBothJoined: rejoinedAt - restartAt, epochBefore: epoch, epochAfter: after });
  });

  it('no epoch was ever served by two gateways', () => {
    const servedBy = new Map<number, Set<string>>();
    for (const gw of h.gateways.values()) {
      for (const e of gw.audit()) {
        if (e.outcome !== 'ok') continue;
        const s = servedBy.get(e.epoch) ?? new Set<string>();
        s.add(e.gatewayId);
        servedBy.set(e.epoch, s);
      }
    }
    expect(servedBy.size).toBeGreaterThan(3);
    for (const [epoch, gateways] of servedBy) expect({ epoch, gateways: [...gateways] }).toEqual({ epoch, gateways: [expect.any(String)] });
  });
});
