/**
 * Prometheus metrics of `GET /v1/recommendations` and of the bundle
 * reloads behind it, created once per registry.
 *
 * @example
 * ```ts
 * const metrics = serveMetrics(platform.metrics);
 * metrics.stage.observe({ stage: 'retrieval' }, seconds);
 * metrics.fallbacks.inc({ reason: 'cold_start' });
 * ```
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

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
  /** Items embedded and indexed by the responder from rec.items since its bundle loaded. */
  readonly itemsIndexed: Counter;
  readonly onlineStoreErrors: Counter<'kind'>;
  /** Served lists not published to rec.recommendations (buffer full or publish failure). */
  readonly servedListsDropped: Counter;
}

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
      buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
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
  };
  cache.set(registry, metrics);
  return metrics;
}
