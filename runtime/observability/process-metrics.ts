/**
 * The process's own health as metrics, for finding what stalls a
 * responder: prom-client's default set on a registry, once per registry —
 * among them `nodejs_eventloop_lag_max_seconds` (the longest event-loop
 * delay since the previous scrape, from `perf_hooks.monitorEventLoopDelay`
 * at 10 ms resolution) and `nodejs_gc_duration_seconds{kind}` (every
 * collection's pause, from a `gc` PerformanceObserver), with buckets fine
 * enough to tell a 50 ms minor collection from a 400 ms major one.
 *
 * @example
 * ```ts
 * processMetrics(platform.metrics);
 * // GET /metrics then shows nodejs_eventloop_lag_max_seconds and nodejs_gc_duration_seconds_bucket{kind="major",le="0.25"}
 * ```
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { onePerRegistry } from './per-registry.js';

/** Pause buckets, seconds: a stall worth a tail-latency look starts at tens of milliseconds. */
export const GC_PAUSE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];

/** Adds the default set to `registry`; a registry that has it already is left as it is. */
export const processMetrics: (registry: Registry) => { readonly registry: Registry } = onePerRegistry(
  (registry) => {
    collectDefaultMetrics({
      register: registry,
      gcDurationBuckets: GC_PAUSE_BUCKETS,
      eventLoopMonitoringPrecision: 10,
    });
    return { registry };
  },
);
