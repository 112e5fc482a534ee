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
import { HISTORY_LENGTH, MAX_CATEGORIES, type VocabularyKind } from './feature-service.js';

/** Maps a categorical value to its index; null, undefined and unknown values give 0. */
export type Lookup = (kind: VocabularyKind, value: string | null | undefined) => number;

const HOUR_MS = 3_600_000;
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
  out[at] = log1p(user.event_count);
  out[at + 1] = log1p(decayedSum(user, 'hl_1h'));
  out[at + 2] = log1p(decayedSum(user, 'hl_1d'));
  out[at + 3] = log1p(decayedSum(user, 'hl_7d'));
  out[at + 4] = typed('impression');
  out[at + 5] = typed('click');
  out[at + 6] = typed('complete');
  out[at + 7] = typed('skip');
  out[at + 8] = user.mean_watch_fraction ?? 0;
  out[at + 9] = user.mean_watch_fraction === null ? 0 : 1;
  out[at + 10] = log1p(user.session_count);
  out[at + 11] = log1p(user.session_events);
  out[at + 12] = user.last_active_ts === null ? 0 : log1p((ts - user.last_active_ts) / HOUR_MS);
  out[at + 13] = user.last_active_ts === null ? 1 : 0;
  out[at + 14] = user.session_start_ts === null ? 0 : log1p((ts - user.session_start_ts) / 60_000);
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

/** `user_cat` (country, language, age_bucket of the profile), into `out` at `at`. */
export function encodeUserCategorical(user: UserFeatures, lookup: Lookup, out: Int32Array, at: number): void {
  out[at] = lookup('country', user.country);
  out[at + 1] = lookup('language', user.language);
  out[at + 2] = lookup('age_bucket', user.age_bucket);
}

/** `context_cat` (device, country, surface, hour of day UTC + 1), into `out` at `at`. */
export function encodeContext(
  context: InteractionContext,
  ts: number,
  lookup: Lookup,
  out: Int32Array,
  at: number,
): void {
  out[at] = lookup('device', context.device);
  out[at + 1] = lookup('country', context.country);
  out[at + 2] = lookup('surface', context.surface);
  out[at + 3] = new Date(ts).getUTCHours() + 1;
}

/** `item_dense` (ITEM_DENSE) of an item's features before an event at `ts` in `country`, into `out` at `at`. */
export function encodeItemDense(
  item: ItemFeatures,
  ts: number,
  country: string | null,
  out: Float32Array,
  at: number,
): void {
  out[at] = log1p(item.popularity.total);
  out[at + 1] = log1p(item.popularity.hl_1h);
  out[at + 2] = log1p(item.popularity.hl_1d);
  out[at + 3] = log1p(item.popularity.hl_7d);
  out[at + 4] = log1p(item.impressions);
  out[at + 5] = log1p(item.clicks);
  out[at + 6] = item.smoothed_ctr;
  out[at + 7] = item.completion_rate;
  out[at + 8] = item.mean_rating === null ? 0 : item.mean_rating / 5;
  out[at + 9] = item.mean_rating === null ? 0 : 1;
  out[at + 10] = log1p(item.unique_users_estimate);
  out[at + 11] = Number.isFinite(item.trending_score) ? item.trending_score : 0;
  out[at + 12] = item.last_interaction_ts === null ? 0 : log1p((ts - item.last_interaction_ts) / HOUR_MS);
  out[at + 13] = item.last_interaction_ts === null ? 1 : 0;
  out[at + 14] = country === null ? 0 : log1p(item.popularity_by_country[country] ?? 0);
  out[at + 15] = item.duration_s === null ? 0 : log1p(item.duration_s / 60);
  out[at + 16] = item.release_ts === null ? 0 : log1p((ts - item.release_ts) / (24 * HOUR_MS));
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
  out[at] = sum;
  out[at + 1] = max;
  out[at + 2] = user.language !== null && user.language === item.language ? 1 : 0;
  out[at + 3] = position < 0 ? 0 : 1;
  out[at + 4] = position < 0 ? 0 : 1 / (1 + position);
}

/** `catalog_dense` (CATALOG_DENSE) of a catalog item, into `out` at `at`. */
export function encodeCatalogDense(item: Item, out: Float32Array, at: number): void {
  out[at] = item.duration_s === null ? 0 : log1p(item.duration_s / 60);
  out[at + 1] = item.duration_s === null ? 0 : 1;
  out[at + 2] = item.release_ts === null ? 0 : item.release_ts / (10 * 365.25 * 24 * HOUR_MS);
  out[at + 3] = item.release_ts === null ? 0 : 1;
  out[at + 4] = MATURITY_SYMBOLS.indexOf(item.maturity) / (MATURITY_SYMBOLS.length - 1);
}
