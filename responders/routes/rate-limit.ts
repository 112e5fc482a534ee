/**
 * Per-client rate limiting for the responder, over `@fastify/rate-limit`'s
 * counters: at most `max` requests per `windowMs` per client, the client
 * being the `x-client-id` header when present, else the remote IP. A
 * request over the limit gets `429 { error, code: 'RATE_LIMITED' }` with
 * `Retry-After` (seconds until the client's window ends), answered in the
 * `onRequest` hook, before routing work or body parsing.
 *
 * `x-client-id` is a label the client chooses, not an identity: the limit
 * keeps one runaway caller from starving the others; it does not stop a
 * caller that invents a new id per request (authentication does that).
 * Counters live in this process, in an LRU of `cacheSize` clients; a client
 * pushed out of it starts a fresh window.
 *
 * The plugin is not encapsulated (fastify-plugin): its hook applies to every
 * route of the instance it is registered on and of that instance's child
 * plugins, whenever they were registered.
 *
 * @example
 * ```ts
 * await app.register(clientRateLimit, { max: RATE_LIMIT_DEFAULTS.max, windowMs: RATE_LIMIT_DEFAULTS.windowMs });
 * await app.register(eventsRoutes, { ingest, maxBodyBytes });
 * ```
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export interface ClientRateLimitOptions {
  /** Requests per client per window. Default 6000. */
  readonly max?: number;
  /** Window length in milliseconds. Default 1000. */
  readonly windowMs?: number;
  /** Most clients counted at once (LRU). Default 10,000. */
  readonly cacheSize?: number;
}

/** What the limit is when no options are given: 6000 requests per second per client. */
export const RATE_LIMIT_DEFAULTS = { max: 6000, windowMs: 1000, cacheSize: 10_000 } as const;

export const CLIENT_ID_HEADER = 'x-client-id';
/** Longer ids are cut: the id is a map key held per client. */
const MAX_CLIENT_ID_CHARS = 128;

/** The counter a request is charged to: `id:<x-client-id>`, else `ip:<remote address>`. */
export function clientKey(request: FastifyRequest): string {
  const id = request.headers[CLIENT_ID_HEADER];
  const value = Array.isArray(id) ? id[0] : id;
  if (value !== undefined && value.trim() !== '') return `id:${value.trim().slice(0, MAX_CLIENT_ID_CHARS)}`;
  return `ip:${request.ip}`;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`rate limit ${name} must be a positive whole number, got ${value}`);
  return value;
}

const plugin: FastifyPluginAsync<ClientRateLimitOptions> = async (app, options) => {
  const max = positiveInt('max', options.max ?? RATE_LIMIT_DEFAULTS.max);
  const windowMs = positiveInt('windowMs', options.windowMs ?? RATE_LIMIT_DEFAULTS.windowMs);
  const cacheSize = positiveInt('cacheSize', options.cacheSize ?? RATE_LIMIT_DEFAULTS.cacheSize);
  // global: false — the library's own hook would throw its error object into each route's error
  // handler, and every route family answers errors in its own shape; this hook answers directly.
  await app.register(fastifyRateLimit, {
    global: false,
    max,
    timeWindow: windowMs,
    cache: cacheSize,
    keyGenerator: clientKey,
  });
  const limit = app.createRateLimit();
  app.addHook('onRequest', async (request, reply) => {
    const result = await limit(request);
    if (result.isAllowed || !result.isExceeded) return;
    const retryAfterS = Math.max(1, result.ttlInSeconds);
    return reply
      .code(429)
      .header('retry-after', String(retryAfterS))
      .header('x-ratelimit-limit', String(result.max))
      .header('x-ratelimit-remaining', '0')
      .send({
        error: `more than ${result.max} requests in ${windowMs} ms from this client; retry after ${retryAfterS} s`,
        code: 'RATE_LIMITED',
      });
  });
};

export const clientRateLimit = fp(plugin, { name: 'recstream-client-rate-limit', fastify: '5.x' });
