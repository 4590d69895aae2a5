import * as promClient from 'prom-client';
import { Counter, Gauge, loadCollectDefaultMetrics, Registry } from '../../../src/telemetry/prom-client-parts.js';
import { Metrics } from '../../../src/telemetry/index.js';

describe('prom-client parts loaded by module path', () => {
  it('are the very classes and function prom-client exports (a prom-client update that moves them fails here)', async () => {
    expect(Registry).toBe(promClient.Registry);
    expect(Counter).toBe(promClient.Counter);
    expect(Gauge).toBe(promClient.Gauge);
    expect(await loadCollectDefaultMetrics()).toBe(promClient.collectDefaultMetrics);
  });

  it('the default process metrics appear from the first render, and not at all when off', async () => {
    expect(await new Metrics().render()).toMatch(/^process_cpu_user_seconds_total /m);
    expect(await new Metrics({ processMetrics: false }).render()).not.toMatch(/process_cpu_user_seconds_total/);
  });
});
