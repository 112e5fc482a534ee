/**
 * Prometheus metrics of `GET /v1/recommendations` and of the bundle
 * reloads behind it, created once per registry. The `variant*` and
 * `shadow*` ones carry `experiment` and `variant` labels (`none` for a
 * response outside every experiment), so each variant's traffic, latency
 * and fallbacks read side by side.
 *
 * @example
 * ```ts
 * const metrics = serveMetrics(platform.metrics);
 * metrics.stage.observe({ stage: 'retrieval' }, seconds);
 * metrics.fallbacks.inc({ reason: 'cold_start' });
 * ```
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { liveSessionThreads } from '../../inference/session-thread.js';

export interface ServeMetrics {
  /** Seconds per stage of a request: online_store, user_tower, retrieval, ranker, total. */
  readonly stage: Histogram<'stage'>;
  readonly requests: Counter<'status'>;
  /** Responses that were not personalised, by reason (cold_start, opt_out, no_model, …). */
  readonly fallbacks: Counter<'reason'>;
  /** 1 for the model version and index version being served (labels name them). */
  readonly modelInfo: Gauge<'model' | 'version'>;
  readonly indexInfo: Gauge<'index' | 'version'>;
  /** Bundle reloads by result: swapped, refused (verification or lineage), failed. */
  readonly reloads: Counter<'result'>;
  readonly reloadSeconds: Histogram;
  /** Session threads the served model/index pairs run on: 1 once gathered. */
  readonly sessionThreads: Gauge;
  /** Their event-loop delay since the previous scrape, the largest over them: stat `max` and `p99`. */
  readonly sessionLoopDelay: Gauge<'stat'>;
  /** Items embedded and indexed by the responder from rec.items since its bundle loaded. */
  readonly itemsIndexed: Counter;
  readonly onlineStoreErrors: Counter<'kind'>;
  /** Served lists not published to rec.recommendations (buffer full or publish failure). */
  readonly servedListsDropped: Counter;
  /** 200 responses by experiment and variant. */
  readonly variantRequests: Counter<'experiment' | 'variant'>;
  /** Seconds per 200 response by experiment and variant. */
  readonly variantSeconds: Histogram<'experiment' | 'variant'>;
  /** Fallback responses by experiment, variant and reason. */
  readonly variantFallbacks: Counter<'experiment' | 'variant' | 'reason'>;
  /** Requests of a variant served the promoted pair because the variant's pair was not loaded yet. */
  readonly variantPending: Counter<'experiment' | 'variant'>;
  /** Shadow scorings dropped because the shadow queue was full. */
  readonly shadowDropped: Counter<'experiment' | 'variant'>;
  /** Seconds a shadow variant took to make its list, off the hot path. */
  readonly shadowSeconds: Histogram<'experiment' | 'variant'>;
  /** Jaccard@K of a shadow list's items with the served list's. */
  readonly shadowJaccard: Histogram<'experiment' | 'variant'>;
  /** Kendall tau of the items both lists hold, by their ranks in each. */
  readonly shadowKendall: Histogram<'experiment' | 'variant'>;
}

const EXPERIMENT_LABELS = ['experiment', 'variant'] as const;
const UNIT_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const TAU_BUCKETS = [-1, -0.6, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 0.9, 1];
const LATENCY_BUCKETS = [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1];

const cache = new WeakMap<Registry, ServeMetrics>();

export function serveMetrics(registry: Registry): ServeMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: ServeMetrics = {
    stage: new Histogram({
      name: 'recstream_serve_stage_seconds',
      help: 'time of each stage of GET /v1/recommendations (total: the whole request)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    requests: new Counter({
      name: 'recstream_serve_requests_total',
      help: 'GET /v1/recommendations requests, by HTTP status',
      labelNames: ['status'],
      registers,
    }),
    fallbacks: new Counter({
      name: 'recstream_serve_fallbacks_total',
      help: 'responses served without personalisation, by reason',
      labelNames: ['reason'],
      registers,
    }),
    modelInfo: new Gauge({
      name: 'recstream_serve_model_info',
      help: '1 for the model version the responder serves',
      labelNames: ['model', 'version'],
      registers,
    }),
    indexInfo: new Gauge({
      name: 'recstream_serve_index_info',
      help: '1 for the index version the responder serves',
      labelNames: ['index', 'version'],
      registers,
    }),
    reloads: new Counter({
      name: 'recstream_serve_reloads_total',
      help: 'model/index bundle reloads, by result (swapped, refused, failed)',
      labelNames: ['result'],
      registers,
    }),
    reloadSeconds: new Histogram({
      name: 'recstream_serve_reload_seconds',
      help: 'time to load, verify and warm a model/index bundle',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    }),
    sessionThreads: new Gauge({
      name: 'recstream_serve_session_threads',
      help: 'ONNX session threads the served model/index pairs run on (1 once they are gathered onto one)',
      registers,
    }),
    sessionLoopDelay: new Gauge({
      name: 'recstream_serve_session_thread_eventloop_lag_seconds',
      help: "the ONNX session threads' longest (stat=max) and 99th-percentile (stat=p99) event-loop delay since the previous scrape, the largest over the threads: how long a model run or index search waited behind the thread's other turns",
      labelNames: ['stat'],
      registers,
      async collect() {
        const delays = await Promise.all(
          liveSessionThreads().map((thread) => thread.loopDelay().catch(() => undefined)),
        );
        const known = delays.filter((d) => d !== undefined);
        this.reset();
        if (known.length === 0) return;
        this.set({ stat: 'max' }, Math.max(...known.map((d) => d.maxSeconds)));
        this.set({ stat: 'p99' }, Math.max(...known.map((d) => d.p99Seconds)));
      },
    }),
    itemsIndexed: new Counter({
      name: 'recstream_serve_items_indexed_total',
      help: 'catalog items the responder embedded and indexed itself (new or changed since its index)',
      registers,
    }),
    onlineStoreErrors: new Counter({
      name: 'recstream_serve_online_store_errors_total',
      help: 'online-store reads that failed or timed out, by kind (error, timeout)',
      labelNames: ['kind'],
      registers,
    }),
    servedListsDropped: new Counter({
      name: 'recstream_serve_served_lists_dropped_total',
      help: 'served lists that could not be published to rec.recommendations',
      registers,
    }),
    variantRequests: new Counter({
      name: 'recstream_serve_variant_requests_total',
      help: 'recommendation responses by experiment and variant (none outside experiments)',
      labelNames: EXPERIMENT_LABELS,
      registers,
    }),
    variantSeconds: new Histogram({
      name: 'recstream_serve_variant_seconds',
      help: 'time of a recommendation response by experiment and variant',
      labelNames: EXPERIMENT_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    variantFallbacks: new Counter({
      name: 'recstream_serve_variant_fallbacks_total',
      help: 'responses served without personalisation by experiment, variant and reason',
      labelNames: [...EXPERIMENT_LABELS, 'reason'],
      registers,
    }),
    variantPending: new Counter({
      name: 'recstream_serve_variant_pending_total',
      help: "requests of a variant served the promoted pair while the variant's model/index pair loads",
      labelNames: EXPERIMENT_LABELS,
      registers,
    }),
    shadowDropped: new Counter({
      name: 'recstream_serve_shadow_dropped_total',
      help: 'shadow scorings dropped because the shadow queue was full',
      labelNames: EXPERIMENT_LABELS,
      registers,
    }),
    shadowSeconds: new Histogram({
      name: 'recstream_serve_shadow_seconds',
      help: 'time a shadow variant took to make its list, off the hot path',
      labelNames: EXPERIMENT_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    shadowJaccard: new Histogram({
      name: 'recstream_serve_shadow_jaccard',
      help: "Jaccard@K of a shadow variant's list with the list served for the same request",
      labelNames: EXPERIMENT_LABELS,
      buckets: UNIT_BUCKETS,
      registers,
    }),
    shadowKendall: new Histogram({
      name: 'recstream_serve_shadow_kendall_tau',
      help: 'Kendall tau of the items a shadow list shares with the served list, by their ranks in each (two or more shared)',
      labelNames: EXPERIMENT_LABELS,
      buckets: TAU_BUCKETS,
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
