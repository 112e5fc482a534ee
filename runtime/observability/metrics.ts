/**
 * Prometheus metrics of the stream runtime (prom-client). One registry per
 * process; every processor, store and log reports through the labels here so
 * dashboards can rely on the names. `namespace` is the state namespace
 * (`default`, or a blue/green one): while a green instance rebuilds beside
 * blue, both report, apart. A runner that closes removes its gauges.
 *
 * @example
 * ```ts
 * const metrics = runtimeMetrics(new Registry());
 * metrics.recordsIn.inc({ application: 'counts', namespace: 'default', topic: 'rec.interactions' }, batch.length);
 * ```
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { onePerRegistry } from './per-registry.js';

export { Registry };

export interface RuntimeMetrics {
  readonly registry: Registry;
  readonly recordsIn: Counter<'application' | 'namespace' | 'topic'>;
  readonly recordsOut: Counter<'application' | 'namespace' | 'topic'>;
  readonly processLatency: Histogram<'application' | 'namespace' | 'processor'>;
  readonly commitLatency: Histogram<'application' | 'namespace'>;
  readonly commits: Counter<'application' | 'namespace'>;
  readonly lag: Gauge<'application' | 'namespace' | 'topic' | 'partition'>;
  readonly deadLetters: Counter<'application' | 'namespace' | 'topic' | 'code'>;
  readonly storeEntries: Gauge<'application' | 'namespace' | 'store' | 'partition'>;
  readonly restoredRecords: Counter<'application' | 'namespace' | 'store'>;
}

/** The runtime's metrics on `registry`, created once per registry. */
export const runtimeMetrics = onePerRegistry((registry: Registry): RuntimeMetrics => {
  const registers = [registry];
  const metrics: RuntimeMetrics = {
    registry,
    recordsIn: new Counter({
      name: 'recstream_records_in_total',
      help: 'records read from source topics',
      labelNames: ['application', 'namespace', 'topic'],
      registers,
    }),
    recordsOut: new Counter({
      name: 'recstream_records_out_total',
      help: 'records written to sink topics',
      labelNames: ['application', 'namespace', 'topic'],
      registers,
    }),
    processLatency: new Histogram({
      name: 'recstream_process_batch_seconds',
      help: 'time to process one polled batch through a task',
      labelNames: ['application', 'namespace', 'processor'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    }),
    commitLatency: new Histogram({
      name: 'recstream_commit_seconds',
      help: 'time to commit outputs, changelogs, state and offsets',
      labelNames: ['application', 'namespace'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    commits: new Counter({
      name: 'recstream_commits_total',
      help: 'commits done',
      labelNames: ['application', 'namespace'],
      registers,
    }),
    lag: new Gauge({
      name: 'recstream_consumer_lag_records',
      help: 'end offset minus position, per source partition',
      labelNames: ['application', 'namespace', 'topic', 'partition'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'recstream_dead_letters_total',
      help: 'records sent to rec.dlq',
      labelNames: ['application', 'namespace', 'topic', 'code'],
      registers,
    }),
    storeEntries: new Gauge({
      name: 'recstream_store_entries',
      help: 'approximate entries per state store and task',
      labelNames: ['application', 'namespace', 'store', 'partition'],
      registers,
    }),
    restoredRecords: new Counter({
      name: 'recstream_restored_records_total',
      help: 'changelog records applied while restoring',
      labelNames: ['application', 'namespace', 'store'],
      registers,
    }),
  };
  return metrics;
});
