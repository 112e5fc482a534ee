/**
 * The per-item view `item-features` maintains (store `item-view`, key
 * item_id), folded from every interaction with the item in event-time
 * order, and `itemFeaturesAt(view, t, catalog)`, the `ItemFeatures` of an
 * interaction at `t` from a view that holds only earlier interactions.
 *
 * Definitions (the point-in-time test recomputes each from raw events):
 * popularity counts non-impression interactions (`features/math/decay.ts`);
 * `popularity_by_country` the same with the one-day half-life per request
 * country; CTR and completion rate are Beta-smoothed ratios of counts;
 * distinct users come from a HyperLogLog sketch (`features/math/hll.ts`).
 *
 * @example
 * ```ts
 * const view = (await views.get(itemId)) ?? emptyItemView();
 * const before = itemFeaturesAt(view, event.ts, catalogAsOf(table, itemId, event.ts));
 * foldItemInteraction(view, event, scratch);
 * views.put(itemId, view);
 * ```
 */
import { avroCodec } from '../../runtime/state/codecs/avro-codec.js';
import type { ValueCodec } from '../../runtime/state/store.js';
import type { Interaction, ItemFeatures } from '../../schemas/generated/types.js';
import { addScaled, factorsBetween, rescale, UNIT_FACTORS } from '../math/decay.js';
import { hllAdd, hllEstimate, newSketch } from '../math/hll.js';
import { addToSortedMap } from '../math/sorted-map.js';
import type { CatalogAttributes } from './attributes.js';

export const ITEM_VIEW_STORE = 'item-view';

/** Beta prior of the smoothed CTR: (clicks + 1) / (impressions + 20). */
export const CTR_PRIOR = { hits: 1, misses: 19 } as const;
/** Beta prior of the completion rate: (completes + 1) / (views + 2). */
export const COMPLETION_PRIOR = { hits: 1, misses: 1 } as const;

export interface ItemView {
  /** Event time of the latest folded interaction; null before the first. */
  ref_ts: number | null;
  popularity_total: number;
  /** hl_1h, hl_1d, hl_7d of non-impression interactions, as of ref_ts. */
  popularity: number[];
  impressions: number;
  clicks: number;
  views: number;
  completes: number;
  ratings: number;
  rating_sum: number;
  /** HyperLogLog registers over user ids. */
  users: Buffer;
  /** The sketch's estimate, kept with it so reads need not recompute it. */
  users_estimate: number;
  /** One-day-decayed non-impression interactions per request country, as of ref_ts; keys in sorted order (`addToSortedMap`). */
  by_country: Record<string, number>;
}

export function emptyItemView(): ItemView {
  return {
    ref_ts: null,
    popularity_total: 0,
    popularity: [0, 0, 0],
    impressions: 0,
    clicks: 0,
    views: 0,
    completes: 0,
    ratings: 0,
    rating_sum: 0,
    users: newSketch(),
    users_estimate: 0,
    by_country: {},
  };
}

/** Store `item-view`: Avro, maps written in key order. */
export const itemViewCodec: ValueCodec<ItemView> = avroCodec<ItemView>(
  {
    type: 'record',
    name: 'ItemView',
    namespace: 'rec.state',
    fields: [
      { name: 'ref_ts', type: ['null', 'long'] },
      { name: 'popularity_total', type: 'long' },
      { name: 'popularity', type: { type: 'array', items: 'double' } },
      { name: 'impressions', type: 'long' },
      { name: 'clicks', type: 'long' },
      { name: 'views', type: 'long' },
      { name: 'completes', type: 'long' },
      { name: 'ratings', type: 'long' },
      { name: 'rating_sum', type: 'double' },
      { name: 'users', type: 'bytes' },
      { name: 'users_estimate', type: 'long' },
      { name: 'by_country', type: { type: 'map', values: 'double' } },
    ],
  },
  { topLevelMaps: ['by_country'] },
);

/** Folds one interaction, in place; one older than `ref_ts` (late) is added at its decayed weight. */
export function foldItemInteraction(view: ItemView, event: Interaction, scratch: Float64Array): void {
  const ts = event.ts;
  const previous = view.ref_ts;
  let weights: Float64Array = UNIT_FACTORS;
  if (previous === null || ts >= previous) {
    if (previous !== null && ts > previous) {
      const f = factorsBetween(previous, ts, scratch);
      rescale(view.popularity, 0, f);
      for (const c in view.by_country) view.by_country[c] = view.by_country[c]! * f[1]!;
    }
    view.ref_ts = ts;
  } else {
    weights = factorsBetween(ts, previous, scratch);
  }
  switch (event.type) {
    case 'impression':
      view.impressions++;
      break;
    case 'click':
      view.clicks++;
      break;
    case 'view':
      view.views++;
      break;
    case 'complete':
      view.completes++;
      break;
    case 'rate':
      view.ratings++;
      view.rating_sum += event.value ?? 0;
      break;
    default:
  }
  if (event.type !== 'impression') {
    addScaled(view.popularity, 0, 1, weights);
    view.popularity_total++;
    const country = event.context.country;
    if (country !== null) view.by_country = addToSortedMap(view.by_country, country, weights[1]!);
  }
  if (hllAdd(view.users, event.user_id)) view.users_estimate = hllEstimate(view.users);
}

/**
 * The item's features for an interaction at `t`, from a view holding only
 * earlier interactions. Given `onlyCountry`, `popularity_by_country` holds
 * that country's entry alone (none for null): what a reader of one
 * country's popularity needs, the ranker scoring a request, without
 * decaying every country the item was seen in.
 */
export function itemFeaturesAt(
  view: ItemView | undefined,
  t: number,
  catalog: CatalogAttributes | undefined,
  scratch: Float64Array = new Float64Array(3),
  onlyCountry?: string | null,
): ItemFeatures {
  const ref = view?.ref_ts ?? null;
  const features: ItemFeatures = {
    popularity: { total: 0, hl_1h: 0, hl_1d: 0, hl_7d: 0 },
    impressions: view?.impressions ?? 0,
    clicks: view?.clicks ?? 0,
    smoothed_ctr: 0,
    completion_rate: 0,
    mean_rating: view !== undefined && view.ratings > 0 ? view.rating_sum / view.ratings : null,
    unique_users_estimate: view?.users_estimate ?? 0,
    trending_score: 0,
    last_interaction_ts: ref,
    popularity_by_country: {},
    categories: catalog ? [...catalog.categories] : [],
    language: catalog?.language ?? null,
    duration_s: catalog?.duration_s ?? null,
    release_ts: catalog?.release_ts ?? null,
  };
  features.smoothed_ctr = Math.min(
    1,
    (features.clicks + CTR_PRIOR.hits) / (features.impressions + CTR_PRIOR.hits + CTR_PRIOR.misses),
  );
  const views = view?.views ?? 0;
  features.completion_rate = Math.min(
    1,
    ((view?.completes ?? 0) + COMPLETION_PRIOR.hits) /
      (views + COMPLETION_PRIOR.hits + COMPLETION_PRIOR.misses),
  );
  if (view !== undefined && ref !== null) {
    const f = factorsBetween(ref, Math.max(ref, t), scratch);
    features.popularity = {
      total: view.popularity_total,
      hl_1h: view.popularity[0]! * f[0]!,
      hl_1d: view.popularity[1]! * f[1]!,
      hl_7d: view.popularity[2]! * f[2]!,
    };
    if (onlyCountry === undefined)
      for (const c in view.by_country) features.popularity_by_country[c] = view.by_country[c]! * f[1]!;
    else if (onlyCountry !== null && Object.hasOwn(view.by_country, onlyCountry))
      features.popularity_by_country[onlyCountry] = view.by_country[onlyCountry]! * f[1]!;
  }
  features.trending_score = Math.log((1 + 24 * features.popularity.hl_1h) / (1 + features.popularity.hl_1d));
  return features;
}
