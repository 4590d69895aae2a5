import CounterClass from 'prom-client/lib/counter.js';
import GaugeClass from 'prom-client/lib/gauge.js';
import RegistryClass from 'prom-client/lib/registry.js';

/**
 * The prom-client classes the gateway uses, from their own modules rather
 * than prom-client's index, which also loads the Pushgateway (http, https,
 * zlib), the cluster aggregator, Summary and the default process metrics
 * (with @opentelemetry/api), all on the daemon's start path
 * (docs/benchmarks.md, session 7). They are the very classes
 * `import { Registry } from 'prom-client'` gives (a unit test checks).
 */
export const Registry = RegistryClass;
export type Registry = RegistryClass;
export const Counter = CounterClass;
export type Counter<T extends string = string> = CounterClass<T>;
export const Gauge = GaugeClass;
export type Gauge<T extends string = string> = GaugeClass<T>;

/** prom-client's default process metrics (CPU, memory, event loop, GC), loaded when first wanted. */
export async function loadCollectDefaultMetrics(): Promise<typeof import('prom-client').collectDefaultMetrics> {
  return (await import('prom-client/lib/defaultMetrics.js')).default;
}
