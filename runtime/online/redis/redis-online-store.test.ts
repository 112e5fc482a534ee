import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { ConnectionError, OnlineStoreError } from '../../errors.js';
import { silentLogger } from '../../observability/logger.js';
import { describeUser } from '../../observability/user-hash.js';
import { jsonCodec } from '../../state/codecs/json-codec.js';
import { CONTRACT_VIEWS, FeatureSource, type Tagged } from '../feature-source.js';
import { Materializer } from '../materializer.js';
import { type OnlineStoreFixture, runOnlineStoreContract } from '../online-store.contract.js';
import { ViewRegistry } from '../views.js';
import { RedisKeys } from './keys.js';
import { connectTestRedis, cuttableLink, type TestRedis, testRedis } from './redis.fixture.js';
import { RedisOnlineStore } from './redis-online-store.js';

const views = new ViewRegistry(CONTRACT_VIEWS);

async function openStore(redis: TestRedis, dropGraceMs = 100): Promise<RedisOnlineStore> {
  return RedisOnlineStore.open({
    url: redis.url,
    keyPrefix: redis.prefix,
    views,
    logger: silentLogger(),
    dropGraceMs,
  });
}

/** The contract fixture: feature stores → changelogs → the materializer → Redis. */
async function openRedisFixture(): Promise<OnlineStoreFixture | string> {
  const redis = await connectTestRedis();
  if (typeof redis === 'string') return redis;
  const source = await FeatureSource.open();
  const store = await openStore(redis);
  const materializers = new Map<string, Materializer>();
  const start = (namespace: string, from: 'committed' | 'earliest') =>
    Materializer.start({
      log: source.log,
      store,
      namespace,
      from,
      logger: silentLogger(),
      sources: CONTRACT_VIEWS.map((v) => ({ topic: source.changelog(namespace, v.name), view: v.name })),
    });
  return {
    store,
    async createNamespace(namespace) {
      await source.createNamespace(namespace);
      materializers.set(namespace, await start(namespace, 'committed'));
    },
    async apply(namespace, writes) {
      await source.apply(namespace, writes);
      await materializers.get(namespace)!.runUntilCaughtUp();
    },
    async replay(namespace) {
      // One writer per namespace (its lease): the live materializer steps aside for the replay.
      await materializers.get(namespace)!.close();
      const replay = await start(namespace, 'earliest');
      try {
        const stats = await replay.runUntilCaughtUp();
        assert.ok(stats.records > 0, 'the replay read the changelogs again');
        assert.equal(stats.applied, 0, 'nothing older than what Redis holds was applied');
      } finally {
        await replay.close();
      }
      materializers.set(namespace, await start(namespace, 'committed'));
    },
    residue: async (namespace) => (await redis.keys(`${namespace}:*`)).length,
    maxRoundTrips: () => 1,
    async close() {
      for (const m of materializers.values()) await m.close();
      await store.close();
      await source.close();
      await redis.cleanup();
    },
  };
}

runOnlineStoreContract('redis', openRedisFixture);

/** Runs `body` with a store on a fresh prefix, or skips with the reason Redis is unusable. */
function withRedis(
  body: (redis: TestRedis, store: RedisOnlineStore) => Promise<void>,
): (t: TestContext) => Promise<void> {
  return async (t) => {
    const redis = await testRedis(t);
    if (redis === undefined) return;
    const store = await openStore(redis);
    try {
      await body(redis, store);
    } finally {
      await store.close();
      await redis.cleanup();
    }
  };
}

const userCodec = jsonCodec<Tagged>();
const put = (key: string, n: number, version: number, floor?: number) => ({
  view: 'user',
  key,
  value: userCodec.encode({ n, tag: 't' }),
  version,
  ...(floor === undefined ? {} : { floor }),
});

describe('Redis online store', () => {
  test(
    'a write applies only when newer than the stored version; deletes leave no key behind',
    withRedis(async (redis, store) => {
      await store.createNamespace('blue');
      await store.activate('blue');
      assert.deepEqual(await store.write('blue', [put('u1', 1, 10)]), { applied: 1, skipped: 0 });
      assert.deepEqual(await store.write('blue', [put('u1', 0, 9), put('u1', 0, 10)]), {
        applied: 0,
        skipped: 2,
      });
      assert.deepEqual(await store.get('user', 'u1'), { n: 1, tag: 't' });
      await store.write('blue', [put('u1', 2, 11)]);
      assert.deepEqual(await store.get('user', 'u1'), { n: 2, tag: 't' });
      const key = new RedisKeys(redis.prefix).entity('blue', 'user', 'u1');
      assert.deepEqual(await redis.client.hgetall(key), { user: '{"n":2,"tag":"t"}', 'user@v': '11' });

      assert.deepEqual(await store.write('blue', [{ view: 'user', key: 'u1', value: null, version: 12 }]), {
        applied: 1,
        skipped: 0,
      });
      assert.equal(await redis.client.exists(key), 0, 'the last field gone, the hash is gone');
      // Without a floor an absent key takes any version; with one, only newer versions re-create it.
      assert.deepEqual(await store.write('blue', [put('u1', 3, 5, 12)]), { applied: 0, skipped: 1 });
      assert.equal(await store.get('user', 'u1'), undefined);
      assert.deepEqual(await store.write('blue', [put('u1', 4, 13, 12)]), { applied: 1, skipped: 0 });
      assert.deepEqual(await store.get('user', 'u1'), { n: 4, tag: 't' });
    }),
  );

  test(
    "one entity's views share one hash in one Cluster slot; every key is under the prefix and namespace",
    withRedis(async (redis, store) => {
      await store.createNamespace('blue');
      await store.write('blue', [
        put('u{1}', 1, 1),
        { view: 'user_counts', key: 'u{1}', value: Buffer.alloc(8), version: 2 },
        { view: 'item', key: 'i1', value: userCodec.encode({ n: 1, tag: 'i' }), version: 3 },
      ]);
      const keys = await redis.keys();
      assert.deepEqual(keys, [
        `${redis.prefix}:blue:item:{i1}`,
        `${redis.prefix}:blue:user:{u{1}}`,
        `{${redis.prefix}}:namespaces`,
      ]);
      assert.deepEqual((await redis.client.hkeys(`${redis.prefix}:blue:user:{u{1}}`)).sort(), [
        'user',
        'user@v',
        'user_counts',
        'user_counts@v',
      ]);
    }),
  );

  test(
    "an opted-out user's keys are gone once their views are deleted",
    withRedis(async (redis, store) => {
      await store.createNamespace('blue');
      await store.write('blue', [
        put('u7', 1, 1),
        { view: 'user_counts', key: 'u7', value: Buffer.alloc(8), version: 1 },
        put('u8', 1, 1),
      ]);
      assert.equal((await redis.keys('*u7*')).length, 1);
      await store.write('blue', [
        { view: 'user', key: 'u7', value: null, version: 2 },
        { view: 'user_counts', key: 'u7', value: null, version: 2 },
      ]);
      assert.deepEqual(await redis.keys('*u7*'), []);
      assert.equal((await redis.keys('*u8*')).length, 1);
    }),
  );

  test(
    'reads follow the pointer: a swap made by another client is seen by the next read',
    withRedis(async (redis, store) => {
      const other = await openStore(redis);
      try {
        for (const ns of ['blue', 'green']) {
          await store.createNamespace(ns);
          await store.write(ns, [put('u1', ns === 'blue' ? 1 : 2, 1)]);
        }
        await store.activate('blue');
        assert.equal(((await store.get('user', 'u1')) as Tagged).n, 1);
        await other.activate('green');
        const before = store.stats().roundTrips;
        assert.equal(((await store.get('user', 'u1')) as Tagged).n, 2);
        assert.equal(store.stats().roundTrips - before, 2, 'one extra round trip right after a swap');
        await store.get('user', 'u1');
        assert.equal(store.stats().roundTrips - before, 3);
      } finally {
        await other.close();
      }
    }),
  );

  test(
    'one writer lease per namespace: taken, refused to another owner, renewed, retaken once free',
    withRedis(async (_redis, store) => {
      await store.acquireLease('blue', 'a', 10_000);
      await store.acquireLease('blue', 'a', 10_000);
      await assert.rejects(store.acquireLease('blue', 'b', 10_000), (err: unknown) => {
        assert.ok(err instanceof OnlineStoreError);
        assert.equal(err.retriable, true);
        assert.match(err.message, /namespace blue is being written by another materializer \(a\)/);
        return true;
      });
      await store.acquireLease('green', 'b', 10_000);
      assert.equal(await store.renewLease('blue', 'a', 10_000), 'renewed');
      await assert.rejects(store.renewLease('blue', 'b', 10_000), /lost the writer lease of namespace blue/);
      await store.releaseLease('blue', 'b');
      await assert.rejects(store.acquireLease('blue', 'b', 10_000), /being written by another/);
      await store.releaseLease('blue', 'a');
      assert.equal(await store.renewLease('blue', 'b', 50), 'reacquired');
      await new Promise((resolve) => setTimeout(resolve, 120));
      await store.acquireLease('blue', 'c', 10_000);
    }),
  );

  test(
    'activating an unknown namespace and writing bad versions are refused with clear errors',
    withRedis(async (_redis, store) => {
      await assert.rejects(store.activate('nope'), /namespace nope does not exist; fill it first/);
      await assert.rejects(store.write('blue', [put('u1', 1, -1)]), /version -1 is not an offset/);
      await assert.rejects(store.write('blue', [put('u1', 1, 1.5)]), OnlineStoreError);
      await assert.rejects(
        store.write('blue', [{ view: 'nope', key: 'k', value: null, version: 1 }]),
        /unknown feature view "nope"/,
      );
      await assert.rejects(store.write('a:b', [put('u1', 1, 1)]), /namespace "a:b" must be/);
    }),
  );

  test(
    'a value its codec cannot decode is an error naming the view and the hashed user, not the user id',
    withRedis(async (_redis, store) => {
      await store.createNamespace('blue');
      await store.activate('blue');
      await store.write('blue', [{ view: 'user', key: 'alice', value: Buffer.from('not json'), version: 1 }]);
      await assert.rejects(store.get('user', 'alice'), (err: unknown) => {
        assert.ok(err instanceof OnlineStoreError);
        assert.ok(
          err.message.includes(`view user: the value of ${describeUser('alice')} does not decode`),
          err.message,
        );
        assert.doesNotMatch(err.message, /alice/);
        return true;
      });
    }),
  );

  test('an unreachable Redis is a retriable ConnectionError at once, not a hang or a crash', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const started = Date.now();
    await assert.rejects(
      RedisOnlineStore.open({
        url: `redis://:secret@127.0.0.1:${port}`,
        keyPrefix: 'x',
        views,
        logger: silentLogger(),
      }),
      (err: unknown) => {
        assert.ok(err instanceof ConnectionError);
        assert.equal(err.retriable, true);
        assert.match(err.message, new RegExp(`cannot reach Redis at 127.0.0.1:${port}`));
        assert.doesNotMatch(err.message, /secret/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 3000);
  });

  test('a lost connection fails calls at once with ConnectionError; they work again once it is back', async (t) => {
    const redis = await testRedis(t);
    if (redis === undefined) return;
    const link = await cuttableLink(redis.url);
    const store = await RedisOnlineStore.open({
      url: link.url,
      keyPrefix: redis.prefix,
      views,
      logger: silentLogger(),
    });
    try {
      await store.createNamespace('blue');
      await store.activate('blue');
      await store.write('blue', [put('u1', 1, 1)]);
      link.cut();
      const started = Date.now();
      await assert.rejects(store.get('user', 'u1'), (err: unknown) => {
        assert.ok(err instanceof ConnectionError, String(err));
        assert.equal(err.retriable, true);
        return true;
      });
      assert.ok(Date.now() - started < 2500, 'fails within the command timeout, no offline queue');
      link.restore();
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          assert.deepEqual(await store.get('user', 'u1'), { n: 1, tag: 't' });
          break;
        } catch (err) {
          assert.ok(err instanceof ConnectionError, String(err));
          if (Date.now() > deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    } finally {
      await store.close();
      await link.close();
      await redis.cleanup();
    }
  });
});
