/**
 * What a model version's artifacts say about its inputs: the training
 * set's manifest (`dataset.json`), with the vocabularies frozen for lookups,
 * so online code (the indexer embedding new items, responders building a
 * user's inputs) encodes features exactly as the training set did.
 *
 * @example
 * ```ts
 * const vocab = await loadModelVocabularies(join(artifactDir, 'dataset.json'));
 * const inputs = catalogItemInputs([item], vocab);   // item tower batch for one new item
 * ```
 */
import { readFile } from 'node:fs/promises';
import { TrainingSetError } from '../runtime/errors.js';
import type { InteractionContext, Item, ItemFeatures, UserFeatures } from '../schemas/generated/types.js';
import type { DatasetManifest } from './dataset-writer.js';
import {
  CATALOG_DENSE,
  CROSS_DENSE,
  encodeCatalogDense,
  encodeCategories,
  encodeContext,
  encodeCrossDense,
  encodeHistory,
  encodeItemDense,
  encodeUserCategorical,
  encodeUserDense,
  HISTORY_LENGTH,
  ITEM_DENSE,
  type Lookup,
  MAX_CATEGORIES,
  MAX_TAGS,
  USER_DENSE,
  VOCABULARY_KINDS,
  type VocabularyKind,
} from './encoding.js';
import { Vocabulary } from './vocabulary.js';

export interface ModelVocabularies {
  readonly manifest: DatasetManifest;
  readonly vocabularies: Readonly<Record<VocabularyKind, Vocabulary>>;
  readonly lookup: Lookup;
}

export async function loadModelVocabularies(path: string): Promise<ModelVocabularies> {
  return modelVocabularies(JSON.parse(await readFile(path, 'utf8')) as DatasetManifest, path);
}

/**
 * As `loadModelVocabularies`, from a `dataset.json` already parsed (`path`
 * names it in errors); `pause` runs between slices of each vocabulary's
 * index (`Vocabulary.build`).
 */
export async function modelVocabularies(
  manifest: DatasetManifest,
  path: string,
  pause?: () => Promise<unknown>,
): Promise<ModelVocabularies> {
  for (const kind of VOCABULARY_KINDS)
    if (!Array.isArray(manifest.vocabularies?.[kind]))
      throw new TrainingSetError(`${path} has no ${kind} vocabulary: not a dataset.json of this format`);
  for (const [name, names] of [
    ['catalog_dense', CATALOG_DENSE],
    ['user_dense', USER_DENSE],
  ] as const)
    if (manifest.dense?.[name]?.join() !== names.join())
      throw new TrainingSetError(
        `${path} was trained with ${name} [${manifest.dense?.[name]?.join(', ')}], this build encodes [${names.join(', ')}]: retrain the model`,
      );
  const vocabularies = {} as Record<VocabularyKind, Vocabulary>;
  for (const kind of VOCABULARY_KINDS)
    vocabularies[kind] = await Vocabulary.build(manifest.vocabularies[kind], pause);
  return { manifest, vocabularies, lookup: (kind, value) => vocabularies[kind].get(value) };
}

/**
 * Item-tower inputs (FORMAT.md) for catalog items, in the model's
 * vocabularies. The model's int64 ids travel as int32 (every vocabulary
 * index fits): half the bytes to copy to a session thread, widened once
 * where the tensor is made (`OnnxModel`).
 */
export interface ItemTowerBatch {
  readonly item: Int32Array;
  readonly categories: Int32Array;
  readonly tags: Int32Array;
  readonly language: Int32Array;
  readonly catalog_dense: Float32Array;
  readonly size: number;
}

export function catalogItemInputs(items: readonly Item[], vocab: ModelVocabularies): ItemTowerBatch {
  const n = items.length;
  const categories = new Int32Array(n * MAX_CATEGORIES);
  const tags = new Int32Array(n * MAX_TAGS);
  const dense = new Float32Array(n * CATALOG_DENSE.length);
  const item = new Int32Array(n);
  const language = new Int32Array(n);
  items.forEach((it, row) => {
    item[row] = vocab.lookup('item', it.item_id);
    language[row] = vocab.lookup('language', it.language);
    encodeCategories(it.categories, vocab.lookup, categories, row * MAX_CATEGORIES);
    encodeCategories(it.tags, vocab.lookup, tags, row * MAX_TAGS, 'tag', MAX_TAGS);
    encodeCatalogDense(it, dense, row * CATALOG_DENSE.length);
  });
  return {
    item,
    categories,
    tags,
    language,
    catalog_dense: dense,
    size: n,
  };
}

/** User-tower inputs (FORMAT.md) for users' features at a time and in a context, in the model's vocabularies; ids as int32 (`ItemTowerBatch`). */
export interface UserTowerBatch {
  readonly user: Int32Array;
  readonly history_items: Int32Array;
  readonly history_types: Int32Array;
  readonly user_cat: Int32Array;
  readonly context_cat: Int32Array;
  readonly user_dense: Float32Array;
  readonly size: number;
}

export interface UserQuery {
  readonly userId: string;
  readonly features: UserFeatures;
  readonly context: InteractionContext;
  readonly ts: number;
}

export function userTowerInputs(queries: readonly UserQuery[], vocab: ModelVocabularies): UserTowerBatch {
  const n = queries.length;
  const history = new Int32Array(n * HISTORY_LENGTH);
  const types = new Int32Array(n * HISTORY_LENGTH);
  const userCat = new Int32Array(n * 3);
  const contextCat = new Int32Array(n * 4);
  const dense = new Float32Array(n * USER_DENSE.length);
  const user = new Int32Array(n);
  queries.forEach((q, row) => {
    user[row] = vocab.lookup('user', q.userId);
    encodeHistory(q.features, vocab.lookup, history, types, row * HISTORY_LENGTH);
    encodeUserCategorical(q.features, vocab.lookup, userCat, row * 3);
    encodeContext(q.context, q.ts, vocab.lookup, contextCat, row * 4);
    encodeUserDense(q.features, q.ts, dense, row * USER_DENSE.length);
  });
  return {
    user,
    history_items: history,
    history_types: types,
    user_cat: userCat,
    context_cat: contextCat,
    user_dense: dense,
    size: n,
  };
}

/** One candidate for the ranker: the item and its features as of the request. */
export interface RankerCandidate {
  readonly itemId: string;
  readonly features: ItemFeatures;
}

/** Ranker inputs (FORMAT.md) for one user and each of their candidates, one row per candidate. */
export interface RankerBatch extends UserTowerBatch {
  readonly item: Int32Array;
  readonly item_categories: Int32Array;
  readonly item_language: Int32Array;
  readonly item_dense: Float32Array;
  readonly cross_dense: Float32Array;
}

/**
 * The ranker's batch for `query` × `candidates`: the user's columns repeated
 * on every row, each candidate's item and cross features encoded as the
 * training set encodes them (example-columns.ts), at the query's time and
 * in its country. `user` is `query`'s user-tower batch when the caller
 * built it already (a responder did, for the user's embedding).
 */
export function rankerInputs(
  query: UserQuery,
  candidates: readonly RankerCandidate[],
  vocab: ModelVocabularies,
  user: UserTowerBatch = userTowerInputs([query], vocab),
): RankerBatch {
  const n = candidates.length;
  const columns = itemColumns(n);
  candidates.forEach((candidate, row) => {
    const features = candidate.features;
    columns.item[row] = vocab.lookup('item', candidate.itemId);
    columns.item_language[row] = vocab.lookup('language', features.language);
    encodeCategories(features.categories, vocab.lookup, columns.item_categories, row * MAX_CATEGORIES);
    encodeItemDense(features, query.ts, query.context.country, columns.item_dense, row * ITEM_DENSE.length);
    encodeCrossDense(
      query.features,
      features,
      candidate.itemId,
      columns.cross_dense,
      row * CROSS_DENSE.length,
    );
  });
  return { ...repeatedUser(user, n), ...columns };
}

/** A candidate's item ids in one model's vocabularies, as `rankerInputs` encodes them. */
export interface EncodedItem {
  readonly vocab: ModelVocabularies;
  readonly item: number;
  readonly language: number;
  /** `item_categories`: MAX_CATEGORIES ids, 0-padded. */
  readonly categories: Int32Array;
}

export function encodeRankerItem(
  itemId: string,
  features: Pick<ItemFeatures, 'categories' | 'language'>,
  vocab: ModelVocabularies,
): EncodedItem {
  const categories = new Int32Array(MAX_CATEGORIES);
  encodeCategories(features.categories, vocab.lookup, categories, 0);
  return {
    vocab,
    item: vocab.lookup('item', itemId),
    language: vocab.lookup('language', features.language),
    categories,
  };
}

/**
 * A candidate whose item side was encoded before the request: `dense` is
 * its `item_dense` at some time `ts` with no country
 * (`encodeItemDense(features, ts, null, …)`), `encoded` its ids.
 */
export interface EncodedCandidate {
  readonly itemId: string;
  readonly features: ItemFeatures;
  readonly dense: Float32Array;
  readonly encoded: EncodedItem;
}

const IN_COUNTRY = ITEM_DENSE.indexOf('log_popularity_in_country');

/**
 * As `rankerInputs`, from candidates encoded beforehand: only the cross
 * features and the country's popularity are computed here. Equal to
 * `rankerInputs` when each candidate was encoded at `query.ts`.
 *
 * @example
 * ```ts
 * const dense = new Float32Array(ITEM_DENSE.length);
 * encodeItemDense(features, ts, null, dense, 0);
 * const batch = encodedRankerInputs(query, [{ itemId, features, dense, encoded: encodeRankerItem(itemId, features, vocab) }], user);
 * ```
 */
export function encodedRankerInputs(
  query: UserQuery,
  candidates: readonly EncodedCandidate[],
  user: UserTowerBatch,
): RankerBatch {
  const n = candidates.length;
  const width = ITEM_DENSE.length;
  const columns = itemColumns(n);
  const country = query.context.country;
  for (let row = 0; row < n; row++) {
    const { itemId, features, dense, encoded } = candidates[row]!;
    columns.item[row] = encoded.item;
    columns.item_language[row] = encoded.language;
    columns.item_categories.set(encoded.categories, row * MAX_CATEGORIES);
    columns.item_dense.set(dense, row * width);
    if (country !== null)
      columns.item_dense[row * width + IN_COUNTRY] = Math.log1p(
        Math.max(0, features.popularity_by_country[country] ?? 0),
      );
    encodeCrossDense(query.features, features, itemId, columns.cross_dense, row * CROSS_DENSE.length);
  }
  return { ...repeatedUser(user, n), ...columns };
}

type ItemColumns = Omit<RankerBatch, keyof UserTowerBatch>;

/** A ranker batch's item and cross columns for `n` candidates, zeroed. */
function itemColumns(n: number): ItemColumns {
  return {
    item: new Int32Array(n),
    item_categories: new Int32Array(n * MAX_CATEGORIES),
    item_language: new Int32Array(n),
    item_dense: new Float32Array(n * ITEM_DENSE.length),
    cross_dense: new Float32Array(n * CROSS_DENSE.length),
  };
}

/** The user's columns of a ranker batch: `user`'s one row, repeated `n` times. */
function repeatedUser(user: UserTowerBatch, n: number): UserTowerBatch {
  const repeat = <T extends Int32Array | Float32Array>(column: T, width: number): T => {
    const out = new (column.constructor as new (length: number) => T)(n * width);
    for (let row = 0; row < n; row++) (out as Float32Array).set(column as Float32Array, row * width);
    return out;
  };
  return {
    user: repeat(user.user, 1),
    history_items: repeat(user.history_items, HISTORY_LENGTH),
    history_types: repeat(user.history_types, HISTORY_LENGTH),
    user_cat: repeat(user.user_cat, 3),
    context_cat: repeat(user.context_cat, 4),
    user_dense: repeat(user.user_dense, USER_DENSE.length),
    size: n,
  };
}
