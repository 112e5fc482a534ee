/**
 * Prometheus metrics of the trainer, created once per registry.
 *
 * @example
 * ```ts
 * trainerMetrics(platform.metrics).runs.inc({ outcome: 'promoted' });
 * ```
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { onePerRegistry } from '../runtime/observability/per-registry.js';

export interface TrainerMetrics {
  readonly runs: Counter<'outcome'>;
  readonly epochSeconds: Gauge<'model'>;
  readonly examplesPerSecond: Gauge<'model'>;
  readonly lastSeconds: Gauge<'model'>;
}

export const trainerMetrics = onePerRegistry((registry: Registry): TrainerMetrics => {
  const registers = [registry];
  const metrics: TrainerMetrics = {
    runs: new Counter({
      name: 'recstream_trainer_runs_total',
      help: 'training rounds by outcome: promoted, rejected, failed, empty',
      labelNames: ['outcome'],
      registers,
    }),
    epochSeconds: new Gauge({
      name: 'recstream_trainer_epoch_seconds',
      help: 'seconds of the latest training epoch',
      labelNames: ['model'],
      registers,
    }),
    examplesPerSecond: new Gauge({
      name: 'recstream_trainer_examples_per_second',
      help: 'training throughput the engine reported last',
      labelNames: ['model'],
      registers,
    }),
    lastSeconds: new Gauge({
      name: 'recstream_trainer_last_run_seconds',
      help: 'wall-clock seconds of the latest published training round, gathering included',
      labelNames: ['model'],
      registers,
    }),
  };
  return metrics;
});
