/**
 * Per-client rate limiting for the responder, over `@fastify/rate-limit`'s
 * counters: at most `max` requests per `windowMs` per client, and — with
 * `adminMax` — at most `adminMax` per window to the admin routes (those
 * whose route config says `rateLimitClass: 'admin'`), counted apart. A
 * request over a limit gets `429 { error, code: 'RATE_LIMITED' }` with
 * `Retry-After` (seconds until the client's window ends), answered in the
 * `onRequest` hook, before routing work or body parsing.
 *
 * The client is who the credentials say (`request.principal`, set by the
 * access plugin, which must be registered first): a JWT's `sub` or an API
 * key's name, wherever it calls from. Without credentials (or with refused
 * ones, or a token without `sub`) it is the client address, `request.ip`:
 * the socket's peer, or the address X-Forwarded-For names when the app's
 * `trustProxy` believes the proxy that sent it. A header the client picks
 * never chooses the counter.
 *
 * Counters live in this process, in an LRU of `cacheSize` clients; a client
 * pushed out of it starts a fresh window.
 *
 * The plugin is not encapsulated (fastify-plugin): its hook applies to every
 * route of the instance it is registered on and of that instance's child
 * plugins, whenever they were registered.
 *
 * @example
 * ```ts
 * await app.register(access.plugin);
 * await app.register(clientRateLimit, { max: 6000, windowMs: 1000, adminMax: 5 });
 * await app.register(eventsRoutes, { ingest, maxBodyBytes });
 * ```
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `admin`: the route is counted by the admin limit instead of the general one. */
    rateLimitClass?: 'admin';
  }
}

export interface ClientRateLimitOptions {
  /** Requests per client per window; 0: not limited. Default 6000. */
  readonly max?: number;
  /** Requests per client per window to the admin routes; 0: not limited; unset: they count under `max`. */
  readonly adminMax?: number;
  /** Window length in milliseconds. Default 1000. */
  readonly windowMs?: number;
  /** Most clients counted at once (LRU), per limit. Default 10,000. */
  readonly cacheSize?: number;
}

/** What the limit is when no options are given: 6000 requests per second per client. */
export const RATE_LIMIT_DEFAULTS = { max: 6000, windowMs: 1000, cacheSize: 10_000 } as const;

/** The counter a request is charged to: `jwt:<sub>` / `key:<name>` for verified credentials, else `ip:<address>`. */
export function clientKey(request: FastifyRequest): string {
  return request.principal?.rateLimitKey ?? `ip:${request.ip}`;
}

function wholeNumber(name: string, value: number, least: number): number {
  if (!Number.isInteger(value) || value < least)
    throw new RangeError(
      `rate limit ${name} must be a ${least === 0 ? 'whole number, 0 or more' : 'positive whole number'}, got ${value}`,
    );
  return value;
}

const plugin: FastifyPluginAsync<ClientRateLimitOptions> = async (app, options) => {
  const max = wholeNumber('max', options.max ?? RATE_LIMIT_DEFAULTS.max, 0);
  const windowMs = wholeNumber('windowMs', options.windowMs ?? RATE_LIMIT_DEFAULTS.windowMs, 1);
  const cacheSize = wholeNumber('cacheSize', options.cacheSize ?? RATE_LIMIT_DEFAULTS.cacheSize, 1);
  const adminMax = options.adminMax === undefined ? max : wholeNumber('adminMax', options.adminMax, 0);
  // global: false — the library's own hook would throw its error object into each route's error
  // handler, and every route family answers errors in its own shape; this hook answers directly.
  await app.register(fastifyRateLimit, {
    global: false,
    max,
    timeWindow: windowMs,
    cache: cacheSize,
    keyGenerator: clientKey,
  });
  // Each createRateLimit with options gets its own store: admin calls and the rest never share a counter.
  const limiter = (limit: number, label: string) =>
    limit === 0 ? undefined : { check: app.createRateLimit({ max: limit }), label };
  const general = limiter(max, 'requests');
  const admin = options.adminMax === undefined ? general : limiter(adminMax, 'admin requests');
  app.addHook('onRequest', async (request, reply) => {
    const applies = request.routeOptions.config?.rateLimitClass === 'admin' ? admin : general;
    if (applies === undefined) return;
    const { check, label } = applies;
    const result = await check(request);
    if (result.isAllowed || !result.isExceeded) return;
    const retryAfterS = Math.max(1, result.ttlInSeconds);
    return reply
      .code(429)
      .header('retry-after', String(retryAfterS))
      .header('x-ratelimit-limit', String(result.max))
      .header('x-ratelimit-remaining', '0')
      .send({
        error: `more than ${result.max} ${label} in ${windowMs} ms from this client; retry after ${retryAfterS} s`,
        code: 'RATE_LIMITED',
      });
  });
};

export const clientRateLimit = fp(plugin, {
  name: 'recstream-client-rate-limit',
  fastify: '5.x',
  dependencies: ['recstream-access'],
});
