import type { Metric, Registry } from 'prom-client';

/**
 * A labelled counter and histogram for the per-command hot path, exposed
 * through prom-client's registry exactly as prom-client's own Counter and
 * Histogram would be (same names, types, label order, bucket lines).
 *
 * Why not prom-client's classes: every inc()/observe() there validates the
 * label object, hashes it into a string and looks the series up, four
 * times per command (docs/benchmarks.md#why-the-hot-path-looks-as-it-does).
 * Here a caller keeps the series object of a label set (`series(...)`) and
 * updating it is a field write; the label work happens once per label set,
 * and the exposition is built only when Prometheus scrapes.
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

/** Values in the shape prom-client's registry renders (MetricObjectWithValues). */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: MetricValue[];
}

abstract class LabeledMetric<L extends string, S extends { readonly labels: Labels<L> }> {
  readonly aggregator = 'sum' as const;
  protected seriesByKey = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    registers: readonly Registry[],
  ) {
    // The registry only reads name, type, help, aggregator, get() and reset().
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The series of one label set, created at zero on first use. Keep it: updating it costs no lookup. */
  series(labels: Labels<L>): S {
    const key = this.key(labels);
    let s = this.seriesByKey.get(key);
    if (!s) {
      for (const name of Object.keys(labels)) {
        if (!(this.labelNames as readonly string[]).includes(name)) {
          throw new Error(`Added label "${name}" is not included in initial labelset: ${JSON.stringify(this.labelNames)}`);
        }
      }
      s = this.create({ ...labels });
      this.seriesByKey.set(key, s);
    }
    return s;
  }

  /** Stops exporting one label set (its counts are lost). */
  remove(labels: Labels<L>): void {
    this.seriesByKey.delete(this.key(labels));
  }

  reset(): void {
    this.seriesByKey = new Map();
  }

  protected abstract create(labels: Labels<L>): S;

  private key(labels: Labels<L>): string {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name] ?? ''}\u0000`;
    return key;
  }
}

export class CounterSeries<L extends string> {
  value = 0;
  constructor(readonly labels: Labels<L>) {}

  inc(by = 1): void {
    if (!Number.isFinite(by) || by < 0) throw new Error(`It is not possible to decrease a counter (or add ${by})`);
    this.value += by;
  }
}

export class LabeledCounter<L extends string> extends LabeledMetric<L, CounterSeries<L>> {
  readonly type = 'counter' as const;

  inc(labels: Labels<L>, by = 1): void {
    this.series(labels).inc(by);
  }

  get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    for (const s of this.seriesByKey.values()) values.push({ value: s.value, labels: { ...s.labels } });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  protected create(labels: Labels<L>): CounterSeries<L> {
    return new CounterSeries(labels);
  }
}

export class HistogramSeries<L extends string> {
  sum = 0;
  count = 0;
  /** Observations per bucket (not cumulative); index i counts values ≤ upperBounds[i] and > the bound before. */
  readonly buckets: Float64Array;

  constructor(
    readonly labels: Labels<L>,
    private readonly upperBounds: readonly number[],
  ) {
    this.buckets = new Float64Array(upperBounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.buckets[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class LabeledHistogram<L extends string> extends LabeledMetric<L, HistogramSeries<L>> {
  readonly type = 'histogram' as const;
  private readonly upperBounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[], registers: readonly Registry[]) {
    super(name, help, labelNames, registers);
    this.upperBounds = Object.freeze([...buckets].sort((a, b) => a - b));
  }

  observe(labels: Labels<L>, value: number): void {
    this.series(labels).observe(value);
  }

  get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.seriesByKey.values()) {
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.buckets[i]!;
        values.push({ value: acc, labels: { le: this.upperBounds[i]!, ...s.labels }, metricName: bucketName });
      }
      values.push({ value: s.count, labels: { le: '+Inf', ...s.labels }, metricName: bucketName });
      values.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  protected create(labels: Labels<L>): HistogramSeries<L> {
    return new HistogramSeries(labels, this.upperBounds);
  }
}
