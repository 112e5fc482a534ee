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
