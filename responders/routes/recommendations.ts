/**
 * `GET /v1/recommendations/:userId?k=10`: the user's top k
 * from the `Recommender`, each item with its `reason` (retrieved, promoted,
 * boosted, fallback), named by `model_version`, `index_version`,
 * `fallback` (null, or why the list is not personalised), `experiment_id`
 * and `variant` (null outside experiments), `caller` (null for an anonymous
 * request, else who asked: ../auth/caller.ts) and `request_id`
 * (the caller's `x-request-id` when it is a plausible id, else a new UUID;
 * clicks on the list carry it in `Interaction.context.request_id`).
 * Optional query parameters `surface`, `device` and `country` are the
 * request context the user tower and the served-list log see. The list is
 * published to `rec.recommendations` with `took_ms` and `caller`; after
 * the response is sent, the experiment's shadow variants score the same
 * request (../recommend/shadow-runner.ts).
 *
 * The `recommendations:read` guard runs before this plugin (../app.ts:
 * 401 / 403 when credentials are configured and the caller lacks it).
 *
 * Errors, JSON `{ error, code }`:
 * - 400 `INVALID_USER_ID`: not 1–128 characters of letters, digits and `._:@-`;
 * - 400 `INVALID_K`: k not an integer from 1 to `maxK`;
 * - 400 `INVALID_QUERY`: a context value over 64 characters or a repeated parameter;
 * - 503 `NOT_READY`: the responder is still starting.
 * An unknown user is no error: they get the cold-start list.
 *
 * @example
 * ```ts
 * await app.register(recommendationRoutes, { service: () => service, metrics: serveMetrics(registry), maxK: 100 });
 * // curl 'http://127.0.0.1:8080/v1/recommendations/u0?k=10'
 * ```
 */
import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { FastifyPluginAsync } from 'fastify';
import { inSpan } from '../../runtime/observability/tracing.js';
import { callerOf } from '../auth/caller.js';
import type { Recommender } from '../recommend/recommender.js';
import type { ServeMetrics } from '../recommend/serve-metrics.js';
import type { ServedLog } from '../recommend/served-log.js';
import type { ShadowRunner } from '../recommend/shadow-runner.js';

export interface RecommendationRoutesOptions {
  /** The pipeline and the served-list log; undefined while the responder starts (requests get 503). */
  readonly service: () =>
    | {
        readonly recommender: Recommender;
        readonly served: ServedLog;
        readonly shadows?: Pick<ShadowRunner, 'submit'>;
      }
    | undefined;
  readonly metrics: ServeMetrics;
  readonly maxK: number;
}

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const DEFAULT_K = 10;
const CONTEXT_KEYS = ['surface', 'device', 'country'] as const;
const NULLABLE_STRING = { type: ['string', 'null'] } as const;
/** The `experiment` and `variant` label of a response outside every experiment. */
const NONE = 'none';
/**
 * The 200 body, for fastify's compiled serializer (fast-json-stringify): it
 * writes the known fields straight into the string instead of walking the
 * object as `JSON.stringify` does. Errors keep the default serializer.
 */
const RESPONSE_SCHEMA = {
  200: {
    type: 'object',
    required: [
      'user_id',
      'items',
      'model_version',
      'index_version',
      'fallback',
      'experiment_id',
      'variant',
      'caller',
      'request_id',
      'took_ms',
    ],
    properties: {
      user_id: { type: 'string' },
      items: {
        type: 'array',
        items: {
          type: 'object',
          required: ['item_id', 'score', 'reason'],
          properties: { item_id: { type: 'string' }, score: { type: 'number' }, reason: { type: 'string' } },
        },
      },
      model_version: NULLABLE_STRING,
      index_version: NULLABLE_STRING,
      fallback: NULLABLE_STRING,
      experiment_id: NULLABLE_STRING,
      variant: NULLABLE_STRING,
      caller: NULLABLE_STRING,
      request_id: { type: 'string' },
      took_ms: { type: 'number' },
    },
  },
} as const;

export const recommendationRoutes: FastifyPluginAsync<RecommendationRoutesOptions> = async (app, options) => {
  const { metrics } = options;
  app.get<{ Params: { userId: string }; Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/recommendations/:userId',
    { schema: { response: RESPONSE_SCHEMA } },
    async (request, reply) => {
      const started = performance.now();
      const fail = (status: number, code: string, error: string) => {
        metrics.requests.inc({ status: String(status) });
        return reply.code(status).send({ error, code });
      };
      const { userId } = request.params;
      if (!USER_ID.test(userId))
        return fail(400, 'INVALID_USER_ID', 'userId must be 1-128 characters of letters, digits and ._:@-');
      const query = request.query;
      for (const [name, value] of Object.entries(query))
        if (Array.isArray(value))
          return fail(400, 'INVALID_QUERY', `query parameter ${name} is given more than once`);
      const rawK = query.k as string | undefined;
      const k = rawK === undefined ? DEFAULT_K : Number(rawK);
      if (!/^\d+$/.test(rawK ?? '10') || !Number.isInteger(k) || k < 1 || k > options.maxK)
        return fail(
          400,
          'INVALID_K',
          `k must be an integer from 1 to ${options.maxK}, got ${JSON.stringify(rawK)}`,
        );
      const context: Record<string, string | null> = {};
      for (const key of CONTEXT_KEYS) {
        const value = query[key] as string | undefined;
        if (value !== undefined && value.length > 64)
          return fail(400, 'INVALID_QUERY', `${key} must be at most 64 characters`);
        context[key] = value === undefined || value === '' ? null : value;
      }
      const service = options.service();
      if (service === undefined)
        return fail(503, 'NOT_READY', 'the responder is starting: no model, index or fallback loaded yet');
      const header = request.headers['x-request-id'];
      const requestId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
      const result = await inSpan(
        'GET /v1/recommendations',
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': 'GET',
            'http.route': '/v1/recommendations/:userId',
            'recstream.k': k,
          },
        },
        request.headers,
        async (span) => {
          const out = await service.recommender.recommend({ userId, k, context, requestId });
          span?.setAttributes({
            'recstream.fallback': out.fallback ?? 'none',
            'recstream.model_version': out.model_version ?? 'none',
            'recstream.request_id': requestId,
          });
          return out;
        },
      );
      const servedTs = Date.now();
      const tookMs = performance.now() - started;
      const surface = context.surface ?? null;
      const caller = callerOf(request.principal);
      service.served.publish({
        request_id: requestId,
        user_id: userId,
        caller,
        items: result.items.map((item, position) => ({ ...item, position })),
        model_version: result.model_version,
        index_version: result.index_version,
        fallback: result.fallback,
        surface,
        experiment_id: result.experiment_id,
        variant: result.variant,
        shadow: false,
        exploration: result.exploration,
        exploration_pool: result.exploration_pool === null ? null : [...result.exploration_pool],
        item_frontiers: result.item_frontiers === null ? null : [...result.item_frontiers],
        took_ms: tookMs,
        served_ts: servedTs,
      });
      service.shadows?.submit({ userId, k, context, requestId, surface, caller }, result);
      const labels = { experiment: result.experiment_id ?? NONE, variant: result.variant ?? NONE };
      metrics.requests.inc({ status: '200' });
      metrics.stage.observe({ stage: 'total' }, tookMs / 1000);
      metrics.variantRequests.inc(labels);
      metrics.variantSeconds.observe(labels, tookMs / 1000);
      return {
        user_id: userId,
        items: result.items,
        model_version: result.model_version,
        index_version: result.index_version,
        fallback: result.fallback,
        experiment_id: result.experiment_id,
        variant: result.variant,
        caller,
        request_id: requestId,
        took_ms: Math.round(tookMs * 100) / 100,
      };
    },
  );
};
