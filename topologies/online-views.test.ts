import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { StreamRunner } from '../runtime/engine/runner.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { InProcessOnlineStore } from '../runtime/online/in-process/in-process-store.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import { Materializer } from '../runtime/online/materializer.js';
import { testRedis } from '../runtime/online/redis/redis.fixture.js';
import { RedisOnlineStore } from '../runtime/online/redis/redis-online-store.js';
import { resolveViews } from '../runtime/online/view-spec.js';
import { avroSerializer } from '../runtime/processor/avro-serdes.js';
import { PLATFORM_TOPICS } from '../schemas/topics.js';
import { simulatedWorld, writeWorld } from '../test/features-world.js';
import { withScratchLog } from '../test/platform.js';
import { FEATURES_APPLICATION, type FeaturesOptions, featuresTopology } from './features.js';
import { ONLINE_VIEWS } from './online-views.js';

const PARTITIONS = 4;
const OPTIONS: FeaturesOptions = {
  latenessMs: 600_000,
  labelWindowMs: 1_800_000,
  watermarkIntervalMs: 60_000,
};

test('the features views in Redis equal the stores in-process, and an opted-out user has no key left in Redis', {
  timeout: 120_000,
}, async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  try {
    await withScratchLog('recstream-online-views-', async ({ dir, log, serde }) => {
      const world = simulatedWorld({
        seed: 9,
        users: 150,
        items: 80,
        events: 6000,
        days: 1,
        latenessMs: OPTIONS.latenessMs,
        partitions: PARTITIONS,
      });
      const optOuts = world.users.filter((u) => u.opt_out && world.optedOutLater.includes(u.user_id));
      assert.ok(optOuts.length > 0);
      await writeWorld(
        log,
        serde,
        { ...world, users: world.users.filter((u) => !optOuts.includes(u)) },
        PARTITIONS,
      );

      const topology = await featuresTopology(serde, OPTIONS);
      const runnerOptions = {
        topology,
        log,
        stateDir: join(dir, 'state'),
        engine: 'rocksdb' as const,
        deadLetters: avroSerializer(await serde.encoder('rec.dlq-value')),
        topics: PLATFORM_TOPICS,
        logger: silentLogger(),
      };
      const resolved = resolveViews(
        ONLINE_VIEWS.filter((v) => v.application === FEATURES_APPLICATION),
        [topology],
      );
      const store = await RedisOnlineStore.open({
        url: redis.url,
        keyPrefix: redis.prefix,
        views: resolved.views,
        logger: silentLogger(),
      });
      const materialize = async () => {
        const m = await Materializer.start({
          log,
          store,
          namespace: 'blue',
          sources: resolved.sources,
          logger: silentLogger(),
          activateIfNone: true,
        });
        await m.runUntilCaughtUp();
        await m.close();
      };
      const users = [...new Set(world.users.map((u) => u.user_id))];
      const items = [...new Set(world.items.map((i) => i.item_id))];
      const compare = async () => {
        const runner = await StreamRunner.start(runnerOptions);
        const local = new InProcessOnlineStore({ bindings: resolved.bindings });
        local.attach('local', runnersLookup(new Map([[FEATURES_APPLICATION, runner]])));
        await local.activate('local');
        try {
          for (const [view, keys] of [
            ['user', users],
            ['item', items],
            ['catalog', items],
          ] as const) {
            const expected = await local.getMany(view, keys);
            assert.ok(
              expected.some((v) => v !== undefined),
              `view ${view} holds values`,
            );
            assert.deepEqual(await store.getMany(view, keys), expected, `view ${view}`);
          }
        } finally {
          await local.close();
          await runner.close();
        }
      };
      try {
        await (await StreamRunner.start(runnerOptions)).runUntilCaughtUp();
        await materialize();
        await compare();
        for (const userId of world.optedOutLater)
          assert.equal((await redis.keys(`blue:user:{${userId}}`)).length, 1, 'active before opting out');

        const encoder = await serde.encoder('rec.users-value');
        await log.append(
          'rec.users',
          optOuts.map((u) => ({ key: u.user_id, value: encoder.encode(u), timestamp: u.updated_ts })),
        );
        await (await StreamRunner.start(runnerOptions)).runUntilCaughtUp();
        await materialize();
        await compare();
        for (const userId of world.optedOutLater) {
          assert.deepEqual(await redis.keys(`*{${userId}}`), [], `no key of ${userId} is left`);
          assert.equal(await store.get('user', userId), undefined);
        }
        const others = users.filter((u) => !world.optedOutLater.includes(u));
        assert.ok((await store.getMany('user', others)).some((v) => v !== undefined));
      } finally {
        await store.close();
      }
    });
  } finally {
    await redis.cleanup();
  }
});
