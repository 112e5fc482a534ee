/**
 * Each experiment's figures as Prometheus gauges with `experiment` and
 * `variant` labels, on the metrics of the process that runs
 * `experiment-metrics` (`recstream process`, `up`): read from the
 * application's `experiment-figures` stores when Prometheus scrapes, so the
 * processor pays nothing per record.
 *
 * | metric | meaning |
 * |---|---|
 * | `recstream_experiment_requests` | served lists counted |
 * | `recstream_experiment_impressions` | served items counted (one per request and item) |
 * | `recstream_experiment_clicks` | exposures clicked through |
 * | `recstream_experiment_ctr` | clicks per impression |
 * | `recstream_experiment_engaged_ms` | watch time within the attribution window |
 * | `recstream_experiment_fallbacks` | lists a fallback served |
 * | `recstream_experiment_latency_p99_ms` | the responder's p99 (upper bound of its histogram bucket) |
 * | `recstream_experiment_p_value` | always-valid p-value of the CTR against the control (non-control variants) |
 *
 * @example
 * ```ts
 * experimentGauges(platform.metrics, runnersLookup(new Map([['experiment-metrics', runner]])));
 * ```
 */
import { Gauge, type Registry } from 'prom-client';
import {
  EXPERIMENT_FIGURES_STORE,
  type ExperimentFiguresValue,
  experimentReport,
} from '../processors/experiment-metrics/report.js';
import type { TaskLookup } from '../runtime/online/in-process/task-lookup.js';
import { EXPERIMENT_METRICS_APPLICATION } from '../topologies/experiment-metrics.js';

type Row = ReturnType<typeof experimentReport>['variants'][number];

const GAUGES: readonly [name: string, help: string, value: (row: Row) => number | null][] = [
  ['requests', 'served lists of the variant counted by experiment-metrics', (r) => r.requests],
  ['impressions', 'served items of the variant (one per request and item)', (r) => r.impressions],
  ['clicks', 'exposures of the variant clicked through within the attribution window', (r) => r.clicks],
  ['ctr', 'clicks per impression of the variant', (r) => r.ctr],
  ['engaged_ms', 'watch time of the variant within the attribution window, ms', (r) => r.engaged_ms],
  ['fallbacks', 'lists of the variant served by a fallback', (r) => r.fallbacks],
  ['latency_p99_ms', "the responder's p99 for the variant, ms (bucket upper bound)", (r) => r.latency_p99_ms],
  ['p_value', "always-valid p-value of the variant's CTR against the control's", (r) => r.p_value],
];

/** The gauges' names, each labelled `experiment` and `variant` (for the dashboard's checks). */
export const EXPERIMENT_GAUGE_NAMES: readonly string[] = GAUGES.map(
  ([name]) => `recstream_experiment_${name}`,
);

/** Registers the gauges (replacing earlier ones); every scrape reads the figures of the tasks `lookup` finds open. */
export function experimentGauges(registry: Registry, lookup: TaskLookup): void {
  let snapshot: Promise<{ experiment: string; row: Row }[]> | undefined;
  const read = async () => {
    const out: { experiment: string; row: Row }[] = [];
    const partitions = lookup.partitions(EXPERIMENT_METRICS_APPLICATION) ?? 0;
    for (let p = 0; p < partitions; p++) {
      const state = lookup.state(EXPERIMENT_METRICS_APPLICATION, p);
      if (state === undefined) continue;
      for await (const [id, value] of state.store<ExperimentFiguresValue>(EXPERIMENT_FIGURES_STORE).range())
        for (const row of experimentReport(value).variants) out.push({ experiment: id, row });
    }
    return out;
  };
  // One read of the stores per scrape, shared by every gauge.
  const rows = () => {
    if (snapshot === undefined) {
      snapshot = read();
      setTimeout(() => {
        snapshot = undefined;
      }, 1000).unref();
    }
    return snapshot;
  };
  for (const [name, help, value] of GAUGES) {
    // A process that starts its applications again (a restarted role) reads the new runners.
    registry.removeSingleMetric(`recstream_experiment_${name}`);
    new Gauge({
      name: `recstream_experiment_${name}`,
      help,
      labelNames: ['experiment', 'variant'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const { experiment, row } of await rows()) {
          const v = value(row);
          if (v !== null && Number.isFinite(v)) this.set({ experiment, variant: row.name }, v);
        }
      },
    });
  }
}
