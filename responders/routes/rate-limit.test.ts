import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fastify, { type FastifyInstance } from 'fastify';
import { type ClientRateLimitOptions, clientRateLimit, RATE_LIMIT_DEFAULTS } from './rate-limit.js';

async function appWith(options: ClientRateLimitOptions): Promise<FastifyInstance> {
  const app = fastify();
  await app.register(clientRateLimit, options);
  // Registered after the limit, in a child plugin, as route plugins are.
  await app.register(async (child) => {
    child.get('/ping', async () => ({ ok: true }));
  });
  return app;
}

const ping = (app: FastifyInstance, headers: Record<string, string> = {}, remoteAddress = '10.0.0.1') =>
  app.inject({ method: 'GET', url: '/ping', headers, remoteAddress });

test('over the limit a client gets 429 RATE_LIMITED with Retry-After; another client id is unaffected', async () => {
  const app = await appWith({ max: 3, windowMs: 60_000 });
  for (let i = 0; i < 3; i++) assert.equal((await ping(app, { 'x-client-id': 'a' })).statusCode, 200);
  const limited = await ping(app, { 'x-client-id': 'a' });
  assert.equal(limited.statusCode, 429);
  assert.equal(limited.json().code, 'RATE_LIMITED');
  assert.match(limited.json().error, /more than 3 requests in 60000 ms/);
  const retryAfter = Number(limited.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${limited.headers['retry-after']}`);
  assert.equal((await ping(app, { 'x-client-id': 'b' })).statusCode, 200, 'client b has its own counter');
  // The same IP without a client id is counted by IP, apart from the ids sent from it.
  assert.equal((await ping(app)).statusCode, 200);
  await app.close();
});

test('without x-client-id clients are counted by IP', async () => {
  const app = await appWith({ max: 1, windowMs: 60_000 });
  assert.equal((await ping(app, {}, '10.0.0.1')).statusCode, 200);
  assert.equal((await ping(app, {}, '10.0.0.1')).statusCode, 429);
  assert.equal((await ping(app, {}, '10.0.0.2')).statusCode, 200);
  await app.close();
});

test('a new window lets the client in again', async () => {
  const app = await appWith({ max: 1, windowMs: 50 });
  assert.equal((await ping(app, { 'x-client-id': 'a' })).statusCode, 200);
  assert.equal((await ping(app, { 'x-client-id': 'a' })).statusCode, 429);
  await sleep(80);
  assert.equal((await ping(app, { 'x-client-id': 'a' })).statusCode, 200);
  await app.close();
});

test('defaults are 6000 per second; options that are not positive whole numbers are refused', async () => {
  assert.deepEqual(RATE_LIMIT_DEFAULTS, { max: 6000, windowMs: 1000, cacheSize: 10_000 });
  const app = await appWith({});
  const responses = await Promise.all(Array.from({ length: 50 }, () => ping(app)));
  assert.ok(responses.every((r) => r.statusCode === 200));
  await app.close();
  await assert.rejects(appWith({ max: 0 }), /max must be a positive whole number/);
  await assert.rejects(appWith({ windowMs: 1.5 }), /windowMs must be a positive whole number/);
});
