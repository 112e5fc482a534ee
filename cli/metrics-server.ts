/** Serves /metrics and /healthz for a long-running role (`recstream process --metrics-port`). */
import fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ConfigError } from '../runtime/errors.js';
import { metricsRoutes } from '../runtime/observability/metrics-routes.js';

export async function serveMetrics(registry: Registry, port: number): Promise<FastifyInstance> {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`--metrics-port must be a port number, got ${port}`);
  const app = fastify();
  await app.register(metricsRoutes, { registry, healthy: () => true });
  await app.listen({ host: '127.0.0.1', port });
  return app;
}
