/**
 * The lanes of the declared numeric features (feature-service.ts), in
 * column order: what `encoding.ts` writes at each index and what the
 * manifest's `dense` lists.
 *
 * @example
 * ```ts
 * const row = new Float32Array(USER_DENSE.length);
 * ITEM_DENSE.indexOf('smoothed_ctr'); // 6
 * ```
 */

/** `user_dense`: the user view's numbers as of the event (or the request). */
export const USER_DENSE = [
  'log_event_count',
  'log_decayed_1h',
  'log_decayed_1d',
  'log_decayed_7d',
  'log_impressions_7d',
  'log_clicks_7d',
  'log_completes_7d',
  'log_skips_7d',
  'mean_watch_fraction',
  'has_watch_fraction',
  'log_session_count',
  'log_session_events',
  'log_hours_since_active',
  'is_first_event',
  'log_minutes_in_session',
] as const;

/** `item_dense`: the item view's numbers before the event, in the event's country. */
export const ITEM_DENSE = [
  'log_popularity_total',
  'log_popularity_1h',
  'log_popularity_1d',
  'log_popularity_7d',
  'log_impressions',
  'log_clicks',
  'smoothed_ctr',
  'completion_rate',
  'mean_rating_5',
  'has_rating',
  'log_unique_users',
  'trending_score',
  'log_hours_since_interaction',
  'never_interacted',
  'log_popularity_in_country',
  'log_duration_min',
  'log_days_since_release',
] as const;

/** `cross_dense`: the user view against the candidate item. */
export const CROSS_DENSE = [
  'category_affinity_sum',
  'category_affinity_max',
  'same_language',
  'in_recent_history',
  'recency_in_history',
] as const;

/** `catalog_dense`: a catalog item's static numbers (the item tower's). */
export const CATALOG_DENSE = [
  'log_duration_min',
  'has_duration',
  'release_decades_since_1970',
  'has_release',
  'maturity_level',
] as const;

/**
 * Each lane's index by name, so an encoder writes a lane by its name and a
 * reordered or inserted lane moves every write with it.
 *
 * @example
 * ```ts
 * const ITEM = laneIndex(ITEM_DENSE);
 * out[at + ITEM.smoothed_ctr] = features.smoothed_ctr;
 * ```
 */
export function laneIndex<L extends string>(lanes: readonly L[]): Readonly<Record<L, number>> {
  return Object.fromEntries(lanes.map((lane, i) => [lane, i])) as Record<L, number>;
}
