import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastify from 'fastify';
import { Registry } from 'prom-client';
import { runtimeMetrics } from './metrics.js';
import { metricsRoutes } from './metrics-routes.js';

test('GET /metrics serves the runtime metrics in Prometheus text format', async () => {
  const registry = new Registry();
  const metrics = runtimeMetrics(registry);
  metrics.recordsIn.inc({ application: 'counts', namespace: 'default', topic: 'rec.interactions' }, 42);
  metrics.deadLetters.inc({
    application: 'counts',
    topic: 'rec.interactions',
    code: 'DESERIALIZATION_FAILED',
  });
  const app = fastify();
  await app.register(metricsRoutes, { registry, healthy: () => true });
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(response.statusCode, 200);
  assert.match(response.headers['content-type'] as string, /text\/plain/);
  assert.match(
    response.body,
    /recstream_records_in_total\{application="counts",namespace="default",topic="rec.interactions"\} 42/,
  );
  assert.match(response.body, /recstream_dead_letters_total\{.*code="DESERIALIZATION_FAILED".*\} 1/);
  assert.match(response.body, /# TYPE recstream_commit_seconds histogram/);
  await app.close();
});

test('GET /healthz follows the health callback', async () => {
  let healthy = true;
  const app = fastify();
  await app.register(metricsRoutes, { registry: new Registry(), healthy: () => healthy });
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  healthy = false;
  const down = await app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(down.statusCode, 503);
  assert.deepEqual(down.json(), { status: 'unhealthy' });
  await app.close();
});
