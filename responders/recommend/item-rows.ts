/**
 * The ranker's item side of each candidate, kept for `ttlMs` (default 1 s)
 * of request time: the item's view read from the online store, its
 * features at the time of the request that read it (`itemFeaturesAt`, every
 * country), their `item_dense` row, and its ids in each served model's
 * vocabularies. Item views move with every interaction on the item, and a
 * ranker feature a second old ranks the same; candidates repeat (over
 * 90 % of them were read again within the second under the serving
 * bench's load), so most requests skip the read, the feature math and the
 * vocabulary lookups, whichever model serves them. A request whose time
 * is before an entry's, or more than `ttlMs` after it (an offline
 * evaluation at another time), reads the item again; so does one that found the item's partition's frontier
 * (`features/views/item-frontier.ts`) moved since the entry was read, so
 * the frontiers a served list logs say exactly what its ranker read.
 *
 * @example
 * ```ts
 * const rows = new ItemRows((ids) => online.getMany('item', ids), catalog);
 * const [row] = await rows.getMany(['i7'], Date.now());
 * const candidate = { itemId: 'i7', features: row.features, dense: row.dense, encoded: row.encodedFor(vocab, 'i7') };
 * ```
 */

import { ITEM_DENSE } from '../../features/dense-lanes.js';
import { encodeItemDense } from '../../features/encoding.js';
import { type EncodedItem, encodeRankerItem, type ModelVocabularies } from '../../features/model-inputs.js';
import { itemPartition } from '../../features/views/item-frontier.js';
import { type ItemView, itemFeaturesAt } from '../../features/views/item-view.js';
import { setRecent } from '../../runtime/state/recency.js';
import type { Item, ItemFeatures } from '../../schemas/generated/types.js';

/**
 * Models whose ids a row keeps: the promoted pair, an experiment's
 * variants and a hot reload's incoming pair.
 */
const MODELS_KEPT = 4;

/** Reads items' views from the online store, in the order asked; undefined for an item with none. */
export type ReadItemViews = (itemIds: readonly string[]) => Promise<(ItemView | undefined)[]>;

export class ItemRow {
  /**
   * The item's ids in each model's vocabularies that asked, newest last;
   * shared with the rows read again for the same catalog entry.
   */
  private encoded: EncodedItem[];

  constructor(
    /** The request time the features were computed at. */
    readonly ts: number,
    readonly features: ItemFeatures,
    /** `item_dense` at `ts` with no country: a request sets its own country's popularity. */
    readonly dense: Float32Array,
    /** The catalog entry the features were computed with; the encoded ids depend on it alone. */
    readonly item?: Item,
    previous?: ItemRow,
    /** The frontier of the item's partition when its view was read; null when not known. */
    readonly frontier: number | null = null,
  ) {
    // A row read again for the same catalog entry keeps its ids: re-encoding each re-read row was
    // ~15 % of the objects that outlived young-generation GCs under load.
    this.encoded =
      previous !== undefined && item !== undefined && previous.item === item ? previous.encoded : [];
  }

  /**
   * The item's ids in `vocab`, encoded once per model: an experiment's
   * variants take turns on the same rows, so each keeps its own (up to
   * `MODELS_KEPT`, the oldest dropped first).
   */
  encodedFor(vocab: ModelVocabularies, itemId: string): EncodedItem {
    for (const encoded of this.encoded) if (encoded.vocab === vocab) return encoded;
    const encoded = encodeRankerItem(itemId, this.features, vocab);
    if (this.encoded.length >= MODELS_KEPT) this.encoded.shift();
    this.encoded.push(encoded);
    return encoded;
  }
}

export class ItemRows {
  private readonly entries = new Map<string, ItemRow>();
  /** Decay factors `itemFeaturesAt` computes into; fills take turns on the one event loop. */
  private readonly scratch = new Float64Array(3);

  constructor(
    private readonly read: ReadItemViews,
    private readonly catalog: { get(itemId: string): Item | undefined },
    private readonly ttlMs = 1000,
    private readonly maxEntries = 200_000,
  ) {}

  /**
   * The rows of `itemIds` for a request at `ts`, in their order; one read
   * for those not kept. `frontiers`: each partition's frontier as the
   * request read it (null: not known, rows are kept by time alone).
   */
  async getMany(
    itemIds: readonly string[],
    ts: number,
    frontiers: readonly number[] | null = null,
  ): Promise<ItemRow[]> {
    const out: ItemRow[] = new Array(itemIds.length);
    const missing: number[] = [];
    const frontierOf = (itemId: string) =>
      frontiers === null ? null : frontiers[itemPartition(itemId, frontiers.length)]!;
    for (let i = 0; i < itemIds.length; i++) {
      const row = this.entries.get(itemIds[i]!);
      if (
        row !== undefined &&
        ts >= row.ts &&
        ts - row.ts < this.ttlMs &&
        (frontiers === null || row.frontier === frontierOf(itemIds[i]!))
      )
        out[i] = row;
      else missing.push(i);
    }
    if (missing.length === 0) return out;
    const views = await this.read(missing.map((i) => itemIds[i]!));
    // Expired entries are only replaced; past the bound the oldest go first (Map keeps insertion order,
    // and a refreshed row counts as new once the map nears its bound: runtime/state/recency.ts).
    if (this.entries.size + missing.length > this.maxEntries)
      for (const key of [...this.entries.keys()].slice(0, missing.length)) this.entries.delete(key);
    missing.forEach((i, j) => {
      const itemId = itemIds[i]!;
      const item = this.catalog.get(itemId);
      const features = itemFeaturesAt(views[j], ts, item, this.scratch);
      const dense = new Float32Array(ITEM_DENSE.length);
      encodeItemDense(features, ts, null, dense, 0);
      const row = new ItemRow(ts, features, dense, item, this.entries.get(itemId), frontierOf(itemId));
      setRecent(this.entries, itemId, row, this.maxEntries);
      out[i] = row;
    });
    return out;
  }
}
