/**
 * The responder over Redis on loopback (RECSTREAM_REDIS_URL): the feature
 * views materialized by `recstream materialize`, a stateless responder
 * reading them through a link that can be cut. Personalised lists while
 * Redis answers; when the link is cut every request still gets 200 with
 * a popularity list and `fallback` naming the online store, never a 500;
 * personalised again once the link is back. Skipped, with the reason
 * printed, when no Redis answers on loopback.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startResponder } from '../../app/responder.js';
import { openServingStore } from '../../app/serving-store.js';
import { loadConfig } from '../../runtime/config.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import { cuttableLink, testRedis } from '../../runtime/online/redis/redis.fixture.js';
import { openPlatform } from '../../schemas/platform.js';
import { runCliOk } from '../../test/cli.js';
import { buildServedWorld, SERVED_WORLD_ENV } from '../../test/served-world.js';

interface Body {
  items: { item_id: string }[];
  model_version: string | null;
  fallback: string | null;
}

test('over Redis: personalised lists, popularity with a reason while Redis is cut off, personalised again after', {
  timeout: 300_000,
}, async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const link = await cuttableLink(redis.url);
  const root = await mkdtemp(join(tmpdir(), 'recstream-serve-redis-'));
  const dataDir = join(root, 'data');
  const env = {
    ...SERVED_WORLD_ENV,
    RECSTREAM_DATA_DIR: dataDir,
    RECSTREAM_REDIS_URL: link.url,
    RECSTREAM_REDIS_KEY_PREFIX: redis.prefix,
    RECSTREAM_HTTP_PORT: '0',
    RECSTREAM_SERVE_STORE_TIMEOUT_MS: '100',
  };
  try {
    await buildServedWorld(dataDir);
    await runCliOk(['materialize', '--once', '--data-dir', dataDir], env);
    const platform = await openPlatform(loadConfig(env), { logger: silentLogger() });
    const serving = await openServingStore(platform);
    assert.equal(serving.online.kind, 'redis');
    assert.equal(serving.runner, undefined, 'a Redis-backed responder runs no processor');
    const responder = await startResponder(platform, { online: serving.online, service: { pollMs: 10 } });
    const get = async (user: string) => {
      const res = await responder.app.inject({ method: 'GET', url: `/v1/recommendations/${user}?k=10` });
      return { status: res.statusCode, body: res.json() as Body };
    };
    try {
      await responder.started;
      const live = await get('u0');
      assert.equal(live.status, 200);
      assert.equal(live.body.fallback, null);
      assert.equal(live.body.model_version, 'recstream@1');
      assert.equal(live.body.items.length, 10);

      link.cut();
      for (const user of ['u0', 'u1', 'u2', 'u3', 'u4']) {
        const { status, body } = await get(user);
        assert.equal(status, 200, JSON.stringify(body));
        assert.match(String(body.fallback), /^online_store_(timeout|unavailable)$/);
        assert.equal(body.model_version, null);
        assert.equal(body.items.length, 10, 'popularity still fills the page');
      }
      link.restore();
      const deadline = Date.now() + 30_000;
      let back = await get('u0');
      while (back.body.fallback !== null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        back = await get('u0');
      }
      assert.equal(back.body.fallback, null);
      assert.equal(back.body.items.length, 10);
    } finally {
      await responder.close();
      await serving.close();
      await platform.close();
    }
  } finally {
    await link.close();
    await redis.cleanup();
    await rm(root, { recursive: true, force: true });
  }
});
