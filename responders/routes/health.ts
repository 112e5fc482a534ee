/**
 * `GET /healthz`, `GET /metrics` (the runtime's shared plugin) and
 * `GET /readyz` (200 when every readiness check passes, else 503 naming the
 * checks that do not).
 *
 * @example
 * ```ts
 * await app.register(healthRoutes, { registry: platform.metrics, readiness, healthy: () => true });
 * ```
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { metricsRoutes } from '../../runtime/observability/metrics-routes.js';
import type { Readiness } from '../readiness.js';

export interface HealthRoutesOptions {
  readonly registry: Registry;
  readonly readiness: Readiness;
  /** False turns /healthz into a 503. */
  readonly healthy: () => boolean;
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, options) => {
  await app.register(metricsRoutes, { registry: options.registry, healthy: options.healthy });
  app.get('/readyz', async (_request, reply) => {
    const { ready, checks } = options.readiness.status();
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  });
};
