/**
 * What the ranker reads of the candidates and what it answers: each
 * item's row (its features and dense lanes) from a `RowSource` — for a
 * live request the online store's item views through the short-lived
 * `ItemRows` cache, at the views' frontiers, which go with the rows; for a
 * replayed request the item's features as of the request — and the click
 * probability the served pair's ranker gives each candidate for the user.
 * A live source starts its frontiers' read as it is made, beside the user
 * tower and the search, so ranking waits on one round trip, not two.
 *
 * @example
 * ```ts
 * const ranker = RankerRows.fromStore(online, catalog, 1000, 4);
 * const source = ranker.live();                                  // as the request starts
 * const { rows, frontiers } = await source(ids, query.ts);
 * const click = await ranker.click(bundle, query, user, ids, rows);
 * ```
 */
import { ITEM_DENSE } from '../../features/dense-lanes.js';
import { encodeItemDense } from '../../features/encoding.js';
import { encodedRankerInputs, type UserQuery, type UserTowerBatch } from '../../features/model-inputs.js';
import type { ItemView } from '../../features/views/item-view.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Item, ItemFeatures } from '../../schemas/generated/types.js';
import { ItemFrontiers } from './item-frontiers.js';
import { ItemRow, ItemRows } from './item-rows.js';
import type { LiveTable } from './live-table.js';
import type { ServingBundle } from './serving-bundle.js';

/**
 * Where a request's ranker reads its candidates' rows: those of `ids` at
 * request time `ts`, with the item views' frontiers they were read at (null
 * when not known).
 */
export type RowSource = (
  ids: readonly string[],
  ts: number,
) => Promise<{ rows: ItemRow[]; frontiers: number[] | null }>;

export class RankerRows {
  constructor(
    private readonly itemRows: ItemRows,
    private readonly catalog: LiveTable<Item>,
    private readonly frontiers?: ItemFrontiers,
  ) {}

  /**
   * Rows read from `online`'s item views and kept `ttlMs` (default 1 s),
   * with the frontiers of `partitions` item views (none when undefined).
   */
  static fromStore(
    online: OnlineStore,
    catalog: LiveTable<Item>,
    ttlMs?: number,
    partitions?: number,
  ): RankerRows {
    return new RankerRows(
      new ItemRows((ids) => online.getMany<ItemView>('item', ids), catalog, ttlMs),
      catalog,
      partitions === undefined ? undefined : new ItemFrontiers(online, partitions),
    );
  }

  /**
   * A live request's rows: from the item views at the frontiers of their
   * partitions (null when not kept or not known), whose read starts now.
   */
  live(): RowSource {
    const frontiers = this.frontiers?.read() ?? Promise.resolve(null);
    return async (ids, ts) => {
      const read = await frontiers;
      return { rows: await this.itemRows.getMany(ids, ts, read), frontiers: read };
    };
  }

  /**
   * A logged request's rows: each item's features as of the request where
   * `items` has them, else the online store's view now; no frontiers (the
   * logged list has its own).
   */
  asOf(items: ((itemId: string) => ItemFeatures | undefined) | undefined): RowSource {
    return async (ids, ts) => {
      const asOf = ids.map((id) => items?.(id));
      const missing = ids.filter((_, i) => asOf[i] === undefined);
      const read = missing.length === 0 ? [] : await this.itemRows.getMany(missing, ts);
      let next = 0;
      const rows = ids.map((id, i) => {
        const features = asOf[i];
        if (features === undefined) return read[next++]!;
        const dense = new Float32Array(ITEM_DENSE.length);
        encodeItemDense(features, ts, null, dense, 0);
        return new ItemRow(ts, features, dense, this.catalog.get(id));
      });
      return { rows, frontiers: null };
    };
  }

  /** The ranker's click probability of each of `ids`, from their `rows`. */
  async click(
    bundle: ServingBundle,
    query: UserQuery,
    user: UserTowerBatch,
    ids: readonly string[],
    rows: readonly ItemRow[],
  ): Promise<ArrayLike<number>> {
    const candidates = rows.map((row, i) => ({
      itemId: ids[i]!,
      features: row.features,
      dense: row.dense,
      encoded: row.encodedFor(bundle.vocab, ids[i]!),
    }));
    return (await bundle.models.ranker.score(encodedRankerInputs(query, candidates, user))).click;
  }

  /** The ranker's click probability of each of `ids` by id, their rows read from `source`. */
  async clickMap(
    bundle: ServingBundle,
    query: UserQuery,
    user: UserTowerBatch,
    ids: readonly string[],
    source: RowSource,
  ): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const { rows } = await source(ids, query.ts);
    const click = await this.click(bundle, query, user, ids, rows);
    return new Map(ids.map((id, i) => [id, click[i]!]));
  }
}
