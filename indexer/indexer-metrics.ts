/**
 * Prometheus metrics of the indexer, created once per registry.
 *
 * @example
 * ```ts
 * indexerMetrics(platform.metrics).refused.inc({ code: 'ARTIFACT_URI_OUTSIDE_ROOT' });
 * ```
 */
import { Counter, type Registry } from 'prom-client';
import { onePerRegistry } from '../runtime/observability/per-registry.js';

export interface IndexerMetrics {
  readonly refused: Counter<'code'>;
}

export const indexerMetrics = onePerRegistry(
  (registry: Registry): IndexerMetrics => ({
    refused: new Counter({
      name: 'recstream_indexer_refused_total',
      help: 'indexer rounds that built nothing because an artifact was refused, by error code (an artifact that does not verify, a URI outside the artifacts root)',
      labelNames: ['code'],
      registers: [registry],
    }),
  }),
);
