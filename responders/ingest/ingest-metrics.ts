/**
 * Prometheus metrics of `POST /v1/events`, created once per registry.
 *
 * @example
 * ```ts
 * ingestMetrics(platform.metrics).events.inc({ outcome: 'accepted' }, 100);
 * ```
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import { onePerRegistry } from '../../runtime/observability/per-registry.js';

export interface IngestMetrics {
  /** Records by outcome: accepted (appended), duplicate (already accepted), refused (invalid). */
  readonly events: Counter<'outcome'>;
  readonly requests: Counter<'status'>;
  readonly latency: Histogram;
}

export const ingestMetrics = onePerRegistry((registry: Registry): IngestMetrics => {
  const registers = [registry];
  const metrics: IngestMetrics = {
    events: new Counter({
      name: 'recstream_ingest_events_total',
      help: 'records posted to /v1/events, by outcome',
      labelNames: ['outcome'],
      registers,
    }),
    requests: new Counter({
      name: 'recstream_ingest_requests_total',
      help: 'POST /v1/events requests, by HTTP status',
      labelNames: ['status'],
      registers,
    }),
    latency: new Histogram({
      name: 'recstream_ingest_request_seconds',
      help: 'POST /v1/events time from body received to reply (includes the log acknowledgement)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
  };
  return metrics;
});
