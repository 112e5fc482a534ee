/**
 * The blue/green rebuild's "done means": interactions keep arriving while
 * the features application is rebuilt blue/green beside its running
 * instance, and concurrent readers hammer the user and item views of the
 * online store (in-process, and Redis on loopback when it answers) through
 * the rebuild, the swap and the drop: no read fails, and no user or item
 * that had a view before ever reads empty. Afterwards green's stores equal
 * those of a build from earliest over the same input (a fresh namespace
 * rebuilt from empty state, which is what an in-place rebuild does).
 */

import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { namespacedTopology, optionsInNamespace } from '../runtime/engine/namespace.js';
import { type RunnerOptions, StreamRunner } from '../runtime/engine/runner.js';
import { RunningApplication } from '../runtime/engine/running-application.js';
import { silentLogger } from '../runtime/observability/logger.js';
import { InProcessOnlineStore } from '../runtime/online/in-process/in-process-store.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import { Materializer } from '../runtime/online/materializer.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import { type TestRedis, testRedis } from '../runtime/online/redis/redis.fixture.js';
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
const FEATURE_VIEWS = ONLINE_VIEWS.filter((v) => v.application === FEATURES_APPLICATION);

/** Reads every checked key of the user and item views in a loop; counts failures and empty views. */
class Readers {
  reads = 0;
  readonly errors: string[] = [];
  readonly empties: string[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    readonly name: string,
    store: OnlineStore,
    keys: { user: readonly string[]; item: readonly string[] },
    concurrency = 3,
  ) {
    this.loops = Array.from({ length: concurrency }, async () => {
      while (this.running) {
        for (const view of ['user', 'item'] as const) {
          try {
            const values = await store.getMany(view, keys[view]);
            values.forEach((v, i) => {
              if (v === undefined) this.empties.push(`${view} ${keys[view][i]}`);
            });
          } catch (error) {
            this.errors.push(String(error));
          }
          this.reads++;
        }
        await new Promise((r) => setImmediate(r));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  check(): void {
    assert.ok(this.reads > 20, `${this.name}: only ${this.reads} reads`);
    assert.equal(this.errors.length, 0, `${this.name}: failed reads, e.g. ${this.errors.slice(0, 3)}`);
    assert.equal(this.empties.length, 0, `${this.name}: empty views, e.g. ${this.empties.slice(0, 5)}`);
  }
}

/** Keys of `view` that hold a value in `store` now. */
async function present(store: OnlineStore, view: string, keys: readonly string[]): Promise<string[]> {
  const values = await store.getMany(view, keys);
  return keys.filter((_, i) => values[i] !== undefined);
}

test('blue/green rebuild of features under live traffic: readers never fail nor see an empty view, green equals a fresh build', {
  timeout: 240_000,
}, async (t) => {
  // Without Redis the test is marked skipped (failed under CI=true) and checks the rest.
  const redis: TestRedis | undefined = await testRedis(t);
  await withScratchLog('recstream-features-blue-green-', async ({ dir, log, serde }) => {
    const cleanup: (() => Promise<void>)[] = [];
    try {
      const world = simulatedWorld({
        seed: 11,
        users: 150,
        items: 80,
        events: 8000,
        days: 1,
        latenessMs: OPTIONS.latenessMs,
        partitions: PARTITIONS,
      });
      await writeWorld(log, serde, world, PARTITIONS, { from: 0, to: 0.6 });
      const topology = await featuresTopology(serde, OPTIONS);
      const base: RunnerOptions = {
        topology,
        log,
        stateDir: join(dir, 'state', FEATURES_APPLICATION),
        engine: 'rocksdb',
        deadLetters: avroSerializer(await serde.encoder('rec.dlq-value')),
        topics: PLATFORM_TOPICS,
        logger: silentLogger(),
        commitIntervalMs: 50,
      };
      const app = new RunningApplication(await StreamRunner.start(base), base, undefined);
      cleanup.push(async () => {
        app.stop();
        await app.finished().catch(() => undefined);
      });
      while (!(await app.runner.drained())) await new Promise((r) => setTimeout(r, 50));

      const resolved = resolveViews(FEATURE_VIEWS, [topology]);
      const local = new InProcessOnlineStore({ bindings: resolved.bindings });
      local.attach('blue', runnersLookup(new Map([[FEATURES_APPLICATION, app.runner]])));
      await local.activate('blue');
      cleanup.push(() => local.close());

      let remote: RedisOnlineStore | undefined;
      let blueMaterializer: { m: Materializer; run: Promise<unknown> } | undefined;
      if (redis) {
        cleanup.push(() => redis.cleanup());
        remote = await RedisOnlineStore.open({
          url: redis.url,
          keyPrefix: redis.prefix,
          views: resolved.views,
          logger: silentLogger(),
          dropGraceMs: 200,
        });
        cleanup.push(() => remote!.close());
        // The `recstream materialize` role, tailing blue's changelogs into Redis namespace `blue`.
        const m = await Materializer.start({
          log,
          store: remote,
          namespace: 'blue',
          sources: resolved.sources,
          logger: silentLogger(),
          activateIfNone: true,
        });
        await m.runUntilCaughtUp();
        blueMaterializer = { m, run: m.run() };
        cleanup.push(async () => {
          blueMaterializer?.m.stop();
          await blueMaterializer?.run.catch(() => undefined);
          await blueMaterializer?.m.close();
        });
      }

      // Only keys with a view before the rebuild are checked; users who opt out later lose theirs on purpose.
      const users = [...new Set(world.users.map((u) => u.user_id))].filter(
        (u) => !world.optedOutLater.includes(u),
      );
      const items = [...new Set(world.items.map((i) => i.item_id))];
      const keys = { user: await present(local, 'user', users), item: await present(local, 'item', items) };
      assert.ok(
        keys.user.length > 50 && keys.item.length > 20,
        `${keys.user.length} users, ${keys.item.length} items`,
      );
      const readers = [new Readers('in-process', local, keys)];
      if (remote) {
        assert.deepEqual(await present(remote, 'user', keys.user), keys.user, 'Redis holds every user view');
        readers.push(new Readers('redis', remote, keys));
      }

      // Live traffic: the rest of the world's interactions, in small batches, during the whole rebuild.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        for (let step = 0.6; step < 1 && writing; step += 0.0025) {
          await writeWorld(log, serde, world, PARTITIONS, { from: step, to: Math.min(1, step + 0.0025) });
          written++;
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      let writtenAtSwap = 0;

      const progress: [number, number][] = [];
      const { records } = await app.blueGreen('green', {
        onProgress: (done, total) => progress.push([done, total]),
        onSwap: async (green) => {
          writtenAtSwap = written;
          local.attach('green', runnersLookup(new Map([[FEATURES_APPLICATION, green]])));
          await local.activate('green');
          // Resolves once no read still uses blue's tasks: only then may blue close.
          await local.drop('blue');
        },
      });
      assert.ok(records > 0 && progress.length > 0, 'progress was reported');
      assert.equal(
        await access(base.stateDir).then(
          () => 'left',
          () => 'gone',
        ),
        'gone',
      );

      if (remote && blueMaterializer) {
        // The Redis copy follows: green's changelogs into a new namespace, activated, then blue dropped.
        const green = resolveViews(FEATURE_VIEWS, [namespacedTopology(topology, 'green')]);
        const m = await Materializer.start({
          log,
          store: remote,
          namespace: 'green',
          sources: green.sources,
          logger: silentLogger(),
          from: 'earliest',
        });
        await m.runUntilCaughtUp();
        await m.close();
        await remote.activate('green');
        blueMaterializer.m.stop();
        await blueMaterializer.run;
        await blueMaterializer.m.close();
        blueMaterializer = undefined;
        await remote.drop('blue');
        assert.deepEqual(await redis!.keys('blue:*'), [], 'the blue Redis namespace is deleted');
      }

      writing = false;
      await writer;
      assert.ok(
        writtenAtSwap > 0 && written > writtenAtSwap,
        'traffic arrived during the build and after the swap',
      );
      // Readers go on a little after the drop, on green alone.
      await new Promise((r) => setTimeout(r, 300));
      for (const r of readers) await r.stop();
      for (const r of readers) r.check();

      while (!(await app.runner.drained())) await new Promise((r) => setTimeout(r, 50));
      app.stop();
      await app.finished();
      cleanup.splice(0, 1);

      const digest = async (options: RunnerOptions) => {
        const runner = await StreamRunner.start(options);
        try {
          return await runner.digest();
        } finally {
          await runner.close();
        }
      };
      const fresh = optionsInNamespace(base, 'fresh');
      await (await StreamRunner.start(fresh)).runUntilCaughtUp();
      const expected = await digest(fresh);
      assert.ok(Object.keys(expected).some((k) => k.startsWith('user-view/')));
      assert.deepEqual(await digest(optionsInNamespace(base, 'green')), expected);
    } finally {
      for (const step of cleanup.reverse()) await step().catch(() => undefined);
    }
  });
});
