import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { emptyUserView, type UserView } from '../../features/views/user-view.js';
import type { EventLog, PartitionOffsets } from '../../runtime/log/log.js';
import { runtimeMetrics } from '../../runtime/observability/metrics.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { Item, User } from '../../schemas/generated/types.js';
import { applicationNames } from '../../topologies/index.js';
import { serveMetrics } from '../recommend/serve-metrics.js';
import { CONSOLE_MODULES, type ConsoleOptions, consoleRoutes } from './console.js';

/** A log holding only the topics given, with their offsets; no records to read. */
function fakeLog(topics: Record<string, PartitionOffsets[]>): EventLog {
  return {
    describeTopic: async (name: string) =>
      topics[name] === undefined ? undefined : { name, partitions: topics[name].length, compacted: false },
    offsets: async (name: string) => topics[name] ?? [],
  } as unknown as EventLog;
}

function item(id: string, title: string, categories: string[]): Item {
  return {
    item_id: id,
    title,
    categories,
    tags: [],
    language: 'en',
    duration_s: 600,
    release_ts: null,
    maturity: 'all',
    available: true,
    updated_ts: 1,
  };
}

const CATALOG = new Map([
  ['i1', item('i1', 'The First Film', ['drama'])],
  ['i2', item('i2', 'Second Sight', ['sci-fi', 'thriller'])],
]);

const PROFILE: User = {
  user_id: 'u0',
  country: 'PT',
  language: 'pt',
  age_bucket: '25-34',
  signup_ts: 1,
  opt_out: false,
  updated_ts: 1,
};

function fakeService(model: string | null = 'recstream@2') {
  return {
    bundles: { status: () => ({ model, index: model === null ? null : 'items@3', problem: null }) },
    catalog: { size: CATALOG.size, get: (id: string) => CATALOG.get(id) },
    profiles: { get: (id: string) => (id === 'u0' ? PROFILE : undefined) },
  };
}

function u0View(): UserView {
  const view = emptyUserView();
  view.event_count = 2;
  view.ref_ts = 2_000;
  view.recent = [
    { item_id: 'i2', type: 'complete', ts: 2_000, watch_fraction: 0.9 },
    { item_id: 'i9', type: 'click', ts: 1_000, watch_fraction: null },
  ];
  return view;
}

async function appWith(options: Partial<ConsoleOptions> = {}): Promise<FastifyInstance> {
  const app = fastify();
  await app.register(consoleRoutes, {
    metrics: new Registry(),
    log: fakeLog({ 'rec.dlq': [{ partition: 0, start: 0, end: 3 }] }),
    serde: {} as Serde,
    modelName: 'recstream',
    indexName: 'items',
    adminEnabled: true,
    service: () => fakeService(),
    online: {
      get: async <V>(view: string, key: string) =>
        (view === 'user' && key === 'u0' ? u0View() : undefined) as V,
    },
    ...options,
  });
  return app;
}

test('GET / serves the console page, its modules and stylesheet, self-contained under a strict CSP', async () => {
  const app = await appWith();
  const page = await app.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /<script type="module" src="\/console\/console.js"><\/script>/);
  assert.match(page.body, /id="throughput-chart"/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
  const modules = new Map<string, string>();
  for (const file of CONSOLE_MODULES) {
    const js = await app.inject({ method: 'GET', url: `/console/${file}` });
    assert.equal(js.statusCode, 200, file);
    assert.match(String(js.headers['content-type']), /^text\/javascript/, file);
    assert.doesNotMatch(js.body, /x-client-id/, 'the page does not choose its rate-limit counter');
    modules.set(file, js.body);
  }
  // Every module a module imports is one the route serves.
  for (const [file, body] of modules)
    for (const [, imported] of body.matchAll(/ from '\.\/([\w-]+\.js)';/g))
      assert.ok(modules.has(imported!), `${file} imports ${imported}, which is not served`);
  assert.match(modules.get('status-panel.js')!, /\/v1\/status/);
  const css = await app.inject({ method: 'GET', url: '/console/console.css' });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
  // Nothing outside this responder: no absolute URLs to other hosts in what the page loads.
  for (const body of [page.body, ...modules.values(), css.body])
    assert.doesNotMatch(body, /(src|href)=["']?(https?:)?\/\//, 'no external resources');
  await app.close();
});

test('a missing console file is a 500 naming it, not a failed start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'recstream-console-'));
  try {
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    const app = await appWith({ assetsDir: dir });
    assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200);
    const js = await app.inject({ method: 'GET', url: '/console/console.js' });
    assert.equal(js.statusCode, 500);
    assert.equal(js.json().code, 'CONSOLE_MISSING');
    assert.match(js.json().error, /console\.js/);
    await app.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('GET /v1/status: per application records in/out and lag from this process, the DLQ, the served pair', async () => {
  const registry = new Registry();
  const metrics = runtimeMetrics(registry);
  const features = { application: 'features', namespace: 'default' };
  metrics.recordsIn.inc({ ...features, topic: 'rec.interactions' }, 120);
  metrics.recordsIn.inc({ ...features, topic: 'rec.items' }, 30);
  metrics.recordsOut.inc({ ...features, topic: 'rec.training-examples' }, 100);
  metrics.lag.set({ ...features, topic: 'rec.interactions', partition: '0' }, 4);
  metrics.lag.set({ ...features, topic: 'rec.interactions', partition: '1' }, 3);
  metrics.deadLetters.inc({ ...features, topic: 'rec.interactions', code: 'DECODE' }, 2);
  serveMetrics(registry).requests.inc({ status: '200' }, 5);
  const app = await appWith({
    metrics: registry,
    log: fakeLog({
      'rec.dlq': [
        { partition: 0, start: 0, end: 3 },
        { partition: 1, start: 1, end: 2 },
      ],
      'rec.interactions': [{ partition: 0, start: 0, end: 500 }],
    }),
  });
  const res = await app.inject({ method: 'GET', url: '/v1/status' });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  const row = body.applications.find((a: { application: string }) => a.application === 'features');
  assert.deepEqual(row, {
    application: 'features',
    namespace: 'default',
    running: true,
    records_in: 150,
    records_out: 100,
    lag: 7,
    dead_letters: 2,
  });
  const others = applicationNames().filter((name) => name !== 'features');
  for (const name of others) {
    const other = body.applications.find((a: { application: string }) => a.application === name);
    assert.deepEqual(
      other,
      {
        application: name,
        namespace: null,
        running: false,
        records_in: null,
        records_out: null,
        lag: null,
        dead_letters: null,
      },
      `${name} runs elsewhere`,
    );
  }
  assert.match(body.note, /not run in this process/);
  assert.deepEqual(body.dlq, { records: 4, this_process: 2 });
  assert.deepEqual(body.log, { interactions: 500 });
  assert.deepEqual(body.serving, {
    state: 'serving',
    model: 'recstream@2',
    index: 'items@3',
    problem: null,
    requests: 5,
    catalog_items: 2,
  });
  assert.deepEqual(body.admin, { enabled: true });
  await app.close();
});

test('GET /v1/status says when nothing is served: off without a service, starting, no model', async () => {
  const off = await appWith({ service: undefined, adminEnabled: false });
  const offBody = (await off.inject({ method: 'GET', url: '/v1/status' })).json();
  assert.equal(offBody.serving.state, 'off');
  assert.equal(offBody.dlq.records, 3);
  assert.deepEqual(offBody.admin, { enabled: false });
  // Without a service there is no catalog: the history and item routes are not served.
  assert.equal((await off.inject({ method: 'GET', url: '/v1/users/u0/history' })).statusCode, 404);
  await off.close();
  const starting = await appWith({ service: () => undefined });
  assert.equal(
    (await starting.inject({ method: 'GET', url: '/v1/status' })).json().serving.state,
    'starting',
  );
  assert.equal((await starting.inject({ method: 'GET', url: '/v1/users/u0/history' })).statusCode, 503);
  await starting.close();
  const noModel = await appWith({ service: () => fakeService(null), log: fakeLog({}) });
  const body = (await noModel.inject({ method: 'GET', url: '/v1/status' })).json();
  assert.equal(body.serving.state, 'no_model');
  assert.equal(body.dlq.records, 0, 'no rec.dlq yet');
  await noModel.close();
});

test('GET /v1/models with no versions published: the names and empty lists', async () => {
  const app = await appWith({ log: fakeLog({}) });
  const res = await app.inject({ method: 'GET', url: '/v1/models' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), {
    model: 'recstream',
    promoted: null,
    rollback_target: null,
    served_model: 'recstream@2',
    served_index: 'items@3',
    versions: [],
    index: 'items',
    indexes: [],
  });
  await app.close();
});

test('GET /v1/users/:userId/history: recent items with titles and categories, profile, unknown users', async () => {
  const app = await appWith();
  const res = await app.inject({ method: 'GET', url: '/v1/users/u0/history' });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.user_id, 'u0');
  assert.equal(body.known, true);
  assert.deepEqual(body.profile, { country: 'PT', age_bucket: '25-34', opt_out: false });
  assert.deepEqual(body.items, [
    {
      item_id: 'i2',
      title: 'Second Sight',
      categories: ['sci-fi', 'thriller'],
      type: 'complete',
      ts: 2_000,
      watch_fraction: 0.9,
    },
    { item_id: 'i9', title: null, categories: [], type: 'click', ts: 1_000, watch_fraction: null },
  ]);
  const limited = await app.inject({ method: 'GET', url: '/v1/users/u0/history?limit=1' });
  assert.equal(limited.json().items.length, 1);
  const unknown = await app.inject({ method: 'GET', url: '/v1/users/nobody/history' });
  assert.equal(unknown.statusCode, 200);
  assert.deepEqual(
    { known: unknown.json().known, items: unknown.json().items, profile: unknown.json().profile },
    { known: false, items: [], profile: null },
  );
  for (const url of [
    '/v1/users/u%200/history',
    '/v1/users/u0/history?limit=0',
    '/v1/users/u0/history?limit=x',
  ])
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 400, url);
  await app.close();
});

test('GET /v1/users/:userId/history is 503 ONLINE_STORE_UNAVAILABLE when the view cannot be read', async () => {
  const app = await appWith({
    online: {
      get: async () => {
        throw new Error('connection refused');
      },
    },
  });
  const res = await app.inject({ method: 'GET', url: '/v1/users/u0/history' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'ONLINE_STORE_UNAVAILABLE');
  await app.close();
});

test('GET /v1/items: title and categories per id, null for unknown ids; bad queries are 400', async () => {
  const app = await appWith();
  const res = await app.inject({ method: 'GET', url: '/v1/items?ids=i2,nope,i1' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().items, [
    {
      item_id: 'i2',
      title: 'Second Sight',
      categories: ['sci-fi', 'thriller'],
      maturity: 'all',
      available: true,
    },
    null,
    { item_id: 'i1', title: 'The First Film', categories: ['drama'], maturity: 'all', available: true },
  ]);
  const many = Array.from({ length: 201 }, (_, i) => `i${i}`).join(',');
  for (const url of [
    '/v1/items',
    '/v1/items?ids=',
    '/v1/items?ids=i1,,i2',
    `/v1/items?ids=${many}`,
    '/v1/items?ids=a&ids=b',
  ])
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 400, url);
  await app.close();
});

test('GET /v1/throughput: counters sampled on a timer over a window, so a chart has a history at once', async () => {
  const registry = new Registry();
  const metrics = runtimeMetrics(registry);
  const labels = { application: 'features', namespace: 'default', topic: 'rec.interactions' };
  metrics.lag.set({ ...labels, partition: '0' }, 0);
  metrics.lag.set(
    { application: 'features', namespace: 'green', topic: 'rec.interactions', partition: '0' },
    0,
  );
  const app = await appWith({ metrics: registry, sampleMs: 20, windowMs: 200 });
  metrics.recordsIn.inc(labels, 10);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const body = (await app.inject({ method: 'GET', url: '/v1/throughput' })).json();
  assert.equal(body.interval_ms, 20);
  assert.ok(
    body.samples.length >= 3 && body.samples.length <= 12,
    `${body.samples.length} samples in 200 ms`,
  );
  const last = body.samples.at(-1);
  assert.ok(last.ts - body.samples[0].ts <= 200, 'only the window is kept');
  assert.deepEqual(last.apps, { features: { in: 10, out: 0 }, 'features (green)': { in: 0, out: 0 } });
  assert.equal(last.interactions, 0);
  await app.close();
});
