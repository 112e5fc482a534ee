/**
 * The lists the final ordering starts from: a personalised candidate list
 * diversified by first category, and a popularity list filtered for the
 * user. Both run past `k`, so the final ordering (./final-ordering.ts) can
 * pull a fresh item up into the page and still fill it around a promoted
 * slot.
 *
 * @example
 * ```ts
 * const ranked = diversify(order, ids, scores, { k: 10, share: 0.5, catalog });
 * const popular = popularItems(lists.top('PT'), { count: 18, seen, minor: false, catalog });
 * ```
 */
import type { Item, ServedReason } from '../../schemas/generated/types.js';
import type { RankedItem } from './final-ordering.js';

/** A catalog lookup. */
export interface CatalogLookup {
  get(itemId: string): Item | undefined;
}

/** Items only adults may be recommended. */
export const ADULT_ONLY = 'mature';
/** The age bucket `mature` items are kept from. */
export const MINOR_BUCKET = '13-17';

const RETRIEVED: ServedReason = 'retrieved';
const FALLBACK: ServedReason = 'fallback';
const EMPTY: ReadonlySet<string> = new Set();

/**
 * The page of `k` under the category cap (at most `share` of a page share
 * a first category; the rest move down the list, not out of it), then
 * every other candidate in score order.
 */
export function diversify(
  order: readonly number[],
  ids: readonly string[],
  scores: readonly number[],
  options: { readonly k: number; readonly share: number; readonly catalog: CatalogLookup },
): RankedItem[] {
  const { k, catalog } = options;
  const cap = Math.max(1, Math.ceil(k * options.share));
  const perCategory = new Map<string, number>();
  const page: RankedItem[] = [];
  const rest: RankedItem[] = [];
  for (const i of order) {
    const item: RankedItem = { item_id: ids[i]!, score: scores[i]!, reason: RETRIEVED, propensity: 1 };
    if (page.length === k) {
      rest.push(item);
      continue;
    }
    const category = catalog.get(ids[i]!)?.categories[0];
    const count = category === undefined ? 0 : (perCategory.get(category) ?? 0);
    if (category !== undefined && count >= cap) {
      rest.push(item);
      continue;
    }
    if (category !== undefined) perCategory.set(category, count + 1);
    page.push(item);
  }
  // What the cap deferred fills a short page first; the rest stay in score order.
  const fill = Math.min(k - page.length, rest.length);
  return page.concat(rest.slice(0, fill), rest.slice(fill));
}

/**
 * The first `count` items of a popularity list the user may get: not
 * excluded, not seen, available, and not `mature` for a minor. Scores only
 * order the list: 1 for the first, falling with rank.
 */
export function popularItems(
  list: readonly string[],
  options: {
    readonly count: number;
    readonly catalog: CatalogLookup;
    readonly minor: boolean;
    readonly seen?: ReadonlySet<string>;
    readonly exclude?: ReadonlySet<string>;
  },
): RankedItem[] {
  const { count, catalog, minor } = options;
  const seen = options.seen ?? EMPTY;
  const exclude = options.exclude ?? EMPTY;
  const items: RankedItem[] = [];
  for (const itemId of list) {
    if (items.length === count) break;
    if (exclude.has(itemId) || seen.has(itemId)) continue;
    const item = catalog.get(itemId);
    if (item?.available === false || (minor && item?.maturity === ADULT_ONLY)) continue;
    items.push({ item_id: itemId, score: 1 / (1 + items.length), reason: FALLBACK, propensity: 1 });
  }
  return items;
}
