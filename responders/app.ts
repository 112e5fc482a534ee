/**
 * The responder's fastify app, built from route plugins
 * so that later parts (recommendations, admin) are one more `register`:
 * health, readiness and metrics always; `POST /v1/events` when an ingest is
 * given; `GET /v1/recommendations/:userId` when a recommendation service
 * is given. Errors are JSON `{ error, code }`; request logging is off (the hot
 * path logs only refusals and failures, through pino's async destination).
 *
 * Every request's credentials are read first (`access`, ./auth/access.ts),
 * then the rate limit counts it, then the route's guard asks for its scope:
 * `recommendations:read` for recommendations, `events:write` for ingest,
 * `users:read` for a user's history, `admin` for the admin API.
 *
 * @example
 * ```ts
 * const readiness = new Readiness();
 * const app = await createResponderApp({ metrics: platform.metrics, logger: platform.logger, readiness,
 *   ingest: { service: ingest, maxBodyBytes: 1 << 20 } });
 * const res = await app.inject({ method: 'GET', url: '/readyz' });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 * ```
 */
import fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { TrustProxy } from '../runtime/http-access.js';
import type { Logger } from '../runtime/observability/logger.js';
import type { Registry } from '../runtime/observability/metrics.js';
import { AccessPolicy } from './auth/access.js';
import type { Ingest } from './ingest/ingest.js';
import type { Readiness } from './readiness.js';
import { serveMetrics } from './recommend/serve-metrics.js';
import type { RecommendationService } from './recommend/service.js';
import { type AdminActions, adminRoutes } from './routes/admin.js';
import type { ExperimentAdminActions } from './routes/admin-experiments.js';
import { type ConsoleOptions, consoleRoutes } from './routes/console.js';
import { eventsRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { type ClientRateLimitOptions, clientRateLimit } from './routes/rate-limit.js';
import { recommendationRoutes } from './routes/recommendations.js';

export interface ResponderAppOptions {
  readonly metrics: Registry;
  readonly readiness: Readiness;
  readonly logger?: Logger;
  /** False turns /healthz into a 503. Default: always healthy. */
  readonly healthy?: () => boolean;
  /** Serves POST /v1/events and adds the `ingest` readiness check. */
  readonly ingest?: { readonly service: Ingest; readonly maxBodyBytes: number };
  /**
   * Who may call the data and admin routes. Default: no credentials and the
   * data routes open, for a caller that decides exposure itself (startResponder
   * refuses that on a non-loopback address).
   */
  readonly access?: AccessPolicy;
  /** Whose X-Forwarded-For `request.ip` believes (fastify's trustProxy). Default false. */
  readonly trustProxy?: TrustProxy;
  /** Per-client request limit over every route; unset: no limit. */
  readonly rateLimit?: ClientRateLimitOptions;
  /**
   * The admin API (POST /admin/retrain, /admin/reindex, /admin/rollback, /admin/promote, and
   * /admin/experiments when `experiments` is given), needing the `admin` scope.
   */
  readonly admin?: { readonly actions: AdminActions; readonly experiments?: ExperimentAdminActions };
  /**
   * Serves GET /v1/recommendations/:userId and adds the `recommendations`
   * readiness check, ready once `service()` returns the started service.
   */
  readonly recommendations?: {
    readonly service: () => RecommendationService | undefined;
    readonly maxK: number;
    /** Why the service is not there yet (starting, or the reason its start failed). */
    readonly notReadyReason: () => string | null;
  };
  /**
   * The operator console at GET / and the JSON it polls (GET /v1/status, /v1/models,
   * /v1/users/:userId/history, /v1/items); see routes/console.ts.
   */
  readonly console?: Omit<ConsoleOptions, 'metrics' | 'adminEnabled' | 'guardHistory'>;
}

export async function createResponderApp(options: ResponderAppOptions): Promise<FastifyInstance> {
  const access = options.access ?? new AccessPolicy(undefined, true);
  const trustProxy = options.trustProxy ?? false;
  const app = fastify({
    trustProxy: trustProxy === false ? false : [...trustProxy],
    ...(options.logger === undefined ? {} : { loggerInstance: options.logger as FastifyBaseLogger }),
    logController: new LogController({ disableRequestLogging: true }),
    // The route's own limit applies to /v1/events; everything else takes small bodies only.
    bodyLimit: 64 * 1024,
    // Past fastify's default of 100 a long user id gets a bare 414; the route's own check says why.
    routerOptions: { maxParamLength: 512 },
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: `no route ${request.method} ${request.url.split('?')[0]}`, code: 'NOT_FOUND' }),
  );
  await app.register(access.plugin);
  if (options.rateLimit !== undefined) await app.register(clientRateLimit, options.rateLimit);
  await app.register(healthRoutes, {
    registry: options.metrics,
    readiness: options.readiness,
    healthy: options.healthy ?? (() => true),
  });
  if (options.ingest !== undefined) {
    const { service, maxBodyBytes } = options.ingest;
    options.readiness.add('ingest', () => service.notReadyReason());
    await app.register(async (scope) => {
      scope.addHook('onRequest', access.require('events:write'));
      await scope.register(eventsRoutes, { ingest: service, maxBodyBytes, metrics: options.metrics });
    });
  }
  if (options.recommendations !== undefined) {
    const { service, maxK, notReadyReason } = options.recommendations;
    options.readiness.add('recommendations', notReadyReason);
    await app.register(async (scope) => {
      scope.addHook('onRequest', access.require('recommendations:read'));
      await scope.register(recommendationRoutes, { service, maxK, metrics: serveMetrics(options.metrics) });
    });
  }
  if (options.admin !== undefined)
    await app.register(adminRoutes, { ...options.admin, access, metrics: options.metrics });
  if (options.console !== undefined)
    await app.register(consoleRoutes, {
      ...options.console,
      metrics: options.metrics,
      adminEnabled: options.admin !== undefined && access.configured,
      guardHistory: access.require('users:read'),
    });
  return app;
}
