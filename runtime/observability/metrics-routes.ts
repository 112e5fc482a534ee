/**
 * `GET /metrics` (Prometheus text format) and `GET /healthz` as a fastify
 * plugin, so every role — processors now, responders later — exposes the
 * same endpoints the same way. A registry served here also gets the
 * process's own health (`process-metrics.ts`: event-loop delay, GC
 * pauses, heap, CPU), so a stall can be told from slow work.
 *
 * @example
 * ```ts
 * const app = fastify();
 * await app.register(metricsRoutes, { registry: platform.metrics, healthy: () => true });
 * await app.listen({ host: '127.0.0.1', port: 9464 });
 * ```
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { processMetrics } from './process-metrics.js';

export interface MetricsRoutesOptions {
  readonly registry: Registry;
  /** False turns /healthz into a 503 (e.g. the runner stopped on an error). */
  readonly healthy: () => boolean;
}

export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, options) => {
  processMetrics(options.registry);
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });
  app.get('/healthz', async (_request, reply) => {
    const ok = options.healthy();
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unhealthy' };
  });
};
