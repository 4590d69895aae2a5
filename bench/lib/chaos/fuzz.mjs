// Chaos scenario "fuzz": a raw controller (lib/cloud.mjs: credgw.v1,
// hello → welcome granting active) sends a seeded stream of frames
// (frames.mjs) to a real `credgw run` and counts what the protocol promises:
// every command with a usable id answered exactly once, nothing answered
// that cannot be, no crash. Protocol violations stay under the 4000 rule
// (at most 9 per connection), except in the "floods": the stream is
// drained, 10 violations are sent on purpose and the 4000 close and the
// reconnect are counted. At the end a binary frame (1003) and a frame over
// 1 MiB (1009) close the connection by contract, and one last command must
// still be answered.

import { performance } from 'node:perf_hooks';
import { secretFile, startSimProcess } from '../env.mjs';
import { startBenchCloud } from '../cloud.mjs';
import { ChaosFrames, CLOSING_FRAMES, goodRecipientKey, hostileRecipientKeys } from './frames.mjs';
import { count, startWatchedGateway, until } from './watched-gateway.mjs';

const EPOCH = 1;
const VIOLATIONS_PER_CONNECTION = 9;
const RECONNECT_WAIT_MS = 15_000;

/**
 * @param {{ dir: string, frames: number, seed: number, simLatencyMs?: number, window?: number,
 *           hugeKeys?: number, floods?: number, budgetMs?: number, drainMs?: number, log?: (line: string) => void }} o
 */
export async function runFuzz(o) {
  const log = o.log ?? (() => undefined);
  const window = o.window ?? 400;
  const floods = o.floods ?? 2;
  const budgetMs = o.budgetMs ?? 60_000;
  const drainMs = o.drainMs ?? 20_000;
  const sim = await startSimProcess(o.dir, { latencyMs: o.simLatencyMs ?? 10 });
  const token = `chaos-ctl-${o.seed}-token`;
  const cloud = await startBenchCloud({ token, heartbeatMs: 1000, role: 'active', epoch: EPOCH });
  const gen = new ChaosFrames({
    seed: o.seed,
    epoch: EPOCH,
    vault: 'pmp',
    keys: hostileRecipientKeys(),
    goodKey: goodRecipientKey(),
    hugeKeyBudget: o.hugeKeys ?? 3,
  });
  const gw = await startWatchedGateway(
    o.dir,
    {
      gatewayId: 'chaos-fuzz',
      clusterId: 'chaos',
      controllerUrl: cloud.url,
      controllerTokenRef: secretFile(o.dir, 'fuzz-controller.token', token),
      vault: { url: sim.url, tokenRef: secretFile(o.dir, 'fuzz-pmp.token', sim.token), caFile: sim.caFile },
      maxInFlight: 1024,
      logLevel: 'warn',
    },
    { waitReady: (p) => cloud.waitForHello(15_000, p.startedAt) },
  );

  const f = {
    seed: o.seed,
    requested: o.frames,
    sent: 0,
    kinds: {},
    commandsExpectingResult: 0,
    answered: 0,
    unanswered: 0,
    answeredTwice: 0,
    answeredTwiceDuplicated: 0,
    answeredTwiceAlteredDuplicate: 0,
    resultsForUnknownIds: 0,
    lostWithConnection: 0,
    notSent: 0,
    codes: {},
    violationsSent: 0,
    expectedCloses: {},
    unexpectedCloses: {},
    reconnects: 0,
    finalCommandAnswered: false,
  };
  /** id → results received; ids still at 0 are outstanding. */
  const results = new Map();
  let outstanding = new Set();
  /** Ids sent more than once (an original and its duplicates): to tell their double answers apart. */
  const duplicated = new Set();
  const alteredDuplicate = new Set();
  cloud.onFrame((msg) => {
    if (msg?.type !== 'result') return;
    count(f.codes, msg.ok === true ? 'ok' : String(msg.error?.code));
    const n = results.get(msg.id);
    if (n === undefined) {
      f.resultsForUnknownIds++;
      return;
    }
    results.set(msg.id, n + 1);
    if (n === 0) {
      f.answered++;
      outstanding.delete(msg.id);
    } else if (n === 1) {
      f.answeredTwice++;
      if (duplicated.has(msg.id)) f.answeredTwiceDuplicated++;
      if (alteredDuplicate.has(msg.id)) f.answeredTwiceAlteredDuplicate++;
    }
  });

  let closesSeen = 0;
  let helloCount = cloud.hellos.length;
  let connViolations = 0;
  const expectClose = new Map(); // close code → how many are expected
  /** Accounts for closes and reconnects since the last look. */
  const observe = () => {
    while (closesSeen < cloud.closes.length) {
      const { code } = cloud.closes[closesSeen++];
      if ((expectClose.get(code) ?? 0) > 0) {
        expectClose.set(code, expectClose.get(code) - 1);
        count(f.expectedCloses, code);
      } else count(f.unexpectedCloses, code);
      // Results of commands on a closed connection are dropped by contract (section 5).
      f.lostWithConnection += outstanding.size;
      for (const id of outstanding) results.delete(id);
      outstanding = new Set();
    }
    if (cloud.hellos.length !== helloCount) {
      f.reconnects += cloud.hellos.length - helloCount;
      helloCount = cloud.hellos.length;
      connViolations = 0;
    }
  };
  const ensureConnected = async () => {
    observe();
    if (!gw.alive) {
      log(`  fuzz: the gateway exited (${JSON.stringify(gw.proc.exitCode ?? gw.proc.signalCode)}); restarting it`);
      await gw.restart();
    }
    if (!cloud.connected()) await until(() => cloud.connected(), RECONNECT_WAIT_MS);
    observe();
    return cloud.connected();
  };
  const drain = (ms) => until(() => (observe(), outstanding.size === 0 || !gw.alive), ms, 5);

  /** 10 violations on purpose: the connection must close with 4000 and come back. */
  const flood = async () => {
    await drain(drainMs);
    if (!(await ensureConnected())) return;
    expectClose.set(4000, (expectClose.get(4000) ?? 0) + 1);
    for (let i = 0; i < 10; i++) {
      const v = gen.violation();
      cloud.sendRaw(v.text);
      f.violationsSent++;
      f.sent++;
      count(f.kinds, 'flood-violation');
    }
    const before = cloud.hellos.length;
    await until(() => cloud.hellos.length > before, RECONNECT_WAIT_MS);
    observe();
  };

  const started = performance.now();
  const floodAt = Array.from({ length: floods }, (_, i) => Math.floor((o.frames * (i + 1)) / (floods + 1)));
  let lastReport = started;
  while (f.sent < o.frames && performance.now() - started < budgetMs) {
    // A flood is due at its share of the frames or of the time budget, whichever comes first.
    if (floodAt.length > 0 && (f.sent >= floodAt[0] || performance.now() - started >= (budgetMs * (floods - floodAt.length + 1)) / (floods + 1))) {
      floodAt.shift();
      await flood();
      continue;
    }
    if (!(await ensureConnected())) break;
    let batch = 0;
    while (batch < 64 && outstanding.size < window && f.sent < o.frames) {
      const group = gen.next({ allowViolation: connViolations < VIOLATIONS_PER_CONNECTION });
      for (const frame of group) {
        if (!cloud.sendRaw(frame.text)) {
          f.notSent++;
          continue;
        }
        f.sent++;
        batch++;
        count(f.kinds, frame.kind);
        if (frame.violation) {
          connViolations++;
          f.violationsSent++;
        }
        if (frame.dupOf !== undefined) duplicated.add(frame.dupOf);
        if (frame.kind === 'altered-duplicate') alteredDuplicate.add(frame.dupOf);
        if (frame.answerId !== null) {
          f.commandsExpectingResult++;
          results.set(frame.answerId, 0);
          outstanding.add(frame.answerId);
        }
      }
    }
    if (outstanding.size >= window) await until(() => (observe(), outstanding.size < window / 2 || !gw.alive || !cloud.connected()), drainMs, 2);
    else await new Promise((r) => setImmediate(r));
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      log(`  fuzz: ${f.sent} frames sent, ${f.answered} answered, ${outstanding.size} outstanding`);
    }
  }
  await drain(drainMs);
  observe();

  // Frames that close the connection by contract, then one command that must still be answered.
  for (const c of CLOSING_FRAMES) {
    if (!(await ensureConnected())) break;
    expectClose.set(c.closeCode, (expectClose.get(c.closeCode) ?? 0) + 1);
    const before = cloud.hellos.length;
    cloud.sendRaw(c.data, { binary: c.binary });
    f.sent++;
    count(f.kinds, c.kind);
    await until(() => cloud.hellos.length > before, RECONNECT_WAIT_MS);
    observe();
  }
  if (await ensureConnected()) {
    const last = gen.validCommand();
    results.set(last.id, 0);
    outstanding.add(last.id);
    f.commandsExpectingResult++;
    cloud.sendRaw(JSON.stringify(last));
    f.sent++;
    await drain(drainMs);
    f.finalCommandAnswered = results.get(last.id) === 1;
  }
  observe();
  f.unanswered = outstanding.size;
  f.closesMissing = [...expectClose.entries()].filter(([, n]) => n > 0).map(([code, n]) => ({ code, n }));
  f.elapsedMs = performance.now() - started;
  const g = await gw.figures();
  await gw.stop();
  await cloud.close();
  await sim.close();
  return { ...f, crashes: g.crashes, exits: g.exits, rssPeakMiB: g.rssPeakMiB, loopDelayMaxMs: g.loopDelayMaxMs, loopDelaySource: g.loopDelaySource };
}
