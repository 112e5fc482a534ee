/**
 * What the ranker reads of the candidates and what it answers: each
 * item's row (its features and dense lanes, from the online store's item
 * view through the short-lived `ItemRows` cache, or for a replayed request
 * the item's features as of the request), and the click probability the
 * served pair's ranker gives each candidate for the user. A live request
 * reads the item views' frontiers first and returns them with its rows.
 *
 * @example
 * ```ts
 * const ranker = new RankerRows(itemRows, catalog);
 * const { rows, frontiers } = await ranker.rows(ids, query.ts, request.replay);
 * const click = await ranker.click(bundle, query, user, ids, rows);
 * ```
 */
import { ITEM_DENSE } from '../../features/dense-lanes.js';
import { encodeItemDense } from '../../features/encoding.js';
import { encodedRankerInputs, type UserQuery, type UserTowerBatch } from '../../features/model-inputs.js';
import type { Item } from '../../schemas/generated/types.js';
import type { ItemFrontiers } from './item-frontiers.js';
import { ItemRow, type ItemRows } from './item-rows.js';
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
   * The ranker's rows of `ids`: a replay's as-of item features where it has
   * them, else the online store's; with the frontiers a live request read
   * its views at (null for a replay, or when they are not known).
   */
  async rows(
    ids: readonly string[],
    ts: number,
    replay: ReplayRequest | undefined,
  ): Promise<{ rows: ItemRow[]; frontiers: number[] | null }> {
    if (replay === undefined) {
      const frontiers = (await this.frontiers?.read()) ?? null;
      return { rows: await this.itemRows.getMany(ids, ts, frontiers), frontiers };
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
