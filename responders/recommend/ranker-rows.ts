/**
 * What the ranker reads of the candidates and what it answers: each
 * item's row (its features and dense lanes, from the online store's item
 * view through the short-lived `ItemRows` cache, or for a replayed request
 * the item's features as of the request), and the click probability the
 * served pair's ranker gives each candidate for the user. A live request
 * reads the item views' frontiers before its rows and returns them with
 * them; it starts that read early (`readFrontiers`), beside the user tower
 * and the search, so ranking waits on one round trip, not two.
 *
 * @example
 * ```ts
 * const ranker = RankerRows.fromStore(online, catalog, 1000, 4);
 * const frontiers = ranker.readFrontiers();                     // as the request starts
 * const { rows } = await ranker.rows(ids, query.ts, request.replay, frontiers);
 * const click = await ranker.click(bundle, query, user, ids, rows);
 * ```
 */
import { ITEM_DENSE } from '../../features/dense-lanes.js';
import { encodeItemDense } from '../../features/encoding.js';
import { encodedRankerInputs, type UserQuery, type UserTowerBatch } from '../../features/model-inputs.js';
import type { ItemView } from '../../features/views/item-view.js';
import type { OnlineStore } from '../../runtime/online/online-store.js';
import type { Item } from '../../schemas/generated/types.js';
import { ItemFrontiers } from './item-frontiers.js';
import { ItemRow, ItemRows } from './item-rows.js';
import type { LiveTable } from './live-table.js';
import type { ReplayRequest } from './recommend-request.js';
import type { ServingBundle } from './serving-bundle.js';

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

  /** The item views' frontiers, read now (null when not kept or not known); never rejects. */
  readFrontiers(): Promise<number[] | null> {
    return this.frontiers?.read() ?? Promise.resolve(null);
  }

  /**
   * The ranker's rows of `ids`: a replay's as-of item features where it has
   * them, else the online store's; with the frontiers a live request read
   * its views at (null for a replay, or when they are not known): those of
   * `frontiers` when the request started their read, else read first.
   */
  async rows(
    ids: readonly string[],
    ts: number,
    replay: ReplayRequest | undefined,
    frontiers?: Promise<number[] | null>,
  ): Promise<{ rows: ItemRow[]; frontiers: number[] | null }> {
    if (replay === undefined) {
      const read = await (frontiers ?? this.readFrontiers());
      return { rows: await this.itemRows.getMany(ids, ts, read), frontiers: read };
    }
    if (replay.items === undefined) return { rows: await this.itemRows.getMany(ids, ts), frontiers: null };
    const asOf = ids.map((id) => replay.items!(id));
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

  /** The ranker's click probability of each of `ids` by id, their item features read as for ranking (a replay's own). */
  async clickMap(
    bundle: ServingBundle,
    query: UserQuery,
    user: UserTowerBatch,
    ids: readonly string[],
    replay: ReplayRequest | undefined,
  ): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.rows(ids, query.ts, replay);
    const click = await this.click(bundle, query, user, ids, rows);
    return new Map(ids.map((id, i) => [id, click[i]!]));
  }
}
