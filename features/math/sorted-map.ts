/**
 * Counter maps (category affinities, popularity by country) whose keys stay
 * in sorted order, so reading one into features — which must list keys in
 * a fixed order for equal bytes — walks it without sorting. A new key is
 * rare (a user's new category, an item's new country): it rebuilds the
 * map in order; every other add is in place.
 *
 * @example
 * ```ts
 * view.by_country = addToSortedMap(view.by_country, 'PT', 0.5);
 * for (const country in view.by_country) … // in sorted order
 * ```
 */

/** Adds `delta` to `map[key]`; returns the map, or a new one in key order when `key` is new. */
export function addToSortedMap(
  map: Record<string, number>,
  key: string,
  delta: number,
): Record<string, number> {
  const current = map[key];
  if (current !== undefined) {
    map[key] = current + delta;
    return map;
  }
  const out: Record<string, number> = {};
  let placed = false;
  for (const k in map) {
    if (!placed && key < k) {
      out[key] = delta;
      placed = true;
    }
    out[k] = map[k]!;
  }
  if (!placed) out[key] = delta;
  return out;
}
