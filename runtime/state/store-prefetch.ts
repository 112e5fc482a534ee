/**
 * Warming a task's store caches in bulk. An engine read per cold key costs
 * a thread-pool hop (tens of microseconds); `prefetchStores` reads the keys
 * of a whole batch in one round trip, and `indexStoreKeys` gives each small
 * store the set of its committed keys on open, so a key missing from it is
 * known absent without a read (what a fresh start or a rebuild from
 * earliest mostly asks about).
 *
 * @example
 * ```ts
 * await indexStoreKeys(engine, stores);                 // on open
 * await prefetchStores(engine, stores, batchKeys, () => closed); // per polled batch
 * ```
 */
import type { CachedStore } from './cached-store.js';
import { prefixedKey } from './keys.js';
import type { StoreEngine } from './store.js';

/** Stores up to this size get their key index by a scan on open (about 5 µs a key); larger ones go without. */
const KEY_SCAN_LIMIT = 50_000;

/**
 * Loads the committed values of `keys` into the caches of `stores` with one
 * engine round trip; keys already pending or cached are skipped, and nothing
 * is filled once `closed()` says the task state closed during the read.
 */
export async function prefetchStores(
  engine: StoreEngine,
  stores: readonly CachedStore<unknown>[],
  keys: readonly string[],
  closed: () => boolean,
): Promise<void> {
  const wanted: { store: CachedStore<unknown>; key: string; generation: number }[] = [];
  const engineKeys: Buffer[] = [];
  for (const store of stores) {
    const generation = store.cacheGeneration();
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key) || !store.needsLoad(key)) continue;
      seen.add(key);
      wanted.push({ store, key, generation });
      engineKeys.push(prefixedKey(store.prefix, key));
    }
  }
  if (wanted.length === 0) return;
  const values = await engine.getMany(engineKeys);
  if (closed()) return;
  wanted.forEach(({ store, key, generation }, i) => {
    store.fill(key, values[i], generation);
  });
}

/** Hands every store of at most KEY_SCAN_LIMIT committed entries the set of its keys, scanned from the engine. */
export async function indexStoreKeys(
  engine: StoreEngine,
  stores: readonly CachedStore<unknown>[],
): Promise<void> {
  for (const store of stores) {
    if (store.approximateCount() > KEY_SCAN_LIMIT) continue;
    const keys = new Set<string>();
    for await (const [key] of engine.iterate({ gte: store.prefix, lt: store.prefixEnd }))
      keys.add(key.toString('utf8', store.prefix.length));
    store.trackKeys(keys);
  }
}
