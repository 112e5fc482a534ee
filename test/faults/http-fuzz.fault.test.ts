/**
 * Property-based fuzzing of every HTTP route of a real responder (a
 * simulated world processed by `features`, the in-process online store, the
 * embedded log, auth unconfigured on loopback): fast-check builds requests
 * from the routes fastify registered — so a route added later is fuzzed
 * without touching this file — with arbitrary path parameters, query
 * strings, headers and bodies, sent through `inject()`. No request may get a
 * 5xx: bad input is a 4xx naming what is wrong.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { startResponder } from '../../app/responder.js';
import { openServingStore } from '../../app/serving-store.js';
import { event } from '../../responders/responder.fixture.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { openPlatform } from '../../schemas/platform.js';
import { runCliOk } from '../cli.js';
import { reportFigure } from './figures.js';

const REQUESTS = 20_000;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

interface Route {
  readonly path: string;
  readonly methods: readonly string[];
}

/**
 * Every route of the app, from fastify's own route tree (`printRoutes`): each
 * line is a path segment indented four columns a level below its parent,
 * followed by its methods when a route ends there.
 */
function registeredRoutes(tree: string): Route[] {
  const routes: Route[] = [];
  const prefixes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│├└─\s]*)(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    prefixes.length = depth;
    const path = `${prefixes.join('')}${match[2]!}`;
    prefixes.push(match[2]!);
    if (match[3] !== undefined) routes.push({ path, methods: match[3].split(', ') });
  }
  return routes;
}

const ascii = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const anyText = fc.string({ unit: 'grapheme', maxLength: 80 });
/** Raw URL pieces: percent-encoded text, broken escapes, traversal, overlong values. */
const urlPiece = fc.oneof(
  anyText.map(encodeURIComponent),
  ascii.map((s) =>
    s.replace(/[^A-Za-z0-9._~:@!$'()*+,;=-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
  ),
  fc.constantFrom(
    'u1',
    'u0',
    'i1',
    '',
    '%',
    '%zz',
    '%C0%80',
    '%00',
    '..',
    '%2e%2e',
    '%2F',
    'x'.repeat(600),
    '-1',
    '1e9',
  ),
  fc.integer({ min: -5, max: 10_000 }).map(String),
);
const QUERY_KEYS = [
  'k',
  'limit',
  'ids',
  'surface',
  'device',
  'country',
  'version',
  'reason',
  'since',
  'model',
];
const queryString = fc.oneof(
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), urlPiece), urlPiece), { maxLength: 6 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
  fc.constantFrom('', '&&&', '=', 'k', 'k=&k=', '%', 'ids=' + 'i1,'.repeat(3000)),
);
const headerValue = fc.string({ unit: 'grapheme-ascii', maxLength: 120 });
const headers = fc.record(
  {
    'content-type': fc.oneof(
      { weight: 4, arbitrary: fc.constant('application/json') },
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=utf-16',
        'text/plain',
        'application/octet-stream',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ),
      { weight: 1, arbitrary: headerValue },
    ),
    authorization: fc.oneof(
      headerValue.map((s) => `Bearer ${s}`),
      headerValue.map((s) => `ApiKey ${s}`),
      fc.constant('Bearer eyJhbGciOiJub25lIn0.eyJzY29wZSI6ImFkbWluIn0.'),
      headerValue,
    ),
    'x-client-id': headerValue,
    'x-request-id': headerValue,
    'x-forwarded-for': fc.oneof(fc.ipV4(), headerValue),
    accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'image/png'),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
  },
  { requiredKeys: [] },
);
/** An event-shaped object with any of its fields replaced by any JSON value. */
const mutatedEvent = fc
  .tuple(
    fc.nat(1000),
    fc.dictionary(fc.constantFrom(...Object.keys(event(0)), 'extra'), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 3,
    }),
  )
  .map(([n, overrides]) => event(n, overrides));
const body = fc.oneof(
  { weight: 4, arbitrary: fc.array(mutatedEvent, { maxLength: 5 }).map((v) => JSON.stringify(v)) },
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  mutatedEvent.map((v) => JSON.stringify(v)),
  anyText,
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    '{',
    '[',
    '[{}',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{}}}',
    'null',
    '1e999',
  ),
);

function requestFor(routes: readonly Route[]): fc.Arbitrary<InjectOptions> {
  // Routes that take parameters or bodies get most of the requests: they have the most to get wrong.
  const route = fc.oneof(
    ...routes.map((r) => ({
      weight: r.path.includes(':') || r.methods.includes('POST') ? 6 : 1,
      arbitrary: fc.constant(r),
    })),
  );
  const known = route.chain((route) =>
    fc.record({
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...route.methods) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      path: fc.array(urlPiece, { minLength: 4, maxLength: 4 }).map((values) => {
        let i = 0;
        return route.path.replace(/:[A-Za-z]+|\*/g, () => values[i++ % values.length]!);
      }),
    }),
  );
  const unknown = fc.record({
    method: fc.constantFrom(...METHODS),
    path: fc.array(urlPiece, { maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
  });
  return fc
    .record({
      target: fc.oneof({ weight: 9, arbitrary: known }, { weight: 1, arbitrary: unknown }),
      query: queryString,
      headers,
      body,
    })
    .map(({ target, query, headers, body }) => ({
      method: target.method as InjectOptions['method'],
      url: query === '' ? target.path : `${target.path}?${query}`,
      headers,
      ...(body === undefined || target.method === 'GET' || target.method === 'HEAD' ? {} : { payload: body }),
    }));
}

test('fuzzed requests to every route never get a 5xx', { timeout: 600_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'recstream-http-fuzz-'));
  const dataDir = join(root, 'data');
  const env = {
    RECSTREAM_DATA_DIR: dataDir,
    RECSTREAM_HTTP_HOST: '127.0.0.1',
    RECSTREAM_HTTP_PORT: '0',
    RECSTREAM_LOG_FSYNC: 'never',
    // The per-client limit would answer most fuzzed requests with 429 before any route sees them.
    RECSTREAM_RATE_LIMIT_PER_S: '0',
  };
  try {
    const world = ['--users', '60', '--items', '40', '--events', '3000', '--days', '2', '--seed', '5'];
    await runCliOk(['simulate', ...world, '--data-dir', dataDir], env);
    await runCliOk(['process', '--app', 'features', '--once', '--data-dir', dataDir], env);
    const platform = await openPlatform(loadConfig(env), { logger: silentLogger() });
    const serving = await openServingStore(platform);
    const responder = await startResponder(platform, { online: serving.online });
    try {
      await responder.started;
      const routes = registeredRoutes(responder.app.printRoutes({ commonPrefix: false }));
      for (const path of [
        '/v1/events',
        '/v1/recommendations/:userId',
        '/v1/users/:userId/history',
        '/readyz',
      ])
        assert.ok(
          routes.some((r) => r.path === path),
          `${path} is not among the routes found: ${JSON.stringify(routes)}`,
        );
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      await fc.assert(
        fc.asyncProperty(requestFor(routes), async (request) => {
          const res = await responder.app.inject(request);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode >= 500) {
            failures.push(`${request.method} ${request.url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
            return false;
          }
          return true;
        }),
        { numRuns: REQUESTS, seed: 30, endOnFailure: true },
      );
      assert.deepEqual(failures, []);
      const sent = [...statuses.values()].reduce((a, b) => a + b, 0);
      const by = (lo: number, hi: number) =>
        [...statuses].filter(([s]) => s >= lo && s < hi).reduce((n, [, c]) => n + c, 0);
      reportFigure(t, 'http-fuzz', {
        routes: routes.length,
        requests: sent,
        status_2xx: by(200, 300),
        events_accepted_202: statuses.get(202) ?? 0,
        status_4xx: by(400, 500),
        status_5xx: by(500, 600),
      });
    } finally {
      await responder.close();
      await serving.close();
      await platform.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
