import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type TestContext, test } from 'node:test';
import { pino } from 'pino';
import { interactionStream } from '../../bench/interaction-load.js';
import { openPlatform, type Platform } from '../../schemas/platform.js';
import { PLATFORM_TOPICS } from '../../schemas/topics.js';
import { interactionCountsTopology } from '../../topologies/interaction-counts.js';
import { loadConfig } from '../config.js';
import { StreamRunner } from '../engine/runner.js';
import { ConnectionError } from '../errors.js';
import type { EventLog, LogConsumer } from '../log/log.js';
import { partitionForKey } from '../log/partitioner.js';
import { silentLogger } from '../observability/logger.js';
import type { DeadLetterSerializer } from '../processor/dead-letter.js';
import type { Topology } from '../processor/topology.js';
import { TaskState } from '../state/task-state.js';
import { InProcessOnlineStore } from './in-process/in-process-store.js';
import { runnersLookup } from './in-process/task-lookup.js';
import { Materializer } from './materializer.js';
import { cuttableLink, type TestRedis, testRedis } from './redis/redis.fixture.js';
import { RedisOnlineStore } from './redis/redis-online-store.js';
import { type ResolvedViews, resolveViews } from './view-spec.js';

const PARTITIONS = 4;
const USERS = 200;
const letters: DeadLetterSerializer = { serialize: (letter) => Buffer.from(JSON.stringify(letter)) };

interface MaterializerWorld {
  readonly platform: Platform;
  readonly topology: Topology;
  readonly resolved: ResolvedViews;
  readonly redis: TestRedis;
  readonly dir: string;
  produce(seed: number, count: number): Promise<void>;
  /** Processes everything in the log with the real runner (RocksDB, changelogs), then closes its tasks. */
  process(): Promise<void>;
  /** A running runner and an in-process store over it, for comparing with Redis. */
  inProcess<T>(body: (store: InProcessOnlineStore) => Promise<T>): Promise<T>;
  redisStore(): Promise<RedisOnlineStore>;
  materializer(
    store: RedisOnlineStore,
    options?: Partial<Parameters<typeof Materializer.start>[0]>,
  ): Promise<Materializer>;
}

async function withWorld(t: TestContext, body: (world: MaterializerWorld) => Promise<void>) {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'recstream-materialize-'));
  const platform = await openPlatform(loadConfig({}, { dataDir: dir, logLevel: 'silent' }), {
    logger: silentLogger(),
  });
  const stores: RedisOnlineStore[] = [];
  try {
    await platform.log.ensureTopic({ name: 'rec.interactions', partitions: PARTITIONS });
    const topology = await interactionCountsTopology(platform.serde);
    const resolved = resolveViews(
      [{ view: 'counts', entity: 'user', application: 'interaction-counts', store: 'counts' }],
      [topology],
    );
    const encoder = await platform.serde.encoder('rec.interactions-value');
    const runnerOptions = {
      topology,
      log: platform.log,
      stateDir: platform.stateDir(topology.applicationId),
      engine: 'rocksdb' as const,
      deadLetters: letters,
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
      commitIntervalMs: 20,
    };
    const world: MaterializerWorld = {
      platform,
      topology,
      resolved,
      redis,
      dir,
      async produce(seed, count) {
        const events = [...interactionStream({ seed, users: USERS, items: 50, count })];
        await platform.log.append(
          'rec.interactions',
          events.map((e) => ({ key: e.user_id, value: encoder.encode(e), timestamp: e.ts })),
        );
      },
      async process() {
        await (await StreamRunner.start(runnerOptions)).runUntilCaughtUp();
      },
      async inProcess(fn) {
        const runner = await StreamRunner.start(runnerOptions);
        const store = new InProcessOnlineStore({ bindings: resolved.bindings });
        store.attach('local', runnersLookup(new Map([[topology.applicationId, runner]])));
        await store.activate('local');
        try {
          return await fn(store);
        } finally {
          await store.close();
          await runner.close();
        }
      },
      async redisStore() {
        const store = await RedisOnlineStore.open({
          url: redis.url,
          keyPrefix: redis.prefix,
          views: resolved.views,
          logger: silentLogger(),
          dropGraceMs: 50,
        });
        stores.push(store);
        return store;
      },
      materializer: (store, options = {}) =>
        Materializer.start({
          log: platform.log,
          store,
          namespace: 'blue',
          sources: resolved.sources,
          logger: silentLogger(),
          activateIfNone: true,
          ...options,
        }),
    };
    await body(world);
  } finally {
    for (const store of stores) await store.close();
    await platform.close();
    await redis.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

const USER_IDS = Array.from({ length: USERS }, (_, i) => `u${i}`);

test('Redis materialized from the changelogs serves exactly what the stores hold, and resumes where it stopped', (t) =>
  withWorld(t, async (world) => {
    await world.produce(1, 3000);
    await world.process();
    const store = await world.redisStore();
    const first = await world.materializer(store);
    const stats = await first.runUntilCaughtUp();
    await first.close();
    assert.ok(stats.records > 0);
    assert.equal(await store.activeNamespace(), 'blue', 'the first fill becomes active');
    const expected = await world.inProcess((local) => local.getMany('counts', USER_IDS));
    assert.ok(expected.filter((v) => v !== undefined).length > USERS / 2);
    assert.deepEqual(await store.getMany('counts', USER_IDS), expected);

    const again = await world.materializer(store);
    assert.deepEqual(await again.runUntilCaughtUp(), { records: 0, applied: 0, skipped: 0, batches: 0 });
    await again.close();

    await world.produce(2, 2000);
    await world.process();
    const tail = await world.materializer(store);
    const more = await tail.runUntilCaughtUp();
    await tail.close();
    assert.ok(more.records > 0 && more.records < stats.records + more.records);
    const now = await world.inProcess((local) => local.getMany('counts', USER_IDS));
    assert.notDeepEqual(now, expected);
    assert.deepEqual(await store.getMany('counts', USER_IDS), now);
  }));

test('a second materializer of a namespace waits for the lease; another namespace is free', (t) =>
  withWorld(t, async (world) => {
    await world.produce(8, 500);
    await world.process();
    const store = await world.redisStore();
    const first = await world.materializer(store);
    try {
      await assert.rejects(
        world.materializer(store),
        /namespace blue is being written by another materializer/,
      );
      const green = await world.materializer(store, { namespace: 'green' });
      await green.close();
    } finally {
      await first.close();
    }
    const second = await world.materializer(store);
    await second.close();
  }));

test('a replay from earliest, one record per batch, applies nothing and moves no view', (t) =>
  withWorld(t, async (world) => {
    await world.produce(3, 2000);
    await world.process();
    await world.produce(4, 2000);
    await world.process();
    const store = await world.redisStore();
    const live = await world.materializer(store);
    await live.runUntilCaughtUp();
    await live.close();
    const before = await store.getMany('counts', USER_IDS);
    const replay = await world.materializer(store, { from: 'earliest', batchSize: 7 });
    const stats = await replay.runUntilCaughtUp();
    await replay.close();
    assert.ok(stats.records > 0);
    assert.equal(stats.applied, 0);
    assert.ok(stats.skipped > USERS / 2, 'every older value was offered again and refused');
    assert.deepEqual(await store.getMany('counts', USER_IDS), before);
  }));

test("a store key deleted by its processor (opt-out purge) is gone from Redis, the user's keys with it", (t) =>
  withWorld(t, async (world) => {
    await world.produce(5, 2000);
    await world.process();
    const store = await world.redisStore();
    const live = await world.materializer(store);
    await live.runUntilCaughtUp();
    const victim = (await store.getMany('counts', USER_IDS)).findIndex((v) => v !== undefined);
    const userId = `u${victim}`;
    assert.equal((await world.redis.keys(`*{${userId}}`)).length, 1);
    // What a purge does in a processor: delete the key and commit, which tombstones the changelog.
    const owner = partitionForKey(userId, PARTITIONS);
    const state = await TaskState.open({
      dir: join(world.platform.stateDir('interaction-counts'), String(owner)),
      engine: 'rocksdb',
      log: world.platform.log,
      applicationId: 'interaction-counts',
      partition: owner,
      stores: world.topology.stores.map((s) => ({
        name: s.name,
        codec: s.codec,
        changelogTopic: s.changelogTopic,
      })),
    });
    state.store('counts').delete(userId);
    await state.commit(state.committedInputOffsets());
    await state.close();
    await live.runUntilCaughtUp();
    await live.close();
    assert.equal(await store.get('counts', userId), undefined);
    assert.deepEqual(await world.redis.keys(`*{${userId}}`), []);
    const replay = await world.materializer(store, { from: 'earliest', batchSize: 1 });
    await replay.runUntilCaughtUp();
    await replay.close();
    assert.deepEqual(await world.redis.keys(`*{${userId}}`), [], 'a replay does not bring the user back');
  }));

test('a running materializer that loses Redis logs it, backs off, and resumes without losing an update', (t) =>
  withWorld(t, async (world) => {
    await world.produce(6, 1000);
    await world.process();
    const link = await cuttableLink();
    const lines: { msg?: string; delayMs?: number }[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk, _enc, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      }),
    );
    const store = await RedisOnlineStore.open({
      url: link.url,
      keyPrefix: world.redis.prefix,
      views: world.resolved.views,
      logger,
    });
    const materializer = await world.materializer(store, { logger });
    const running = materializer.run();
    try {
      await waitUntil(async () => (await store.activeNamespace().catch(() => undefined)) === 'blue');
      link.cut();
      await world.produce(7, 1000);
      await world.process();
      await waitUntil(async () => lines.some((l) => /materializer: retriable failure/.test(l.msg ?? '')));
      link.restore();
      const expected = await world.inProcess((local) => local.getMany('counts', USER_IDS));
      const direct = await world.redisStore();
      await waitUntil(
        async () => JSON.stringify(await direct.getMany('counts', USER_IDS)) === JSON.stringify(expected),
      );
    } finally {
      materializer.stop();
      await running;
      await materializer.close();
      await store.close();
      await link.close();
    }
    assert.ok(lines.some((l) => /redis connection lost/.test(l.msg ?? '')));
    const pauses = lines
      .filter((l) => /materializer: retriable failure/.test(l.msg ?? ''))
      .map((l) => l.delayMs);
    assert.ok(
      pauses.length >= 1 && pauses.length < 30,
      `bounded retries, not a tight loop: ${pauses.length}`,
    );
    assert.equal(pauses[0], 100);
  }));

test('a running materializer whose log consumer fails for good goes on with a new one', (t) =>
  withWorld(t, async (world) => {
    await world.produce(8, 1000);
    await world.process();
    const failing = firstConsumerFails(world.platform.log);
    const store = await world.redisStore();
    const materializer = await world.materializer(store, { log: failing.log });
    const running = materializer.run();
    try {
      await waitUntil(async () => (await store.activeNamespace().catch(() => undefined)) === 'blue');
      failing.fail();
      await world.produce(9, 1000);
      await world.process();
      const expected = await world.inProcess((local) => local.getMany('counts', USER_IDS));
      await waitUntil(
        async () => JSON.stringify(await store.getMany('counts', USER_IDS)) === JSON.stringify(expected),
      );
    } finally {
      materializer.stop();
      await running;
      await materializer.close();
    }
  }));

/**
 * The log, whose first consumer fails every poll and seek with a retriable
 * error once `fail()` was called, as a Kafka consumer outlasted by a broker
 * outage does; consumers opened after it work.
 */
function firstConsumerFails(log: EventLog): { log: EventLog; fail(): void } {
  let broken = false;
  let first = true;
  const failing = (consumer: LogConsumer): LogConsumer =>
    new Proxy(consumer, {
      get(target, prop, receiver) {
        const member = Reflect.get(target, prop, receiver);
        if (typeof member !== 'function') return member;
        if (prop !== 'poll' && prop !== 'seek') return member.bind(target);
        return (...args: unknown[]) => {
          if (broken) throw new ConnectionError('the broker was away longer than the client retries');
          return member.apply(target, args);
        };
      },
    });
  const wrapped = new Proxy(log, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop !== 'consumer') return value.bind(target);
      return async (...args: unknown[]) => {
        const consumer = (await value.apply(target, args)) as LogConsumer;
        if (!first) return consumer;
        first = false;
        return failing(consumer);
      };
    },
  }) as EventLog;
  return { log: wrapped, fail: () => (broken = true) };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
