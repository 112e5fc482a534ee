import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PLATFORM_TOPICS } from '../../../schemas/topics.js';
import { StreamRunner } from '../../engine/runner.js';
import { OnlineStoreUnavailableError } from '../../errors.js';
import { EmbeddedLog } from '../../log/embedded/embedded-log.js';
import { partitionForKey } from '../../log/partitioner.js';
import { silentLogger } from '../../observability/logger.js';
import type { Processor, ProcessorContext, StreamRecord } from '../../processor/processor.js';
import { TopologyBuilder } from '../../processor/topology.js';
import { numberCodec } from '../../state/codecs/number-codec.js';
import type { KeyValueStore } from '../../state/store.js';
import {
  CONTRACT_VIEWS,
  FeatureSource,
  SOURCE_APPLICATION,
  SOURCE_PARTITIONS,
  type Tagged,
} from '../feature-source.js';
import { type OnlineStoreFixture, runOnlineStoreContract } from '../online-store.contract.js';
import type { FeatureView } from '../views.js';
import { type InProcessBinding, InProcessOnlineStore } from './in-process-store.js';
import { runnersLookup, type TaskLookup } from './task-lookup.js';

const bindings: InProcessBinding[] = CONTRACT_VIEWS.map((view) => ({
  view,
  application: SOURCE_APPLICATION,
  store: view.name,
}));

/** The contract fixture: the processors' task states on RocksDB, read where they run. */
async function openInProcessFixture(): Promise<OnlineStoreFixture> {
  const source = await FeatureSource.open();
  const store = new InProcessOnlineStore({ bindings });
  return {
    store,
    async createNamespace(namespace) {
      await source.createNamespace(namespace);
      store.attach(namespace, source.lookup(namespace));
    },
    apply: (namespace, writes) => source.apply(namespace, writes),
    // Tasks closed, then restored from their changelogs onto fresh disks: readers wait through the gap.
    replay: (namespace) => source.restore(namespace),
    residue: async (namespace) =>
      (await store.namespaces()).some((n) => n.name === namespace) ? SOURCE_PARTITIONS : 0,
    maxRoundTrips: (reads) =>
      new Set(reads.map((r) => `${r.view}/${partitionForKey(r.key, SOURCE_PARTITIONS)}`)).size,
    async close() {
      await store.close();
      await source.close();
    },
  };
}

runOnlineStoreContract('in-process', openInProcessFixture);

async function withSource(body: (source: FeatureSource) => Promise<void>): Promise<void> {
  const source = await FeatureSource.open();
  try {
    await source.createNamespace('blue');
    await body(source);
  } finally {
    await source.close();
  }
}

describe('in-process online store', () => {
  test('reads see what the tasks committed, never their pending writes', () =>
    withSource(async (source) => {
      const store = new InProcessOnlineStore({ bindings });
      store.attach('blue', source.lookup('blue'));
      await store.activate('blue');
      await source.apply('blue', [{ view: 'user', key: 'u1', value: { n: 1, tag: 'a' } }]);
      const state = source
        .lookup('blue')
        .state(SOURCE_APPLICATION, partitionForKey('u1', SOURCE_PARTITIONS))!;
      state.store<Tagged>('user').put('u1', { n: 2, tag: 'pending' });
      assert.deepEqual(await store.get('user', 'u1'), { n: 1, tag: 'a' });
      await state.commit(new Map([['rec.interactions', 99]]));
      assert.deepEqual(await store.get('user', 'u1'), { n: 2, tag: 'pending' });
    }));

  test('a task that stays closed is reported unavailable after waitMs, never thrown from bundle', () =>
    withSource(async (source) => {
      const closed = partitionForKey('u1', SOURCE_PARTITIONS);
      const real = source.lookup('blue');
      const lookup: TaskLookup = {
        partitions: real.partitions,
        state: (application, partition) =>
          partition === closed ? undefined : real.state(application, partition),
      };
      const store = new InProcessOnlineStore({ bindings, waitMs: 50 });
      store.attach('blue', lookup);
      await store.activate('blue');
      const other = ['i0', 'i1', 'i2', 'i3'].find((i) => partitionForKey(i, SOURCE_PARTITIONS) !== closed)!;
      await source.apply('blue', [{ view: 'item', key: other, value: { n: 1, tag: 'a' } }]);
      const started = Date.now();
      const bundle = await store.bundle('u1', { items: [other] });
      assert.ok(Date.now() - started >= 50);
      assert.deepEqual(bundle.unavailable, [`${SOURCE_APPLICATION}/${closed}`]);
      assert.deepEqual(bundle.items.get(other)?.get('item'), { n: 1, tag: 'a' });
      await assert.rejects(store.get('user', 'u1'), (err: unknown) => {
        assert.ok(err instanceof OnlineStoreUnavailableError);
        assert.match(err.message, new RegExp(`${SOURCE_APPLICATION}/${closed} not available .* after 50 ms`));
        return true;
      });

      const missing = new InProcessOnlineStore({ bindings, waitMs: 5000 });
      missing.attach('blue', { partitions: () => undefined, state: () => undefined });
      await missing.activate('blue');
      const asked = Date.now();
      assert.deepEqual((await missing.bundle('u1')).unavailable, [`${SOURCE_APPLICATION}/*`]);
      assert.ok(Date.now() - asked < 1000, 'an application not run here is not waited for');
    }));

  test('a read that races the close of its task is answered by the reopened task', () =>
    withSource(async (source) => {
      await source.apply('blue', [{ view: 'user', key: 'u1', value: { n: 1, tag: 'a' } }]);
      const real = source.lookup('blue');
      let restoring: Promise<void> | undefined;
      const lookup: TaskLookup = {
        partitions: real.partitions,
        state(application, partition) {
          const state = real.state(application, partition);
          // The first read gets the task, which then closes while that read is in the engine.
          restoring ??= Promise.resolve().then(() => source.restore('blue'));
          return state;
        },
      };
      const store = new InProcessOnlineStore({ bindings });
      store.attach('blue', lookup);
      await store.activate('blue');
      const before = store.stats().roundTrips;
      assert.deepEqual(await store.get('user', 'u1'), { n: 1, tag: 'a' });
      await restoring;
      assert.ok(store.stats().roundTrips - before >= 1);
    }));

  test('a view keyed unlike its records is routed by its routing key', () =>
    withSource(async (source) => {
      const byCountry: FeatureView<number> = {
        name: 'item_by_country',
        entity: 'segment',
        codec: numberCodec,
      };
      const store = new InProcessOnlineStore({
        bindings: [
          {
            view: byCountry,
            application: SOURCE_APPLICATION,
            // The fixture's tasks hold a numberCodec store named user_counts; keys here are `country|item`.
            store: 'user_counts',
            routingKey: (key) => key.slice(key.indexOf('|') + 1),
          },
        ],
      });
      store.attach('blue', source.lookup('blue'));
      await store.activate('blue');
      for (const item of ['i1', 'i2', 'i3']) {
        const state = source
          .lookup('blue')
          .state(SOURCE_APPLICATION, partitionForKey(item, SOURCE_PARTITIONS))!;
        state.store<number>('user_counts').put(`PT|${item}`, Number(item.slice(1)));
        await state.commit(new Map([['rec.interactions', 1]]));
      }
      assert.deepEqual(await store.getMany('item_by_country', ['PT|i1', 'PT|i2', 'PT|i3', 'US|i1']), [
        1,
        2,
        3,
        undefined,
      ]);
    }));

  test('serves the stores of a running StreamRunner, found through runnersLookup', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recstream-inprocess-'));
    const log = await EmbeddedLog.open(join(dir, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
    const partitions = 4;
    await log.ensureTopic({ name: 'rec.views', partitions });
    class CountPerKey implements Processor<string, never> {
      private counts!: KeyValueStore<number>;
      init(ctx: ProcessorContext<never>) {
        this.counts = ctx.store('counts');
      }
      async process(record: StreamRecord<string>) {
        this.counts.put(record.key!, ((await this.counts.get(record.key!)) ?? 0) + 1);
      }
    }
    const topology = new TopologyBuilder('counter')
      .addSource('views', ['rec.views'], { deserialize: (b: Buffer) => b.toString('utf8') })
      .addProcessor('count', () => new CountPerKey(), ['views'])
      .addStore({ name: 'counts', codec: numberCodec, keyedByRecordKey: true }, ['count'])
      .build();
    const runner = await StreamRunner.start({
      topology,
      log,
      stateDir: join(dir, 'state'),
      engine: 'rocksdb',
      deadLetters: { serialize: (letter) => Buffer.from(JSON.stringify(letter)) },
      topics: PLATFORM_TOPICS,
      logger: silentLogger(),
      commitIntervalMs: 10,
    });
    const running = runner.run();
    try {
      const view: FeatureView<number> = { name: 'views_per_user', entity: 'user', codec: numberCodec };
      const store = new InProcessOnlineStore({
        bindings: [{ view, application: 'counter', store: 'counts' }],
      });
      store.attach('live', runnersLookup(new Map([['counter', runner]])));
      await store.activate('live');
      const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
      const expected = users.map((_, i) => (i % 5) + 1);
      const records = users.flatMap((user, i) =>
        Array.from({ length: expected[i]! }, () => ({ key: user, value: Buffer.from('view') })),
      );
      await log.append('rec.views', records);
      const deadline = Date.now() + 10_000;
      let seen: (number | undefined)[] = [];
      while (Date.now() < deadline) {
        seen = await store.getMany<number>('views_per_user', users);
        if (seen.every((n, i) => n === expected[i])) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(seen, expected);
      const bundle = await store.bundle('u4');
      assert.equal(bundle.user.get('views_per_user'), 5);
      assert.ok(store.stats().roundTrips > 0);
    } finally {
      runner.stop();
      await running;
      await log.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
