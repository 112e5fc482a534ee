/**
 * The candidates' item views the ranker reads, kept for `ttlMs` (default
 * 1 s) so that a popular item is read once per second, not once per
 * request: item views move with every interaction on the item, and a
 * ranker feature a second old ranks the same. Only the items not cached
 * (or expired) are read, in one round trip.
 *
 * @example
 * ```ts
 * const cache = new ItemViewCache(online);
 * const views = await cache.getMany(['i1', 'i7'], Date.now());
 * ```
 */
import type { ItemView } from '../../processors/item-features/item-view.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';

interface Entry {
  readonly view: ItemView | undefined;
  readonly expires: number;
}

export class ItemViewCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly online: Pick<OnlineStore, 'getMany'>,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 200_000,
  ) {}

  /** The views of `itemIds`, in their order; undefined for an item with no view. */
  async getMany(itemIds: readonly string[], now: number): Promise<(ItemView | undefined)[]> {
    const out: (ItemView | undefined)[] = new Array(itemIds.length);
    const missing: number[] = [];
    itemIds.forEach((itemId, i) => {
      const entry = this.entries.get(itemId);
      if (entry !== undefined && entry.expires > now) out[i] = entry.view;
      else missing.push(i);
    });
    if (missing.length === 0) return out;
    const read = await this.online.getMany<ItemView>(
      'item',
      missing.map((i) => itemIds[i]!),
    );
    // Expired entries are only replaced; past the bound the oldest go first (Map keeps insertion order).
    if (this.entries.size + missing.length > this.maxEntries)
      for (const key of [...this.entries.keys()].slice(0, missing.length)) this.entries.delete(key);
    const expires = now + this.ttlMs;
    missing.forEach((i, j) => {
      out[i] = read[j];
      this.entries.delete(itemIds[i]!);
      this.entries.set(itemIds[i]!, { view: read[j], expires });
    });
    return out;
  }
}
