/**
 * Recency for the bounded maps that evict their oldest entries first (a
 * `Map` iterates in insertion order): `setRecent` sets a key and moves it to
 * the newest end, but only once the map is within an eighth of its bound.
 * Below that nothing is evicted and the order is never used, while a delete
 * and re-insert on every read leaves holes that make V8 rebuild the map's
 * table again and again: under the serving bench's load those tables were
 * ~10 % of what a responder's process promoted to the old generation.
 *
 * `evictAt` and `evictOldest` keep such a map near its bound.
 *
 * @example
 * ```ts
 * const value = cache.get(key);
 * if (value !== undefined) setRecent(cache, key, value, 100_000);
 * if (cache.size > evictAt(100_000)) evictOldest(cache, 100_000);
 * ```
 */
export function setRecent<K, V>(map: Map<K, V>, key: K, value: V, bound: number): void {
  if (map.size >= bound - (bound >>> 3)) map.delete(key);
  map.set(key, value);
}

/**
 * The size at which a map bounded to `bound` entries is evicted down to it.
 * Evicting one entry per insert would be quadratic: Map deletes leave holes
 * at the front that every new keys() iterator walks past until V8 compacts
 * the table. Letting the map overshoot by an eighth and then evicting down
 * to its bound amortises that walk.
 */
export function evictAt(bound: number): number {
  return bound + Math.max(64, bound >>> 3);
}

/** Deletes a map's oldest entries (its first in insertion order) until `size` are left. */
export function evictOldest(map: Map<string, unknown>, size: number): void {
  let excess = map.size - size;
  if (excess <= 0) return;
  for (const key of map.keys()) {
    map.delete(key);
    if (--excess === 0) return;
  }
}
