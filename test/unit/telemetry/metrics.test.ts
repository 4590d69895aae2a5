import { describe, expect, it } from '@jest/globals';
import { LINK_STATES } from '../../../src/link/link-state.js';
import { LATENCY_BUCKETS_SECONDS, LINK_STATE_LABELS, Metrics, ROLE_LABELS } from '../../../src/telemetry/metrics.js';

/** The value of one sample line `name{labels} value` (labels in prom-client's order). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Metrics', () => {
  it('counts commands by name and outcome, with a latency histogram by name', async () => {
    const m = new Metrics({ processMetrics: false });
    m.commandCompleted({ name: 'getPassword', outcome: 'ok', durationMs: 3 });
    m.commandCompleted({ name: 'getPassword', outcome: 'ok', durationMs: 40 });
    m.commandCompleted({ name: 'getPassword', outcome: 'VAULT_TIMEOUT', durationMs: 10_000 });
    m.commandCompleted({ name: 'listAccounts', outcome: 'ok', durationMs: 0.5 });
    m.commandCompleted({ name: null, outcome: 'BAD_REQUEST', durationMs: 0 });
    const text = await m.render();
    expect(sample(text, 'credgw_commands_total{name="getPassword",outcome="ok"}')).toBe(2);
    expect(sample(text, 'credgw_commands_total{name="getPassword",outcome="VAULT_TIMEOUT"}')).toBe(1);
    expect(sample(text, 'credgw_commands_total{name="listAccounts",outcome="ok"}')).toBe(1);
    expect(sample(text, 'credgw_commands_total{name="unknown",outcome="BAD_REQUEST"}')).toBe(1);
    expect(sample(text, 'credgw_command_duration_seconds_count{name="getPassword"}')).toBe(3);
    expect(sample(text, 'credgw_command_duration_seconds_sum{name="getPassword"}')).toBeCloseTo(10.043, 6);
    expect(sample(text, 'credgw_command_duration_seconds_bucket{le="0.005",name="getPassword"}')).toBe(1);
    expect(sample(text, 'credgw_command_duration_seconds_bucket{le="0.05",name="getPassword"}')).toBe(2);
    expect(sample(text, 'credgw_command_duration_seconds_bucket{le="10",name="getPassword"}')).toBe(3);
    expect(sample(text, 'credgw_command_duration_seconds_bucket{le="0.001",name="listAccounts"}')).toBe(1);
    expect(text).toContain('# TYPE credgw_commands_total counter');
    expect(text).toContain('# TYPE credgw_command_duration_seconds histogram');
    expect(LATENCY_BUCKETS_SECONDS[0]).toBe(0.001);
    expect(LATENCY_BUCKETS_SECONDS.at(-1)).toBe(10);
  });

  it('counts vault calls by vault, operation and outcome, and their latency', async () => {
    const m = new Metrics({ processMetrics: false });
    m.vaultCall({ vault: 'pmp-prod', operation: 'getPassword', outcome: 'ok', durationMs: 20 });
    m.vaultCall({ vault: 'pmp-prod', operation: 'getPassword', outcome: 'VAULT_UNREACHABLE', durationMs: 5 });
    m.vaultCall({ vault: 'pmp-dr', operation: 'probe', outcome: 'aborted', durationMs: 1 });
    m.vaultHealth('pmp-prod', true);
    m.vaultHealth('pmp-dr', false);
    const text = await m.render();
    expect(sample(text, 'credgw_vault_calls_total{vault="pmp-prod",operation="getPassword",outcome="ok"}')).toBe(1);
    expect(sample(text, 'credgw_vault_calls_total{vault="pmp-prod",operation="getPassword",outcome="VAULT_UNREACHABLE"}')).toBe(1);
    expect(sample(text, 'credgw_vault_calls_total{vault="pmp-dr",operation="probe",outcome="aborted"}')).toBe(1);
    expect(sample(text, 'credgw_vault_call_duration_seconds_count{vault="pmp-prod",operation="getPassword"}')).toBe(2);
    expect(sample(text, 'credgw_vault_healthy{vault="pmp-prod"}')).toBe(1);
    expect(sample(text, 'credgw_vault_healthy{vault="pmp-dr"}')).toBe(0);
  });

  it('forgetVault drops exactly that vault\'s series', async () => {
    const m = new Metrics({ processMetrics: false });
    m.vaultCall({ vault: 'old', operation: 'probe', outcome: 'ok', durationMs: 1 });
    m.vaultCall({ vault: 'keep', operation: 'probe', outcome: 'ok', durationMs: 1 });
    m.vaultHealth('old', true);
    m.policyDenied('old');
    m.forgetVault('old');
    const text = await m.render();
    expect(text).not.toContain('vault="old"');
    expect(sample(text, 'credgw_vault_calls_total{vault="keep",operation="probe",outcome="ok"}')).toBe(1);
  });

  it('shows the link state as one 1 among every known state, and counts reconnects', async () => {
    const m = new Metrics({ processMetrics: false });
    let text = await m.render();
    expect(sample(text, 'credgw_link_state{state="idle"}')).toBe(1);
    expect(sample(text, 'credgw_link_state{state="up"}')).toBe(0);
    m.linkState('connecting');
    m.linkState('up');
    m.reconnect();
    m.reconnect();
    text = await m.render();
    for (const s of LINK_STATE_LABELS) expect(sample(text, `credgw_link_state{state="${s}"}`)).toBe(s === 'up' ? 1 : 0);
    expect(sample(text, 'credgw_link_reconnects_total')).toBe(2);
  });

  it('knows every state of the link state machine', () => {
    for (const s of LINK_STATES) expect(LINK_STATE_LABELS).toContain(s);
  });

  it('shows the role and epoch', async () => {
    const m = new Metrics({ processMetrics: false });
    let text = await m.render();
    expect(sample(text, 'credgw_role{role="unknown"}')).toBe(1);
    expect(sample(text, 'credgw_epoch')).toBe(0);
    m.role('active', 8);
    text = await m.render();
    for (const r of ROLE_LABELS) expect(sample(text, `credgw_role{role="${r}"}`)).toBe(r === 'active' ? 1 : 0);
    expect(sample(text, 'credgw_epoch')).toBe(8);
  });

  it('reads in-flight from the supplied source at each scrape, and counts policy denials', async () => {
    const m = new Metrics({ processMetrics: false });
    expect(sample(await m.render(), 'credgw_commands_in_flight')).toBe(0);
    let n = 3;
    m.setInFlightSource(() => n);
    expect(sample(await m.render(), 'credgw_commands_in_flight')).toBe(3);
    n = 7;
    expect(sample(await m.render(), 'credgw_commands_in_flight')).toBe(7);
    m.setInFlightSource(() => {
      throw new Error('broken source');
    });
    expect(sample(await m.render(), 'credgw_commands_in_flight')).toBe(0);
    m.policyDenied('pmp-prod');
    m.policyDenied('pmp-prod');
    expect(sample(await m.render(), 'credgw_policy_denials_total{vault="pmp-prod"}')).toBe(2);
  });

  it('reads the admission queue depth at each scrape and observes the wait of commands that were queued', async () => {
    const m = new Metrics({ processMetrics: false });
    m.setQueuedSource(() => 12);
    m.commandCompleted({ name: 'getPassword', outcome: 'ok', durationMs: 40 });
    m.commandCompleted({ name: 'getPassword', outcome: 'ok', durationMs: 400, queuedMs: 300 });
    const text = await m.render();
    expect(sample(text, 'credgw_commands_queued')).toBe(12);
    expect(sample(text, 'credgw_command_queue_wait_seconds_count')).toBe(1);
    expect(sample(text, 'credgw_command_queue_wait_seconds_sum')).toBe(0.3);
    expect(sample(text, 'credgw_command_queue_wait_seconds_bucket{le="0.25"}')).toBe(0);
    expect(sample(text, 'credgw_command_queue_wait_seconds_bucket{le="0.5"}')).toBe(1);
  });

  it('uses a private registry: two instances do not collide; info and process metrics are optional', async () => {
    const a = new Metrics({ processMetrics: false, info: { version: '1.2.3', gatewayId: 'gw-a', clusterId: 'site-1' } });
    const b = new Metrics({ processMetrics: true });
    a.reconnect();
    const ta = await a.render();
    const tb = await b.render();
    expect(sample(ta, 'credgw_link_reconnects_total')).toBe(1);
    expect(sample(tb, 'credgw_link_reconnects_total')).toBe(0);
    expect(sample(ta, 'credgw_info{version="1.2.3",gateway_id="gw-a",cluster_id="site-1"}')).toBe(1);
    expect(ta).not.toContain('process_cpu_user_seconds_total');
    expect(tb).toContain('process_cpu_user_seconds_total');
    expect(tb).toContain('nodejs_eventloop_lag_seconds');
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});
