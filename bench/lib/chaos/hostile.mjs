// Chaos scenario "hostile-vault": a real `credgw run` whose vault profile
// points at the hostile server (hostile-vault.mjs). One getPassword per
// case: its result must be an error code (not INTERNAL, not a success)
// within the command's timeoutMs plus a grace; the gateway's peak RSS over
// all cases is measured; at the end its stdout/stderr, its audit trail and
// every result frame are searched for the AUTHTOKEN the server echoed.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { secretFile } from '../env.mjs';
import { startBenchCloud } from '../cloud.mjs';
import { SIM_RESOURCE } from './frames.mjs';
import { HOSTILE_CASES, startHostileVault } from './hostile-vault.mjs';
import { startWatchedGateway } from './watched-gateway.mjs';

/** Occurrences of `needle` in `text`. */
function occurrences(text, needle) {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

/**
 * @param {{ dir: string, bodyMiB?: number, timeoutMs?: number, graceMs?: number,
 *           cases?: string[], log?: (line: string) => void }} o
 */
export async function runHostileVault(o) {
  const log = o.log ?? (() => undefined);
  const timeoutMs = o.timeoutMs ?? 2000;
  const graceMs = o.graceMs ?? 1000;
  const names = o.cases ?? HOSTILE_CASES.map((c) => c.name);
  const vault = await startHostileVault({ bodyMiB: o.bodyMiB ?? 100, streamMs: timeoutMs * 5 + 10_000 });
  const caFile = join(o.dir, 'hostile-pmp.pem');
  writeFileSync(caFile, vault.certPem);
  const pmpToken = `chaos-pmp-${randomBytes(12).toString('hex')}-TOKEN`;
  const ctlToken = `chaos-ctl-${randomBytes(12).toString('hex')}`;
  const cloud = await startBenchCloud({ token: ctlToken, heartbeatMs: 1000, role: 'active', epoch: 1 });
  const gw = await startWatchedGateway(
    o.dir,
    {
      gatewayId: 'chaos-hostile',
      clusterId: 'chaos',
      controllerUrl: cloud.url,
      controllerTokenRef: secretFile(o.dir, 'hostile-controller.token', ctlToken),
      vault: { url: vault.url, tokenRef: secretFile(o.dir, 'hostile-pmp.token', pmpToken), caFile },
      // The vault call's own time-out is longer than the command's: the deadline must still hold.
      vaultTimeoutMs: timeoutMs * 5,
      // The most talkative level: a token in any log line must be found.
      logLevel: 'debug',
    },
    { waitReady: (p) => cloud.waitForHello(15_000, p.startedAt) },
  );

  const cases = [];
  const resultTexts = [];
  for (const name of names) {
    if (!gw.alive) {
      log(`  hostile-vault: the gateway exited; restarting it for ${name}`);
      await gw.restart();
    }
    vault.setCase(name);
    // The last case's aborted connections close first, so this case's request starts on a live one.
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    // Waiting past the deadline plus a long margin still ends: a missing result is reported as such.
    const giveUp = new Promise((resolve) => setTimeout(() => resolve('NO_RESULT'), timeoutMs + graceMs + 10_000).unref());
    const answer = cloud
      .send('getPassword', { vault: 'pmp', resource: SIM_RESOURCE, accountId: '902', ticketId: 'CHAOS-1', reason: 'hostile vault' }, timeoutMs)
      .then(
        (data) => {
          resultTexts.push(JSON.stringify(data));
          return 'ok';
        },
        (err) => {
          if (err.result) resultTexts.push(JSON.stringify(err.result));
          return err.code ?? `NO_RESULT (${err.message})`;
        },
      );
    const code = await Promise.race([answer, giveUp]);
    const ms = performance.now() - t0;
    const inTime = ms <= timeoutMs + graceMs;
    const isErrorCode = code !== 'ok' && code !== 'INTERNAL' && !code.startsWith('NO_RESULT');
    cases.push({ name, code, ms, deadlineMs: timeoutMs, inTime, ok: inTime && isErrorCode });
    log(`  hostile-vault ${name}: ${code} after ${Math.round(ms)} ms${inTime ? '' : ' (late)'}`);
  }
  const g = await gw.figures();
  await gw.stop();
  await cloud.close();
  await vault.close();
  const { log: output, audit } = gw.readOutput();
  const tokenHits = {
    output: occurrences(output, pmpToken),
    audit: occurrences(audit, pmpToken),
    results: occurrences(resultTexts.join('\n'), pmpToken),
  };
  return {
    cases,
    casesFailed: cases.filter((c) => !c.ok).length,
    tokenHits,
    tokenHitsTotal: tokenHits.output + tokenHits.audit + tokenHits.results,
    vaultRequests: vault.requests,
    crashes: g.crashes,
    exits: g.exits,
    rssPeakMiB: g.rssPeakMiB,
    loopDelayMaxMs: g.loopDelayMaxMs,
  };
}
