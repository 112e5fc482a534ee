/**
 * The admin API, for credentials with the `admin` scope (a
 * bearer JWT or an API key: see ../auth/authenticator.ts), under its own
 * rate limit (`rateLimitClass: 'admin'`, ./rate-limit.ts):
 *
 * - `POST /admin/retrain` → `202` and the action's result (`{ accepted:
 *   true, ... }`): the training round runs in the background, so 202 says
 *   "started", not "trained"; its outcome goes to the log. `409
 *   RETRAIN_RUNNING` while one runs.
 * - `POST /admin/reindex` → `200` and the indexer's outcome.
 * - `POST /admin/rollback`, optional body `{ "reason": "..." }` → `200` and
 *   the versions rolled back and promoted.
 * - `POST /admin/promote`, body `{ "version": 3, "reason"?: "..." }` → `200`
 *   and the version promoted with the one promoted before it
 *   (`already_promoted: true` when there was nothing to do).
 * - `GET /admin/experiments`, `GET /admin/experiments/:id`,
 *   `POST /admin/experiments`, `POST /admin/experiments/:id/stop` when
 *   experiment actions are given (./admin-experiments.ts: refusals there
 *   are 400 / 404 / 409 with `field` and `reason`).
 *
 * Every reply is JSON; refusals are `{ error, code }`:
 * - 401 / 403 / 404 from the access check (404 `ADMIN_DISABLED` when no
 *   credential of any kind is configured), before the body is read.
 * - 400 `INVALID_BODY` for a body that is not JSON or a rollback or promote
 *   body that fails its schema (strictly: no type coercion, no unknown keys).
 * - 409 with the error's own code when an action refuses on purpose (a
 *   RecstreamError: `MODEL_REGISTRY` for nothing to roll back to or no such
 *   version to promote,
 *   `ARTIFACT_INTEGRITY`, `RETRAIN_RUNNING`, ...).
 * - 503 with the error's code for the environment failing (disk, broker,
 *   state store); with `Retry-After` when retrying can help.
 * - 500 `INTERNAL` for anything else; the error is logged, not sent.
 *
 * Each accepted call is logged with the caller's subject (the token's `sub`
 * or the API key's name: an audit trail), and
 * counted in `recstream_admin_requests_total{action,status}` when a metrics
 * registry is given.
 *
 * @example
 * ```ts
 * await app.register(adminRoutes, {
 *   access: new AccessPolicy(await Authenticator.fromConfig(platform.config), false),
 *   actions: platformAdminActions(platform, artifactStore(platform.config.dataDir)),
 *   metrics: platform.metrics,
 * });
 * // curl -X POST -H "authorization: Bearer $TOKEN" http://127.0.0.1:8080/admin/rollback -d '{"reason":"CTR dropped"}' -H 'content-type: application/json'
 * ```
 */
import { Ajv } from 'ajv';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { isInfrastructureError, isRetriable, RecstreamError } from '../../runtime/errors.js';
import { onePerRegistry } from '../../runtime/observability/per-registry.js';
import type { AccessPolicy } from '../auth/access.js';
import { adminExperimentRoutes, type ExperimentAdminActions } from './admin-experiments.js';

/** What the admin endpoints do; each result is sent as the JSON body. */
export interface AdminActions {
  /** Starts one training round in the background; resolves once started. */
  retrain(): Promise<object>;
  /** Builds the index of the promoted model (full or delta). */
  reindex(): Promise<object>;
  /** Rolls the promoted model back to the one promoted before it. */
  rollback(reason?: string): Promise<object>;
  /** Promotes a version of the model (its artifacts verified first). */
  promote(version: number, reason?: string): Promise<object>;
}

export interface AdminRoutesOptions {
  /** Its `admin` guard protects every route here. */
  readonly access: AccessPolicy;
  readonly actions: AdminActions;
  /** Serves the experiment endpoints (./admin-experiments.ts) under the same guard. */
  readonly experiments?: ExperimentAdminActions;
  /** Registers `recstream_admin_requests_total` here. */
  readonly metrics?: Registry;
}

/** Seconds a client is asked to wait after a retriable 503. */
const RETRY_AFTER_S = 5;

const rollbackBodySchema = {
  type: 'object',
  properties: { reason: { type: 'string', minLength: 1, maxLength: 1000 } },
  additionalProperties: false,
} as const;

const promoteBodySchema = {
  type: 'object',
  properties: {
    version: { type: 'integer', minimum: 1 },
    reason: { type: 'string', minLength: 1, maxLength: 1000 },
  },
  required: ['version'],
  additionalProperties: false,
} as const;

// fastify's default validator coerces (`{"reason": 5}` becomes "5") and drops unknown keys; an admin
// request that changes what is served should say exactly what it means, so this one does neither.
const strictAjv = new Ajv({ coerceTypes: false, removeAdditional: false, allErrors: true });

const requestsCounter = onePerRegistry(
  (registry: Registry): Counter<'action' | 'status'> =>
    new Counter({
      name: 'recstream_admin_requests_total',
      help: 'admin API requests, by action and HTTP status (refused ones included)',
      labelNames: ['action', 'status'],
      registers: [registry],
    }),
);

export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, options) => {
  const { access, actions } = options;
  const requests = options.metrics === undefined ? undefined : requestsCounter(options.metrics);

  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, rateLimitClass: 'admin' };
  });
  // onRequest, so that an unauthenticated caller costs no body parsing.
  app.addHook('onRequest', access.require('admin'));

  app.addHook('onResponse', async (request, reply) => {
    // The path's last word names the action, but for a path that ends in a parameter (GET /admin/experiments/:id).
    const words = request.routeOptions.url?.split('/').filter((w) => !w.startsWith(':')) ?? [];
    const action = `${request.method === 'GET' ? 'get ' : ''}${words.pop() ?? 'unknown'}`;
    requests?.inc({ action, status: String(reply.statusCode) });
    const principal = request.principal;
    if (principal?.scopes.has('admin'))
      request.log.info(
        { admin_action: action, sub: principal.subject, status: reply.statusCode },
        'admin request',
      );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof RecstreamError) {
      if (isInfrastructureError(error)) {
        if (isRetriable(error)) reply.header('retry-after', String(RETRY_AFTER_S));
        request.log.warn({ err: error }, `${request.url} failed`);
        return reply.code(503).send({ error: error.message, code: error.code });
      }
      return reply.code(409).send({ error: error.message, code: error.code });
    }
    if (error.validation !== undefined)
      return reply.code(400).send({ error: `invalid body: ${error.message}`, code: 'INVALID_BODY' });
    // fastify's own refusals (bad JSON, unsupported media type, too large): these routes take nothing
    // but a body, so each is about the body.
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      return reply.code(error.statusCode).send({ error: error.message, code: 'INVALID_BODY' });
    request.log.error({ err: error }, `${request.url} failed`);
    return reply.code(500).send({ error: 'internal error; see the responder log', code: 'INTERNAL' });
  });

  app.post('/admin/retrain', async (_request, reply) => reply.code(202).send(await actions.retrain()));

  app.post('/admin/reindex', async () => actions.reindex());

  app.post<{ Body: { reason?: string } }>(
    '/admin/rollback',
    {
      schema: { body: rollbackBodySchema },
      validatorCompiler: ({ schema }) => strictAjv.compile(schema),
      // The body is optional: `curl -X POST` sends none, which means no reason.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => actions.rollback(request.body.reason),
  );

  app.post<{ Body: { version: number; reason?: string } }>(
    '/admin/promote',
    {
      schema: { body: promoteBodySchema },
      validatorCompiler: ({ schema }) => strictAjv.compile(schema),
    },
    async (request) => actions.promote(request.body.version, request.body.reason),
  );

  if (options.experiments !== undefined)
    await app.register(adminExperimentRoutes, { actions: options.experiments });
};
