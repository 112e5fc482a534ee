/**
 * Prometheus metrics of the producer client, created once per registry so
 * several producers in one process (ingest, simulator) share the series.
 *
 * @example
 * ```ts
 * const metrics = producerMetrics(platform.metrics);
 * metrics.records.inc({ topic: 'rec.interactions' }, 100);
 * ```
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { onePerRegistry } from '../observability/per-registry.js';

export interface ProducerMetrics {
  readonly records: Counter<'topic'>;
  readonly batches: Counter<'topic'>;
  readonly retries: Counter<'topic'>;
  readonly failed: Counter<'topic'>;
  readonly buffered: Gauge;
}

export const producerMetrics = onePerRegistry((registry: Registry): ProducerMetrics => {
  const registers = [registry];
  const metrics: ProducerMetrics = {
    records: new Counter({
      name: 'recstream_producer_records_total',
      help: 'records the producer appended and the log acknowledged',
      labelNames: ['topic'],
      registers,
    }),
    batches: new Counter({
      name: 'recstream_producer_batches_total',
      help: 'acknowledged appends (one per partition batch)',
      labelNames: ['topic'],
      registers,
    }),
    retries: new Counter({
      name: 'recstream_producer_retries_total',
      help: 'appends retried after a retriable error',
      labelNames: ['topic'],
      registers,
    }),
    failed: new Counter({
      name: 'recstream_producer_failed_records_total',
      help: 'records whose append failed for good (non-retriable error or delivery timeout)',
      labelNames: ['topic'],
      registers,
    }),
    buffered: new Gauge({
      name: 'recstream_producer_buffered_records',
      help: 'records buffered or in flight in producers',
      registers,
    }),
  };
  return metrics;
});
