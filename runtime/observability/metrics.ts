/**
 * Prometheus metrics of the stream runtime (prom-client). One registry per
 * process; every processor, store and log reports through the labels here so
 * dashboards in deploy/ can rely on the names.
 *
 * @example
 * ```ts
 * const metrics = runtimeMetrics(new Registry());
 * metrics.recordsIn.inc({ application: 'counts', topic: 'rec.interactions' }, batch.length);
 * ```
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Registry };

export interface RuntimeMetrics {
  readonly registry: Registry;
  readonly recordsIn: Counter<'application' | 'topic'>;
  readonly recordsOut: Counter<'application' | 'topic'>;
  readonly processLatency: Histogram<'application' | 'processor'>;
  readonly commitLatency: Histogram<'application'>;
  readonly commits: Counter<'application'>;
  readonly lag: Gauge<'application' | 'topic' | 'partition'>;
  readonly deadLetters: Counter<'application' | 'topic' | 'code'>;
  readonly storeEntries: Gauge<'application' | 'store' | 'partition'>;
  readonly restoredRecords: Counter<'application' | 'store'>;
}

const cache = new WeakMap<Registry, RuntimeMetrics>();

/** The runtime's metrics on `registry`, created once per registry. */
export function runtimeMetrics(registry: Registry): RuntimeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: RuntimeMetrics = {
    registry,
    recordsIn: new Counter({
      name: 'recstream_records_in_total',
      help: 'records read from source topics',
      labelNames: ['application', 'topic'],
      registers,
    }),
    recordsOut: new Counter({
      name: 'recstream_records_out_total',
      help: 'records written to sink topics',
      labelNames: ['application', 'topic'],
      registers,
    }),
    processLatency: new Histogram({
      name: 'recstream_process_batch_seconds',
      help: 'time to process one polled batch through a task',
      labelNames: ['application', 'processor'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    commitLatency: new Histogram({
      name: 'recstream_commit_seconds',
      help: 'time to commit outputs, changelogs, state and offsets',
      labelNames: ['application'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    commits: new Counter({
      name: 'recstream_commits_total',
      help: 'commits done',
      labelNames: ['application'],
      registers,
    }),
    lag: new Gauge({
      name: 'recstream_consumer_lag_records',
      help: 'end offset minus position, per source partition',
      labelNames: ['application', 'topic', 'partition'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'recstream_dead_letters_total',
      help: 'records sent to rec.dlq',
      labelNames: ['application', 'topic', 'code'],
      registers,
    }),
    storeEntries: new Gauge({
      name: 'recstream_store_entries',
      help: 'approximate entries per state store and task',
      labelNames: ['application', 'store', 'partition'],
      registers,
    }),
    restoredRecords: new Counter({
      name: 'recstream_restored_records_total',
      help: 'changelog records applied while restoring',
      labelNames: ['application', 'store'],
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
