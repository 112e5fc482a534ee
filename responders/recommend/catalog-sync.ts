/**
 * Keeps a serving bundle's index in step with the items it should hold:
 * the upserts and removals of an index delta, and the catalog changes the
 * responder follows (items added, changed or made unavailable since the
 * index was built are embedded with the model's item tower, indexed or
 * removed). The index's key table (`ItemKeys`) moves with every change,
 * ahead of the index on the bundle's thread, so a search answered meanwhile
 * may miss an item but never misnames one. Items are walked in slices, so
 * no walk holds the event loop for long.
 *
 * @example
 * ```ts
 * const sync = new CatalogSync({ ann, keys, embed, closed: () => false });
 * await sync.applyDelta(deltaManifest);
 * const embedded = await sync.syncCatalog(changedItems, removedIds);
 * ```
 */
import type { DeltaManifest } from '../../indexer/indexer.js';
import type { ThreadIndex } from '../../inference/thread-index.js';
import type { Item } from '../../schemas/generated/types.js';
import type { ItemKeys } from './item-keys.js';
import { Pacer } from './pacer.js';

const EMBED_BATCH = 512;
/**
 * Items walked between two turns of the event loop while a bundle loads or
 * syncs the catalog: walking 100,000 items at once held requests up for
 * tens to hundreds of milliseconds; 512 take about half a millisecond.
 */
const SLICE = 512;

/** The index a `CatalogSync` changes, and how it embeds items. */
export interface CatalogSyncOptions {
  /** The served index, on the bundle's thread. */
  readonly ann: ThreadIndex;
  /** The index's keys and the items behind them. */
  readonly keys: ItemKeys;
  /** The item tower's vectors of `items`, row by row. */
  readonly embed: (items: readonly Item[]) => Promise<Float32Array>;
  /** Whether the bundle has closed: an embedding walk stops there. */
  readonly closed: () => boolean;
}

export class CatalogSync {
  constructor(private readonly options: CatalogSyncOptions) {}

  /**
   * Applies a delta manifest's upserts (those newer than what is indexed)
   * and removals. Both changes are asked of the thread before the first
   * wait, so a caller may move its served label right after calling, before
   * awaiting: a search asked after that sees them, one asked before does not.
   */
  async applyDelta(manifest: DeltaManifest): Promise<void> {
    const { ann, keys } = this.options;
    const dims = ann.config.dimensions;
    const fresh = manifest.upserts.filter((u) => keys.indexedTs(u.item_id) <= u.updated_ts);
    const vectors = new Float32Array(fresh.length * dims);
    fresh.forEach((u, i) => {
      vectors.set(u.vector, i * dims);
    });
    const upserted = this.upsert(
      fresh.map((u) => [u.item_id, u.key, u.updated_ts]),
      vectors,
    );
    const removed = this.removeItems(manifest.removed.map((r) => r.item_id));
    await Promise.all([upserted, removed]);
  }

  /**
   * Brings the index up to date with catalog changes: available items that
   * are new or newer than their indexed version are embedded with the item
   * tower and upserted; unavailable and removed ones leave the index.
   * Returns how many items were embedded. `pacer` paces the walks over
   * `changed`; by default each slice only yields to the event loop.
   */
  async syncCatalog(
    changed: readonly Item[],
    removed: readonly string[],
    pacer = new Pacer({ share: 1, maxPauseMs: 0 }),
  ): Promise<number> {
    const { ann, keys, embed, closed } = this.options;
    const gone = [...removed];
    const leaving = new Set(removed);
    const stale: Item[] = [];
    for (let i = 0; i < changed.length; i++) {
      const item = changed[i]!;
      if (!item.available) gone.push(item.item_id);
      // An item removed in the same change is indexed anew, whatever version it was indexed at.
      else if (leaving.has(item.item_id) || keys.indexedTs(item.item_id) < item.updated_ts) stale.push(item);
      if (i % SLICE === SLICE - 1) await pacer.pause();
    }
    await this.removeItems(gone);
    let embedded = 0;
    for (let from = 0; from < stale.length && !closed(); from += EMBED_BATCH) {
      const batch = stale.slice(from, from + EMBED_BATCH);
      const vectors = await embed(batch);
      if (closed()) break;
      // A newer version may have been indexed while this batch was embedded.
      const rows = batch.flatMap((item, row) =>
        keys.indexedTs(item.item_id) < item.updated_ts ? [{ item, row }] : [],
      );
      const dims = ann.config.dimensions;
      const picked = new Float32Array(rows.length * dims);
      rows.forEach(({ row }, i) => {
        picked.set(vectors.subarray(row * dims, (row + 1) * dims), i * dims);
      });
      await this.upsert(
        rows.map(({ item }) => [item.item_id, keys.keyOf(item.item_id) ?? keys.nextKey, item.updated_ts]),
        picked,
      );
      embedded += rows.length;
    }
    return embedded;
  }

  private async upsert(
    rows: readonly (readonly [itemId: string, key: number, ts: number])[],
    vectors: Float32Array,
  ): Promise<void> {
    const { ann, keys } = this.options;
    const assigned = rows.map(([itemId, key, ts]) => {
      // A key is taken when it is handed out, so two items added in one call get two keys.
      const final = keys.keyOf(itemId) ?? Math.max(key, keys.nextKey);
      keys.track(itemId, final, ts);
      return final;
    });
    // Tracked before the thread indexes them: a search meanwhile may miss them, never misname them.
    await ann.upsert(assigned, vectors);
  }

  private async removeItems(itemIds: readonly string[]): Promise<void> {
    const { ann, keys } = this.options;
    const removed: number[] = [];
    for (const itemId of itemIds) {
      const key = keys.forget(itemId);
      if (key !== undefined) removed.push(key);
    }
    // Forgotten here first: a search answered before the thread removes them leaves them out by name.
    await ann.remove(removed);
  }
}
