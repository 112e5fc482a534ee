/**
 * The transforms of the declared features (feature-service.ts): the one
 * encoding the training set is written with and responders build online
 * inputs with, so a model sees the same numbers in training and in serving.
 *
 * Categorical values go through a `Lookup` (the vocabularies: interning
 * while a training set is gathered, frozen from `dataset.json` online);
 * dense values are transformed here (log1p of counts, ages in hours) and
 * standardised inside the model, whose constants travel in its export.
 *
 * @example
 * ```ts
 * const row = new Float32Array(USER_DENSE.length);
 * encodeUserDense(example.user, example.ts, row, 0);
 * const cross = new Float32Array(CROSS_DENSE.length);
 * encodeCrossDense(example.user, example.item, example.item_id, cross, 0);
 * ```
 */
import {
  INTERACTION_TYPE_SYMBOLS,
  type InteractionContext,
  type InteractionType,
  type Item,
  type ItemFeatures,
  MATURITY_SYMBOLS,
  type UserFeatures,
} from '../schemas/generated/types.js';
import { CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, laneIndex, USER_DENSE } from './dense-lanes.js';
import { feature, HISTORY_LENGTH, MAX_CATEGORIES, type VocabularyKind } from './feature-service.js';

/** Maps a categorical value to its index; null, undefined and unknown values give 0. */
export type Lookup = (kind: VocabularyKind, value: string | null | undefined) => number;

const HOUR_MS = 3_600_000;
const USER = laneIndex(USER_DENSE);
const ITEM = laneIndex(ITEM_DENSE);
const CROSS = laneIndex(CROSS_DENSE);
const CATALOG = laneIndex(CATALOG_DENSE);
const USER_CAT = feature('user_cat').lanes;
const CONTEXT_CAT = feature('context_cat').lanes;
const TYPE_INDEX = new Map<InteractionType, number>(INTERACTION_TYPE_SYMBOLS.map((t, i) => [t, i]));

/** The `InteractionType` index (FORMAT.md's `type` vocabulary, in enum order). */
export function typeIndex(type: InteractionType): number {
  return TYPE_INDEX.get(type) ?? 0;
}

const log1p = (x: number) => Math.log1p(Math.max(0, x));

function decayedSum(user: UserFeatures, field: 'hl_1h' | 'hl_1d' | 'hl_7d'): number {
  let sum = 0;
  for (const counts of Object.values(user.decayed_counts)) sum += counts[field];
  return sum;
}

/** `user_dense` (USER_DENSE) of a user's features as of `ts`, into `out` at `at`. */
export function encodeUserDense(user: UserFeatures, ts: number, out: Float32Array, at: number): void {
  const typed = (type: InteractionType) => log1p(user.decayed_counts[type]?.hl_7d ?? 0);
  out[at + USER.log_event_count] = log1p(user.event_count);
  out[at + USER.log_decayed_1h] = log1p(decayedSum(user, 'hl_1h'));
  out[at + USER.log_decayed_1d] = log1p(decayedSum(user, 'hl_1d'));
  out[at + USER.log_decayed_7d] = log1p(decayedSum(user, 'hl_7d'));
  out[at + USER.log_impressions_7d] = typed('impression');
  out[at + USER.log_clicks_7d] = typed('click');
  out[at + USER.log_completes_7d] = typed('complete');
  out[at + USER.log_skips_7d] = typed('skip');
  out[at + USER.mean_watch_fraction] = user.mean_watch_fraction ?? 0;
  out[at + USER.has_watch_fraction] = user.mean_watch_fraction === null ? 0 : 1;
  out[at + USER.log_session_count] = log1p(user.session_count);
  out[at + USER.log_session_events] = log1p(user.session_events);
  out[at + USER.log_hours_since_active] =
    user.last_active_ts === null ? 0 : log1p((ts - user.last_active_ts) / HOUR_MS);
  out[at + USER.is_first_event] = user.last_active_ts === null ? 1 : 0;
  out[at + USER.log_minutes_in_session] =
    user.session_start_ts === null ? 0 : log1p((ts - user.session_start_ts) / 60_000);
}

/** `history_items` of a user's recent items, into `out` at `at` (HISTORY_LENGTH wide, 0-padded). */
export function encodeHistoryItems(user: UserFeatures, lookup: Lookup, out: Int32Array, at: number): void {
  const n = Math.min(HISTORY_LENGTH, user.recent_items.length);
  for (let i = 0; i < n; i++) out[at + i] = lookup('item', user.recent_items[i]!.item_id);
  out.fill(0, at + n, at + HISTORY_LENGTH);
}

/** `history_types` of a user's recent items, into `out` at `at` (HISTORY_LENGTH wide, 0-padded). */
export function encodeHistoryTypes(user: UserFeatures, out: Int32Array, at: number): void {
  const n = Math.min(HISTORY_LENGTH, user.recent_items.length);
  for (let i = 0; i < n; i++) out[at + i] = typeIndex(user.recent_items[i]!.type);
  out.fill(0, at + n, at + HISTORY_LENGTH);
}

/** `user_cat`: each declared lane is the profile field its vocabulary is named after (country, language, age_bucket). */
export function encodeUserCategorical(user: UserFeatures, lookup: Lookup, out: Int32Array, at: number): void {
  for (let i = 0; i < USER_CAT.length; i++) out[at + i] = lookup(USER_CAT[i]!, user[USER_CAT[i]!]);
}

/**
 * `context_cat`: each declared vocabulary lane is the context field of its
 * vocabulary's name (device, country, surface); the one lane with no
 * vocabulary is the hour of day, UTC + 1.
 */
export function encodeContext(
  context: InteractionContext,
  ts: number,
  lookup: Lookup,
  out: Int32Array,
  at: number,
): void {
  for (let i = 0; i < CONTEXT_CAT.length; i++) {
    const kind = CONTEXT_CAT[i] as (typeof CONTEXT_CAT)[number];
    out[at + i] = kind === null ? new Date(ts).getUTCHours() + 1 : lookup(kind, context[kind]);
  }
}

/** `item_dense` (ITEM_DENSE) of an item's features before an event at `ts` in `country`, into `out` at `at`. */
export function encodeItemDense(
  item: ItemFeatures,
  ts: number,
  country: string | null,
  out: Float32Array,
  at: number,
): void {
  out[at + ITEM.log_popularity_total] = log1p(item.popularity.total);
  out[at + ITEM.log_popularity_1h] = log1p(item.popularity.hl_1h);
  out[at + ITEM.log_popularity_1d] = log1p(item.popularity.hl_1d);
  out[at + ITEM.log_popularity_7d] = log1p(item.popularity.hl_7d);
  out[at + ITEM.log_impressions] = log1p(item.impressions);
  out[at + ITEM.log_clicks] = log1p(item.clicks);
  out[at + ITEM.smoothed_ctr] = item.smoothed_ctr;
  out[at + ITEM.completion_rate] = item.completion_rate;
  out[at + ITEM.mean_rating_5] = item.mean_rating === null ? 0 : item.mean_rating / 5;
  out[at + ITEM.has_rating] = item.mean_rating === null ? 0 : 1;
  out[at + ITEM.log_unique_users] = log1p(item.unique_users_estimate);
  out[at + ITEM.trending_score] = Number.isFinite(item.trending_score) ? item.trending_score : 0;
  out[at + ITEM.log_hours_since_interaction] =
    item.last_interaction_ts === null ? 0 : log1p((ts - item.last_interaction_ts) / HOUR_MS);
  out[at + ITEM.never_interacted] = item.last_interaction_ts === null ? 1 : 0;
  out[at + ITEM.log_popularity_in_country] =
    country === null ? 0 : log1p(item.popularity_by_country[country] ?? 0);
  out[at + ITEM.log_duration_min] = item.duration_s === null ? 0 : log1p(item.duration_s / 60);
  out[at + ITEM.log_days_since_release] =
    item.release_ts === null ? 0 : log1p((ts - item.release_ts) / (24 * HOUR_MS));
}

/** `item_categories` (first MAX_CATEGORIES, 0-padded), into `out` at `at`. */
export function encodeCategories(
  categories: readonly string[],
  lookup: Lookup,
  out: Int32Array,
  at: number,
  kind: 'category' | 'tag' = 'category',
  width = MAX_CATEGORIES,
): void {
  const n = Math.min(width, categories.length);
  for (let i = 0; i < n; i++) out[at + i] = lookup(kind, categories[i]);
  out.fill(0, at + n, at + width);
}

/** `cross_dense` (CROSS_DENSE) of a user and an item, into `out` at `at`. */
export function encodeCrossDense(
  user: UserFeatures,
  item: Pick<ItemFeatures, 'categories' | 'language'>,
  itemId: string,
  out: Float32Array,
  at: number,
): void {
  let sum = 0;
  let max = 0;
  for (const category of item.categories) {
    const affinity = user.category_affinity[category] ?? 0;
    sum += affinity;
    if (affinity > max) max = affinity;
  }
  const position = user.recent_items.findIndex((r) => r.item_id === itemId);
  out[at + CROSS.category_affinity_sum] = sum;
  out[at + CROSS.category_affinity_max] = max;
  out[at + CROSS.same_language] = user.language !== null && user.language === item.language ? 1 : 0;
  out[at + CROSS.in_recent_history] = position < 0 ? 0 : 1;
  out[at + CROSS.recency_in_history] = position < 0 ? 0 : 1 / (1 + position);
}

/** `catalog_dense` (CATALOG_DENSE) of a catalog item, into `out` at `at`. */
export function encodeCatalogDense(item: Item, out: Float32Array, at: number): void {
  out[at + CATALOG.log_duration_min] = item.duration_s === null ? 0 : log1p(item.duration_s / 60);
  out[at + CATALOG.has_duration] = item.duration_s === null ? 0 : 1;
  out[at + CATALOG.release_decades_since_1970] =
    item.release_ts === null ? 0 : item.release_ts / (10 * 365.25 * 24 * HOUR_MS);
  out[at + CATALOG.has_release] = item.release_ts === null ? 0 : 1;
  out[at + CATALOG.maturity_level] = MATURITY_SYMBOLS.indexOf(item.maturity) / (MATURITY_SYMBOLS.length - 1);
}
