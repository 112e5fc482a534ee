/**
 * Prometheus metrics of the online store's materializer, created once per
 * registry like the runtime's.
 *
 * @example
 * ```ts
 * const metrics = materializerMetrics(platform.metrics);
 * metrics.records.inc({ namespace: 'blue', topic }, batch.length);
 * ```
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { onePerRegistry } from '../observability/per-registry.js';

export interface MaterializerMetrics {
  readonly records: Counter<'namespace' | 'topic'>;
  readonly writes: Counter<'namespace' | 'result'>;
  readonly lag: Gauge<'namespace' | 'topic' | 'partition'>;
}

export const materializerMetrics = onePerRegistry((registry: Registry): MaterializerMetrics => {
  const registers = [registry];
  const metrics: MaterializerMetrics = {
    records: new Counter({
      name: 'recstream_materializer_records_total',
      help: 'changelog records read by the online-store materializer',
      labelNames: ['namespace', 'topic'],
      registers,
    }),
    writes: new Counter({
      name: 'recstream_materializer_writes_total',
      help: 'versioned writes sent to the online store, by result (applied, skipped: not newer)',
      labelNames: ['namespace', 'result'],
      registers,
    }),
    lag: new Gauge({
      name: 'recstream_materializer_lag_records',
      help: 'changelog end offset minus the materializer position, per partition',
      labelNames: ['namespace', 'topic', 'partition'],
      registers,
    }),
  };
  return metrics;
});
