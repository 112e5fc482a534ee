/**
 * The experiment endpoints of the admin API over the real actions and an
 * embedded log: JWT-protected like the rest of the admin API, each refusal
 * a 4xx naming the field, each accepted call an event on rec.experiments.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { ExperimentRegistry } from '../registry/experiments/experiment-registry.js';
import { publishModelVersions } from '../registry/model-registry.js';
import { FileArtifactStore } from '../registry/model-store.js';
import { AccessPolicy } from '../responders/auth/access.js';
import { Authenticator } from '../responders/auth/authenticator.js';
import { adminRoutes } from '../responders/routes/admin.js';
import { loadConfig } from '../runtime/config.js';
import { silentLogger } from '../runtime/observability/logger.js';
import type { ModelVersion } from '../schemas/generated/types.js';
import { openPlatform, type Platform } from '../schemas/platform.js';
import { platformAdminActions } from './admin-actions.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';

async function token(scope: string): Promise<string> {
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ops@example.com')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));
}

/** The admin routes with experiments on a scratch platform whose model has v1 promoted and v2 candidate. */
async function withAdmin(fn: (app: FastifyInstance, platform: Platform, admin: string) => Promise<void>) {
  const dataDir = await mkdtemp(join(tmpdir(), 'recstream-admin-experiments-'));
  const platform = await openPlatform(loadConfig({ RECSTREAM_LOG_FSYNC: 'never' }, { dataDir }), {
    logger: silentLogger(),
  });
  const actions = platformAdminActions(platform, new FileArtifactStore(join(dataDir, 'artifacts')));
  const app = fastify();
  try {
    const versions = ([1, 2] as const).map(
      (version): ModelVersion => ({
        model: 'recstream',
        version,
        snapshot_id: `set-${version}`,
        lineage: [],
        created_ts: version,
        artifacts: [],
        metrics: {},
        status: version === 1 ? 'promoted' : 'candidate',
        status_ts: version,
        reason: null,
        parent_version: null,
        engine: 'test',
        device: 'cpu',
        params: {},
      }),
    );
    await publishModelVersions(platform, versions);
    const access = new AccessPolicy(await Authenticator.fromConfig({ jwtSecret: SECRET }), false);
    await app.register(access.plugin);
    await app.register(adminRoutes, { access, actions, experiments: actions });
    await fn(app, platform, `Bearer ${await token('admin')}`);
  } finally {
    await app.close();
    await actions.close();
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const AB = {
  id: 'ab',
  salt: 'ab-salt',
  traffic_end: 0.5,
  variants: [
    { name: 'control', model: 'promoted', share: 0.5 },
    { name: 'candidate', model: 'recstream@2', share: 0.5 },
  ],
};

test('without an admin token every experiment endpoint is refused before it reads or writes anything', async () => {
  await withAdmin(async (app, platform) => {
    const reader = `Bearer ${await token('users:read')}`;
    for (const [method, url] of [
      ['GET', '/admin/experiments'],
      ['GET', '/admin/experiments/ab'],
      ['POST', '/admin/experiments'],
      ['POST', '/admin/experiments/ab/stop'],
    ] as const) {
      const anonymous = await app.inject({ method, url, payload: method === 'POST' ? AB : undefined });
      assert.equal(anonymous.statusCode, 401, `${method} ${url}`);
      const wrongScope = await app.inject({ method, url, headers: { authorization: reader }, payload: AB });
      assert.equal(wrongScope.statusCode, 403, `${method} ${url}`);
    }
    assert.deepEqual((await ExperimentRegistry.load(platform.log, platform.serde)).all(), []);
  });
});

test('POST starts, GET lists and shows, POST …/stop stops: each an event on rec.experiments', async () => {
  await withAdmin(async (app, platform, authorization) => {
    const started = await app.inject({
      method: 'POST',
      url: '/admin/experiments',
      headers: { authorization },
      payload: AB,
    });
    assert.equal(started.statusCode, 201, started.body);
    assert.equal(started.json().experiment.status, 'running');
    assert.equal(started.json().replaced, null);

    const list = await app.inject({ method: 'GET', url: '/admin/experiments', headers: { authorization } });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().experiments, [started.json().experiment]);
    const one = await app.inject({ method: 'GET', url: '/admin/experiments/ab', headers: { authorization } });
    assert.deepEqual(one.json().experiment, started.json().experiment);

    const stopped = await app.inject({
      method: 'POST',
      url: '/admin/experiments/ab/stop',
      headers: { authorization },
      payload: { reason: 'guardrail looked bad' },
    });
    assert.equal(stopped.statusCode, 200, stopped.body);
    assert.equal(stopped.json().experiment.status, 'stopped');
    const registry = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.equal(registry.get('ab')?.reason, 'guardrail looked bad');
    assert.deepEqual(registry.running(), []);

    // A bare POST (curl -X POST) stops with the default reason; a stopped id starts afresh.
    await app.inject({ method: 'POST', url: '/admin/experiments', headers: { authorization }, payload: AB });
    const bare = await app.inject({
      method: 'POST',
      url: '/admin/experiments/ab/stop',
      headers: { authorization },
    });
    assert.equal(bare.json().experiment.reason, 'stopped through the admin API');
    const again = await app.inject({
      method: 'POST',
      url: '/admin/experiments',
      headers: { authorization },
      payload: AB,
    });
    assert.equal(again.json().replaced, 'stopped');
  });
});

test('refusals name the field: 400 for a bad experiment, 404 for an unknown id, 409 for an overlap or a running id', async () => {
  await withAdmin(async (app, platform, authorization) => {
    await app.inject({ method: 'POST', url: '/admin/experiments', headers: { authorization }, payload: AB });
    const post = (payload: unknown) =>
      app.inject({
        method: 'POST',
        url: '/admin/experiments',
        headers: { authorization },
        payload: payload as object,
      });
    const cases: [
      Promise<{ statusCode: number; json(): Record<string, unknown> }>,
      number,
      string,
      string,
    ][] = [
      [
        post({ ...AB, id: 'b', variants: [{ name: 'a', model: 'promoted', share: 0.4 }] }),
        400,
        'EXPERIMENT_INVALID',
        'variants',
      ],
      [
        post({
          ...AB,
          id: 'b',
          traffic_start: 0.5,
          traffic_end: 1,
          variants: [{ name: 'a', model: 'recstream@7', share: 1 }],
        }),
        400,
        'EXPERIMENT_INVALID',
        'variants[0].model',
      ],
      [post({ ...AB, id: 'b', budget: 3 }), 400, 'EXPERIMENT_INVALID', 'budget'],
      [post([1, 2]), 400, 'EXPERIMENT_INVALID', 'experiment'],
      [
        post({ ...AB, id: 'b', traffic_start: 0.25, traffic_end: 0.75 }),
        409,
        'EXPERIMENT_CONFLICT',
        'traffic_start',
      ],
      [post(AB), 409, 'EXPERIMENT_CONFLICT', 'id'],
      [
        app.inject({ method: 'GET', url: '/admin/experiments/nope', headers: { authorization } }),
        404,
        'EXPERIMENT_NOT_FOUND',
        'id',
      ],
      [
        app.inject({ method: 'POST', url: '/admin/experiments/nope/stop', headers: { authorization } }),
        404,
        'EXPERIMENT_NOT_FOUND',
        'id',
      ],
      [
        app.inject({
          method: 'POST',
          url: '/admin/experiments/ab/stop',
          headers: { authorization },
          payload: { why: 'x' },
        }),
        400,
        'EXPERIMENT_INVALID',
        'why',
      ],
    ];
    for (const [response, status, code, field] of cases) {
      const res = await response;
      assert.equal(res.statusCode, status, JSON.stringify(res.json()));
      assert.equal(res.json().code, code);
      assert.equal(res.json().field, field);
      assert.equal(typeof res.json().reason, 'string');
      assert.equal(typeof res.json().error, 'string');
    }
    const broken = await app.inject({
      method: 'POST',
      url: '/admin/experiments',
      headers: { authorization, 'content-type': 'application/json' },
      payload: '{ not json',
    });
    assert.equal(broken.statusCode, 400);
    assert.equal(broken.json().code, 'INVALID_BODY');
    const registry = await ExperimentRegistry.load(platform.log, platform.serde);
    assert.deepEqual(
      registry.all().map((e) => [e.id, e.status]),
      [['ab', 'running']],
    );
  });
});
