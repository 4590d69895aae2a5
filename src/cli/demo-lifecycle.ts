import type { EventSource, GetPasswordParams, ResourceRef } from '../protocol/index.js';
import { sleep, type Clock } from '../shared/index.js';
import type { StoredEvent } from '../sim/controller/index.js';
import type { RotationResult } from '../sim/pmp/index.js';
import type { ControllerApi, EventsAnswer } from './demo-api.js';
import {
  COMMAND_TIMEOUT_MS,
  DEMO_ACCOUNT_APPROVAL,
  DEMO_APPROVER,
  DEMO_ATTRIBUTE,
  DEMO_CLUSTER,
  DEMO_RESOURCE_NAME,
  DEMO_ROTATED,
  DEMO_TICKET_ID,
  DEMO_VAULT,
  GATEWAYS,
  apiFailure,
  command,
  passwordOf,
  shown,
  type DemoContext,
  type Started,
} from './demo-context.js';
import { writeNotifyConf } from './demo-notices.js';
import { formatMs } from './demo-output.js';
import { DemoFailure } from './demo-step-runner.js';
import type { ManagedProcess } from './demo-supervisor.js';

/**
 * The vault's lifecycle in the demo (protocol sections 10 and 11). A
 * rotation: the simulator rotates a password as PAM360 does on schedule,
 * runs the reset-listener script (when the demo found it) and sends its
 * audit line to both gateways' syslog receivers; each gateway names the
 * change by one id whichever way it heard of it, and the controller stores
 * one `credentialRotated`. An approval: a getPassword with `requestAccess`
 * on an account behind access control waits (APPROVAL_PENDING), an
 * approver approves in the simulator, the password is released, and
 * checked in.
 */

/** How often the controller's events are polled. */
const POLL_MS = 25;

export async function rotation(ctx: DemoContext, s: Started): Promise<void> {
  const { runner, opts } = ctx;
  const { notices } = s;
  await runner.step('rotation → event', async (signal) => {
    // The script checks each gateway by the pin its listener printed when it started.
    const pins = new Map<string, string>();
    for (const g of GATEWAYS) pins.set(g.id, String(logFields(await gateway(s, g.id).waitForLine(/"msg":"notice listener listening"/, signal))['pin']));
    writeNotifyConf(notices, pins);

    const startedAt = opts.clock.now();
    const result = await s.sim.rotate({ resourceName: DEMO_ROTATED.resourceName, accountName: DEMO_ROTATED.accountName, reason: 'Scheduled password rotation (credgw demo)' }, signal);
    checkSetOff(result, notices.script !== null);
    const sources: EventSource[] = notices.script ? ['listener', 'syslog'] : ['syslog'];
    // Every gateway records the change from every source, under one id.
    const recorded = await Promise.all(
      GATEWAYS.flatMap((g) => sources.map(async (source) => ({ gatewayId: g.id, source, eventId: await noticeRecorded(gateway(s, g.id), source, signal) }))),
    );
    const ids = [...new Set(recorded.map((r) => r.eventId))];
    if (ids.length !== 1) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `one change got ${ids.length} event ids: ${recorded.map((r) => `${r.gatewayId} ${r.source} ${r.eventId}`).join(', ')}`);
    const id = ids[0]!;
    // Stored once; the other gateway's copy is a repeat the controller drops by id.
    const page = await pollEvents(s.api, opts.clock, signal, (p) => (p.events.some((e) => e.id === id) && p.counts.repeats >= GATEWAYS.length - 1 ? p : undefined));
    const forChange = page.events.filter((e) => e.name === 'credentialRotated' && e.data.vault === DEMO_VAULT && e.data.resourceName === DEMO_ROTATED.resourceName && e.data.accountName === DEMO_ROTATED.accountName);
    if (forChange.length !== 1 || forChange[0]!.id !== id) {
      throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `the controller holds ${forChange.length} credentialRotated events for ${DEMO_ROTATED.resourceName}/${DEMO_ROTATED.accountName} (expected one, ${id})`);
    }
    const event = forChange[0]!;
    // The controller's own time of the store (same host): the poll only finds it later.
    const storedMs = Math.max(0, Date.parse(event.receivedAt) - startedAt);
    const repeats = page.counts.repeats;
    const how = notices.script
      ? `reset listener ${notices.script.from} (exit ${result.listener[0]?.exitCode}) and syslog over TCP to both gateways`
      : `syslog over TCP to both gateways (no reset listener: ${notices.scriptWhyNot})`;
    return {
      value: undefined,
      summary: `${DEMO_ROTATED.resourceName} / ${DEMO_ROTATED.accountName} rotated in the simulator → one credentialRotated stored at the controller ${formatMs(storedMs)} after the rotation began, ${repeats} later cop${repeats === 1 ? 'y' : 'ies'} dropped by id`,
      details: [
        `the vault set off: ${how}`,
        `each gateway, each source → one id: ${GATEWAYS.map((g) => `${g.id} ${recorded.filter((r) => r.gatewayId === g.id).map((r) => r.source).join('+')}`).join(', ')} → ${id}`,
        `stored: ${describeEvent(event)}`,
      ],
    };
  });
}

export async function approval(ctx: DemoContext, s: Started): Promise<void> {
  const { runner, opts } = ctx;
  const account = DEMO_ACCOUNT_APPROVAL;
  const resource: ResourceRef = { id: 'demo-vm-17', customAttributes: { [DEMO_ATTRIBUTE]: DEMO_RESOURCE_NAME } };
  const who = { ticketId: DEMO_TICKET_ID, requestedBy: 'demo.user@example.com' };
  const params: GetPasswordParams = { vault: DEMO_VAULT, resource, accountId: account.id, reason: 'Emergency console access (credgw demo)', requestAccess: true, ...who };
  const label = `${account.name} (${account.id})`;
  const stateOf = async (requestId: string, signal: AbortSignal): Promise<string> => (await s.sim.requests(signal)).find((r) => r.requestId === requestId)?.state ?? 'not listed';

  const requestId = await runner.step('access request', async (signal) => {
    const answer = await s.api.submit(DEMO_CLUSTER, { name: 'getPassword', params }, COMMAND_TIMEOUT_MS, signal);
    if (answer.kind !== 'result') throw apiFailure(answer);
    const body = answer.body;
    if (body.ok) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `${label} was served before any approval`);
    const { code, retryable, retryAfterMs } = body.error;
    if (code !== 'APPROVAL_PENDING' || !retryable || typeof retryAfterMs !== 'number') {
      throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `expected APPROVAL_PENDING (retryable, with retryAfterMs), got ${code}: ${body.error.message}`);
    }
    const waiting = (await s.sim.requests(signal)).filter((r) => r.accountId === account.id && r.state === 'pending');
    if (waiting.length !== 1) throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `the simulator shows ${waiting.length} pending requests for ${label}`);
    const req = waiting[0]!;
    return {
      value: req.requestId,
      summary: `${label} with requestAccess → ${code} (retryable, retryAfterMs ${retryAfterMs}); PAM360 request ${req.requestId} raised for "${req.reason}", waits for an approver · by ${body.gatewayId}`,
    };
  });

  await runner.step('approved → released', async (signal) => {
    await s.sim.approve(account.id, DEMO_APPROVER, signal);
    const body = await command(s.api, { name: 'getPassword', params }, signal);
    const pw = passwordOf(body);
    return {
      value: undefined,
      summary: `${DEMO_APPROVER} approves request ${requestId} (the simulator's admin call, as in PAM360's UI) → getPassword ${account.name} → ${shown(opts, pw)}, request ${await stateOf(requestId, signal)} · by ${body.gatewayId}`,
    };
  });

  await runner.step('checkInPassword', async (signal) => {
    const body = await command(s.api, { name: 'checkInPassword', params: { vault: DEMO_VAULT, resource, accountId: account.id, reason: 'Console session ended (credgw demo)', ...who } }, signal);
    const state = await stateOf(requestId, signal);
    if (state !== 'checkedIn') throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `request ${requestId} is ${state} after the check-in`);
    return { value: undefined, summary: `${label} given back → ok; request ${requestId} ${state} · by ${body.gatewayId}` };
  });
}

function gateway(s: Started, id: string): ManagedProcess {
  const p = s.procs.get(id);
  if (!p) throw new DemoFailure('DEMO_NOT_READY', `${id} was not started`);
  return p;
}

/** What a rotation must have set off in the simulator: the listener ran and succeeded (when used), the line reached every collector. */
function checkSetOff(r: RotationResult, listenerUsed: boolean): void {
  const run = r.listener[0];
  if (listenerUsed && (run === undefined || run.exitCode !== 0)) {
    const how = run === undefined ? 'did not run' : run.error ? `could not start (${run.error})` : run.signal ? `was killed by ${run.signal}` : `exited ${run.exitCode} (no gateway took its notice)`;
    throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `the reset listener ${how}`);
  }
  const unsent = r.syslog.filter((d) => !d.sent);
  if (r.syslog.length !== GATEWAYS.length || unsent.length > 0) {
    throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `the syslog line did not reach every gateway: ${unsent.map((d) => `${d.target} ${d.error ?? ''}`).join(', ') || `${r.syslog.length} collectors`}`);
  }
}

/** The id of the gateway's "rotation notice recorded" line for the rotated account from `source` (syslog lines name their transport). */
async function noticeRecorded(p: ManagedProcess, source: EventSource, signal: AbortSignal): Promise<string> {
  const about = `(?=.*"msg":"rotation notice recorded")(?=.*"accountName":"${DEMO_ROTATED.accountName}")`;
  const pattern = new RegExp(source === 'syslog' ? `^${about}(?=.*"transport":)` : `^${about}(?!.*"transport":)`);
  const id = logFields(await p.waitForLine(pattern, signal))['eventId'];
  if (typeof id !== 'string') throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `${p.name} recorded a notice without an event id`);
  return id;
}

/** A gateway's JSON log line, parsed. */
function logFields(m: RegExpExecArray): Record<string, unknown> {
  try {
    return JSON.parse(m.input) as Record<string, unknown>;
  } catch {
    throw new DemoFailure('DEMO_UNEXPECTED_RESULT', `a gateway log line is not JSON: ${m.input.slice(0, 120)}`);
  }
}

/** Polls the cluster's events through the API until `until` returns a value. */
async function pollEvents<T>(api: ControllerApi, clock: Clock, signal: AbortSignal, until: (p: EventsAnswer) => T | undefined): Promise<T> {
  for (;;) {
    const v = until(await api.events(DEMO_CLUSTER, signal));
    if (v !== undefined) return v;
    await sleep(clock, POLL_MS, signal);
  }
}

/** One line of a stored event: every field it has (it has no password field: the protocol refuses one). */
function describeEvent(e: StoredEvent): string {
  const d = e.data;
  const resource = [d.resourceId, d.resourceName, d.dnsName ? `(${d.dnsName})` : undefined].filter(Boolean).join(' ');
  const account = [d.accountId, d.accountName].filter(Boolean).join(' ');
  return `#${e.seq} ${e.name} ${e.id} · vault ${d.vault} · resource ${resource} · account ${account} · rotatedAt ${d.rotatedAt} · source ${d.source} · first from ${e.gatewayId}`;
}
