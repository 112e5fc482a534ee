/**
 * Serves /metrics and /healthz for a long-running role (`recstream process
 * --metrics-port`) on RECSTREAM_HTTP_HOST, the address the responder
 * listens on too: 127.0.0.1 by default, 0.0.0.0 in a container so
 * Prometheus can scrape it.
 */
import fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ConfigError } from '../runtime/errors.js';
import { metricsRoutes } from '../runtime/observability/metrics-routes.js';

export async function serveMetrics(registry: Registry, port: number, host: string): Promise<FastifyInstance> {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`--metrics-port must be a port number, got ${port}`);
  const app = fastify();
  await app.register(metricsRoutes, { registry, healthy: () => true });
  await app.listen({ host, port });
  return app;
}
