/**
 * Popularity lists over item views in Redis on loopback: what they rank
 * and by which decay, countries topped up from the global list, background
 * rebuilds that pick changes up one at a time, and `close` in the middle
 * of one. Skipped, with the reason printed, when no Redis answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { emptyItemView, type ItemView, itemViewCodec } from '../../features/views/item-view.js';
import { silentLogger } from '../../runtime/observability/logger.js';
import type { OnlineWrite } from '../../runtime/online/online-store.js';
import { type TestRedis, testRedis } from '../../runtime/online/redis/redis.fixture.js';
import { RedisOnlineStore } from '../../runtime/online/redis/redis-online-store.js';
import { ViewRegistry } from '../../runtime/online/views.js';
import type { Item } from '../../schemas/generated/types.js';
import { catalogItem } from '../../test/features.js';
import { PopularityLists } from './popularity.js';

const DAY = 86_400_000;
const NAMESPACE = 'pop';
/** More items than one read chunk (256) twice over, so a rebuild takes several turns. */
const ITEMS = 600;

function view(hl1d: number, refTs: number, byCountry: Record<string, number> = {}): ItemView {
  return {
    ...emptyItemView(),
    ref_ts: refTs,
    popularity: [0, hl1d, 0],
    popularity_total: hl1d,
    by_country: byCountry,
  };
}

interface World {
  readonly store: RedisOnlineStore;
  readonly catalog: Map<string, Item>;
  write(views: ReadonlyMap<string, ItemView>, version: number): Promise<void>;
  close(): Promise<void>;
}

async function world(redis: TestRedis): Promise<World> {
  const store = await RedisOnlineStore.open({
    url: redis.url,
    keyPrefix: redis.prefix,
    views: new ViewRegistry([{ name: 'item', entity: 'item', codec: itemViewCodec }]),
    logger: silentLogger(),
  });
  await store.createNamespace(NAMESPACE);
  await store.activate(NAMESPACE);
  const now = Date.now();
  const catalog = new Map<string, Item>();
  const views = new Map<string, ItemView>();
  for (let i = 0; i < ITEMS; i++) {
    catalog.set(`i${i}`, catalogItem(`i${i}`));
    // Distinct scores, none above 700.
    views.set(`i${i}`, view(100 + i, now, i % 50 === 0 ? { PT: 1 + i } : {}));
  }
  // 5,000 ten days ago is ~5 today: the decay to now decides, not the stored value.
  views.set('i7', view(5000, now - 10 * DAY));
  catalog.set('gone', catalogItem('gone', { available: false }));
  views.set('gone', view(10_000, now));
  const write = async (changed: ReadonlyMap<string, ItemView>, version: number) => {
    const writes: OnlineWrite[] = [...changed].map(([key, value]) => ({
      view: 'item',
      key,
      value: itemViewCodec.encode(value),
      version,
    }));
    await store.write(NAMESPACE, writes);
  };
  await write(views, 1);
  return {
    store,
    catalog,
    write,
    async close() {
      await store.close();
      await redis.cleanup();
    },
  };
}

test('popularity lists rank available items by one-day popularity decayed to now; a country list is topped up from the global one', async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const w = await world(redis);
  const lists = await PopularityLists.start({
    online: w.store,
    catalog: w.catalog,
    logger: silentLogger(),
    depth: 20,
  });
  try {
    const global = Array.from({ length: 20 }, (_, i) => `i${ITEMS - 1 - i}`);
    assert.deepEqual(lists.top(null), global);
    assert.deepEqual(lists.top('JP'), global, 'a country without a list gets the global one');
    const pt = Array.from({ length: ITEMS / 50 }, (_, n) => `i${ITEMS - 50 - 50 * n}`);
    assert.deepEqual(lists.top('PT'), [...pt, ...global.filter((item) => !pt.includes(item))].slice(0, 20));
    assert.ok(!lists.top(null).includes('gone'), 'unavailable items are never listed');
    assert.ok(!lists.top(null).includes('i7'), 'an item popular ten days ago has decayed');
  } finally {
    await lists.close();
    await w.close();
  }
});

test('background rebuilds pick up changed views, one at a time, and close stops one midway', async (t) => {
  const redis = await testRedis(t);
  if (redis === undefined) return;
  const w = await world(redis);
  let reading = 0;
  let mostAtOnce = 0;
  let reads = 0;
  const online = {
    async getMany<V>(viewName: string, keys: readonly string[]): Promise<(V | undefined)[]> {
      reads++;
      mostAtOnce = Math.max(mostAtOnce, ++reading);
      try {
        return await w.store.getMany<V>(viewName, keys);
      } finally {
        reading--;
      }
    },
  };
  const lists = await PopularityLists.start({
    online,
    catalog: w.catalog,
    logger: silentLogger(),
    refreshMs: 1,
  });
  try {
    assert.equal(lists.top(null)[0], `i${ITEMS - 1}`);
    await w.write(new Map([['i3', view(900, Date.now())]]), 2);
    const deadline = Date.now() + 20_000;
    while (lists.top(null)[0] !== 'i3' && Date.now() < deadline) await sleep(20);
    assert.equal(lists.top(null)[0], 'i3', 'a rebuild saw the new view');
    assert.equal(mostAtOnce, 1, 'rebuilds never overlap');

    // Close while a rebuild is between two of its chunks: it resolves, and nothing is read after.
    const before = reads;
    while (reads === before) await sleep(1);
    await lists.close();
    const after = reads;
    await sleep(100);
    assert.equal(reads, after, 'no read after close');
    assert.equal(lists.top(null)[0], 'i3', 'the lists of the last whole rebuild stay');
  } finally {
    await lists.close();
    await w.close();
  }
});
