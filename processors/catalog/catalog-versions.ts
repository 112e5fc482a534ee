/**
 * The `catalog-versions` global table: for every item, its last few catalog
 * versions by `updated_ts` (see `features/math/versioned.ts`). Every task of
 * the features application reads it in full, so `user-features` (keyed by
 * user) can look up the categories of any item, and `item-features` the
 * attributes of its items, both *as of the interaction's event time*.
 * A tombstone removes the item.
 *
 * @example
 * ```ts
 * builder.addGlobalTable({ name: CATALOG_VERSIONS, topic: 'rec.items', deserializer, reduce: reduceCatalog });
 * const attrs = catalogAsOf(ctx.globalTable(CATALOG_VERSIONS), 'i7', event.ts);
 * attrs?.categories;
 * ```
 */
import { asOf, type Versioned, withVersion } from '../../features/math/versioned.js';
import type { CatalogAttributes } from '../../features/views/attributes.js';
import type { GlobalTableView } from '../../runtime/processor/processor.js';
import type { Item } from '../../schemas/generated/types.js';

export const CATALOG_VERSIONS = 'catalog-versions';

/** Global table reducer over rec.items; a record whose key is not its item_id is left out. */
export function reduceCatalog(
  current: Versioned<CatalogAttributes> | undefined,
  item: Item | null,
  record: { readonly key: string },
): Versioned<CatalogAttributes> | undefined {
  if (item === null) return undefined;
  if (item.item_id !== record.key) return current;
  return withVersion(current, item.updated_ts, {
    categories: item.categories,
    language: item.language,
    duration_s: item.duration_s,
    release_ts: item.release_ts,
  });
}

/** The item's catalog attributes as of `ts`; undefined when the catalog had no version of it yet. */
export function catalogAsOf(
  table: GlobalTableView<Versioned<CatalogAttributes>>,
  itemId: string,
  ts: number,
): CatalogAttributes | undefined {
  return asOf(table.get(itemId), ts);
}
