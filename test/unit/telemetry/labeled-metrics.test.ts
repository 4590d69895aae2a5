import { describe, expect, it } from '@jest/globals';
import { Counter, Histogram, Registry } from 'prom-client';
import { LabeledCounter, LabeledHistogram } from '../../../src/telemetry/labeled-metrics.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const VALUES = [0, 0.0004, 0.001, 0.0011, 0.003, 0.0099, 0.5, 0.51, 9.99, 10, 11, 250];

/** The same observations through prom-client's classes and ours, on separate registries. */
type CallLabels = Record<'vault' | 'operation' | 'outcome', string>;
type SecondsLabels = Record<'vault' | 'operation', string>;

async function both(feed: (c: { inc(l: CallLabels): void }, h: { observe(l: SecondsLabels, v: number): void }) => void) {
  const theirs = new Registry();
  const ours = new Registry();
  const pc = new Counter({ name: 'x_total', help: 'a counter', labelNames: ['vault', 'operation', 'outcome'], registers: [theirs] });
  const ph = new Histogram({ name: 'x_seconds', help: 'a "histogram"\nwith help', labelNames: ['vault', 'operation'], buckets: BUCKETS, registers: [theirs] });
  const lc = new LabeledCounter('x_total', 'a counter', ['vault', 'operation', 'outcome'], [ours]);
  const lh = new LabeledHistogram('x_seconds', 'a "histogram"\nwith help', ['vault', 'operation'], BUCKETS, [ours]);
  feed({ inc: (l) => pc.inc(l) }, { observe: (l, v) => ph.observe(l, v) });
  feed({ inc: (l) => lc.inc(l) }, { observe: (l, v) => lh.observe(l, v) });
  return { theirs: await theirs.metrics(), ours: await ours.metrics(), pc, ph, lc, lh, theirsRegistry: theirs, oursRegistry: ours };
}

describe('LabeledCounter and LabeledHistogram', () => {
  it('render exactly what prom-client renders for the same observations', async () => {
    const { theirs, ours } = await both((c, h) => {
      for (const v of VALUES) {
        h.observe({ vault: 'pmp-prod', operation: 'getPassword' }, v);
        c.inc({ vault: 'pmp-prod', operation: 'getPassword', outcome: v > 5 ? 'VAULT_TIMEOUT' : 'ok' });
      }
      h.observe({ operation: 'probe', vault: 'pmp "dr"\\' }, 0.02);
      c.inc({ outcome: 'aborted', operation: 'probe', vault: 'pmp "dr"\\' });
    });
    expect(ours).toBe(theirs);
    expect(ours).toContain('x_seconds_bucket{le="0.001",vault="pmp-prod",operation="getPassword"} 3');
    expect(ours).toContain('x_seconds_bucket{le="+Inf",vault="pmp-prod",operation="getPassword"} 12');
  });

  it('render nothing but the header before the first observation, like prom-client', async () => {
    const { theirs, ours } = await both(() => undefined);
    expect(ours).toBe(theirs);
  });

  it('a kept series object updates the metric; remove() drops a label set as prom-client does', async () => {
    const { lc, lh, pc, ph, theirsRegistry, oursRegistry } = await both(() => undefined);
    const count = lc.series({ vault: 'a', operation: 'probe', outcome: 'ok' });
    const seconds = lh.series({ vault: 'a', operation: 'probe' });
    count.inc();
    count.inc(2);
    seconds.observe(0.004);
    lh.observe({ vault: 'b', operation: 'probe' }, 1);
    lc.inc({ vault: 'b', operation: 'probe', outcome: 'ok' });
    pc.inc({ vault: 'a', operation: 'probe', outcome: 'ok' }, 3);
    ph.observe({ vault: 'a', operation: 'probe' }, 0.004);
    ph.observe({ vault: 'b', operation: 'probe' }, 1);
    pc.inc({ vault: 'b', operation: 'probe', outcome: 'ok' });
    lh.remove({ vault: 'b', operation: 'probe' });
    ph.remove({ vault: 'b', operation: 'probe' });
    lc.remove({ vault: 'b', operation: 'probe', outcome: 'ok' });
    pc.remove({ vault: 'b', operation: 'probe', outcome: 'ok' });
    expect(await oursRegistry.metrics()).toBe(await theirsRegistry.metrics());
    expect(await oursRegistry.metrics()).not.toContain('vault="b"');
  });

  it('refuses what prom-client refuses: unknown labels, non-finite observations, decrements', () => {
    const reg = new Registry();
    const lc = new LabeledCounter('y_total', 'c', ['name'], [reg]);
    const lh = new LabeledHistogram('y_seconds', 'h', ['name'], BUCKETS, [reg]);
    expect(() => lc.inc({ name: 'a', other: 'b' } as unknown as { name: string })).toThrow('not included in initial labelset');
    expect(() => lh.observe({ name: 'a' }, Number.NaN)).toThrow(TypeError);
    expect(() => lc.inc({ name: 'a' }, -1)).toThrow('not possible to decrease');
    expect(() => new LabeledCounter('y_total', 'again', ['name'], [reg])).toThrow('already been registered');
  });
});
