import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachedStore } from './cached-store.js';
import { jsonCodec, numberCodec } from './codecs/index.js';
import { MemoryEngine } from './memory/memory-engine.js';

/** Commits every pending write, as TaskState does, so the values become clean cache entries. */
async function commit<V>(store: CachedStore<V>, engine: MemoryEngine): Promise<void> {
  const n = store.beginFlush();
  const writes = store.flushWrites();
  await engine.write(writes.map((w) => ({ key: w.engineKey, value: w.value })));
  store.completeFlush(n);
}

test('the clean cache evicts the least recently read keys once it is over its size', async () => {
  const engine = new MemoryEngine();
  const store = new CachedStore<number>('s', engine, numberCodec, 100, 0);
  for (let i = 0; i < 100; i++) store.put(`k${i}`, i);
  await commit(store, engine);
  // k0 is the oldest entry; reading it with the cache full makes it the newest.
  assert.equal(await store.get('k0'), 0);
  // 65 more: one over the eviction threshold (size + an eighth, at least 64), so the 65 oldest go.
  for (let i = 100; i < 165; i++) store.put(`k${i}`, i);
  await commit(store, engine);
  assert.equal(store.needsLoad('k0'), false, 'k0 was read recently: still cached');
  assert.equal(store.needsLoad('k1'), true, 'k1 was never read: evicted');
  assert.equal(await store.get('k1'), 1, 'an evicted key is read back from the engine');
});

test('a store with no cache entries keeps no decoded value once its commit is done: each read decodes the engine’s bytes', async () => {
  const engine = new MemoryEngine();
  const store = new CachedStore<{ items: string[] }>('s', engine, jsonCodec(), 0, 0);
  const list = { items: ['i1', 'i2'] };
  store.put('k', list);
  assert.equal(await store.get('k'), list, 'a pending write is read back as it was put');
  await commit(store, engine);
  const first = await store.get('k');
  const second = await store.get('k');
  assert.deepEqual(first, list);
  assert.notEqual(first, list, 'the committed value is decoded from the engine, not kept');
  assert.notEqual(second, first, 'a read keeps nothing either');
  store.delete('k');
  await commit(store, engine);
  assert.equal(await store.get('k'), undefined);
});

test("a record's rollback restores each key it wrote: the earlier pending write, or the committed value", async () => {
  const engine = new MemoryEngine();
  const store = new CachedStore<{ n: number }>('s', engine, jsonCodec(), 100, 0);
  store.put('committed', { n: 1 });
  await commit(store, engine);
  store.beginRecord();
  store.put('pending', { n: 2 });
  store.beginRecord();
  const cached = (await store.get('committed'))!;
  cached.n = 99; // changed in place, then put: the clean cache entry is that object
  store.put('committed', cached);
  store.put('pending', { n: 3 });
  store.delete('pending');
  store.put('new', { n: 4 });
  store.rollbackRecord();
  assert.deepEqual(
    await store.get('committed'),
    { n: 1 },
    'read back from the engine, not the changed object',
  );
  assert.deepEqual(await store.get('pending'), { n: 2 }, 'the earlier record’s write stands');
  assert.equal(await store.get('new'), undefined);
  assert.equal(store.pendingCount(), 1);
});

test('a commit that fails while a record runs leaves the rollback restoring the commit’s writes', async () => {
  const engine = new MemoryEngine();
  const store = new CachedStore<number>('s', engine, numberCodec, 100, 0);
  store.beginRecord();
  store.put('k', 1);
  store.beginFlush();
  store.beginRecord();
  store.put('k', 2);
  store.abortFlush();
  store.rollbackRecord();
  assert.equal(await store.get('k'), 1);
  await commit(store, engine);
  assert.equal(await store.get('k'), 1, 'the first record’s write is committed by the retry');
});
