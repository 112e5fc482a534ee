/**
 * The `k` best of `values` under `compare` (negative: the first is better),
 * best first: what `[...values].sort(compare).slice(0, k)` returns for a
 * total order, without sorting them all. Popularity lists keep 500 of
 * ~100,000 items; sorting all of them on the event loop held requests up
 * for tens of milliseconds every refresh.
 *
 * @example
 * ```ts
 * topK([5, 1, 4, 2], 2, (a, b) => b - a); // [5, 4]
 * ```
 */
export function topK<T>(values: Iterable<T>, k: number, compare: (a: T, b: T) => number): T[] {
  const kept: T[] = [];
  if (k <= 0) return kept;
  for (const value of values) {
    if (kept.length === k && compare(value, kept[k - 1]!) >= 0) continue;
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compare(kept[mid]!, value) <= 0) low = mid + 1;
      else high = mid;
    }
    kept.splice(low, 0, value);
    if (kept.length > k) kept.pop();
  }
  return kept;
}
