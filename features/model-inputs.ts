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
import type { InteractionContext, Item, ItemFeatures, UserFeatures } from '../schemas/generated/types.js';
import type { DatasetManifest } from './dataset-manifest.js';
import { ITEM_DENSE } from './dense-lanes.js';
import {
  encodeCatalogDense,
  encodeCategories,
  encodeContext,
  encodeCrossDense,
  encodeHistoryItems,
  encodeHistoryTypes,
  encodeItemDense,
  encodeUserCategorical,
  encodeUserDense,
  type Lookup,
} from './encoding.js';
import { TrainingSetError } from './errors.js';
import {
  allocateBatch,
  type BatchColumn,
  CANDIDATE_FEATURES,
  type FeatureBatch,
  type FeatureDeclaration,
  featureWidth,
  ITEM_TOWER_FEATURES,
  MAX_CATEGORIES,
  USER_TOWER_FEATURES,
  VOCABULARY_KINDS,
  type VocabularyKind,
} from './feature-service.js';
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
  // The numbers a version's towers read online: the user tower's and the item tower's.
  for (const { name, dense } of [...USER_TOWER_FEATURES, ...ITEM_TOWER_FEATURES] as FeatureDeclaration[])
    if (
      dense !== undefined &&
      manifest.dense?.[name as 'user_dense' | 'catalog_dense']?.join() !== dense.join()
    )
      throw new TrainingSetError(
        `${path} was trained with ${name} [${manifest.dense?.[name as 'user_dense' | 'catalog_dense']?.join(', ')}], this build encodes [${dense.join(', ')}]: retrain the model`,
      );
  const vocabularies = {} as Record<VocabularyKind, Vocabulary>;
  for (const kind of VOCABULARY_KINDS)
    vocabularies[kind] = await Vocabulary.build(manifest.vocabularies[kind], pause);
  return { manifest, vocabularies, lookup: (kind, value) => vocabularies[kind].get(value) };
}

/**
 * Item-tower inputs (ITEM_TOWER_FEATURES) for catalog items, in the model's
 * vocabularies. The model's int64 ids travel as int32 (every vocabulary
 * index fits): half the bytes to copy to a session thread, widened once
 * where the tensor is made (`OnnxModel`).
 */
export type ItemTowerBatch = FeatureBatch<typeof ITEM_TOWER_FEATURES>;

/** How each of `Fs`'s features is encoded from a source row, into its column at `at`: one entry per feature, checked by the type. */
type Encoders<Fs extends readonly FeatureDeclaration[], Source> = {
  readonly [F in Fs[number] as F['name']]: (
    source: Source,
    lookup: Lookup,
    out: BatchColumn<F>,
    at: number,
  ) => void;
};

/** A batch of `features` for `sources`, one row each, written column by column with `encoders`. */
function encodeBatch<Fs extends readonly FeatureDeclaration[], Source>(
  features: Fs,
  encoders: Encoders<Fs, Source>,
  sources: readonly Source[],
  lookup: Lookup,
): FeatureBatch<Fs> {
  const batch = allocateBatch(features, sources.length);
  for (const f of features) {
    const encode = (
      encoders as unknown as Record<string, (s: Source, l: Lookup, o: unknown, at: number) => void>
    )[f.name]!;
    const column = (batch as unknown as Record<string, Int32Array | Float32Array>)[f.name];
    const width = featureWidth(f);
    for (let row = 0; row < sources.length; row++) encode(sources[row]!, lookup, column, row * width);
  }
  return batch;
}

/** How each item-tower input is encoded from a catalog item, into its column at `at`. */
const ITEM_TOWER_ENCODERS: Encoders<typeof ITEM_TOWER_FEATURES, Item> = {
  item: (item, lookup, out, at) => {
    out[at] = lookup('item', item.item_id);
  },
  categories: (item, lookup, out, at) => encodeCategories(item.categories, lookup, out, at),
  tags: (item, lookup, out, at) =>
    encodeCategories(item.tags, lookup, out, at, 'tag', featureWidth(ITEM_TOWER_FEATURES[2])),
  language: (item, lookup, out, at) => {
    out[at] = lookup('language', item.language);
  },
  catalog_dense: (item, _lookup, out, at) => encodeCatalogDense(item, out, at),
};

export function catalogItemInputs(items: readonly Item[], vocab: ModelVocabularies): ItemTowerBatch {
  return encodeBatch(ITEM_TOWER_FEATURES, ITEM_TOWER_ENCODERS, items, vocab.lookup);
}

/** User-tower inputs (USER_TOWER_FEATURES) for users' features at a time and in a context, in the model's vocabularies; ids as int32 (`ItemTowerBatch`). */
export type UserTowerBatch = FeatureBatch<typeof USER_TOWER_FEATURES>;

export interface UserQuery {
  readonly userId: string;
  readonly features: UserFeatures;
  readonly context: InteractionContext;
  readonly ts: number;
}

/** How each user-tower input is encoded from a query, into its column at `at`. */
const USER_TOWER_ENCODERS: Encoders<typeof USER_TOWER_FEATURES, UserQuery> = {
  user: (q, lookup, out, at) => {
    out[at] = lookup('user', q.userId);
  },
  history_items: (q, lookup, out, at) => encodeHistoryItems(q.features, lookup, out, at),
  history_types: (q, _lookup, out, at) => encodeHistoryTypes(q.features, out, at),
  user_cat: (q, lookup, out, at) => encodeUserCategorical(q.features, lookup, out, at),
  context_cat: (q, lookup, out, at) => encodeContext(q.context, q.ts, lookup, out, at),
  user_dense: (q, _lookup, out, at) => encodeUserDense(q.features, q.ts, out, at),
};

export function userTowerInputs(queries: readonly UserQuery[], vocab: ModelVocabularies): UserTowerBatch {
  return encodeBatch(USER_TOWER_FEATURES, USER_TOWER_ENCODERS, queries, vocab.lookup);
}

/** One candidate for the ranker: the item and its features as of the request. */
export interface RankerCandidate {
  readonly itemId: string;
  readonly features: ItemFeatures;
}

/** Ranker inputs (RANKER_FEATURES) for one user and each of their candidates, one row per candidate. */
export type RankerBatch = UserTowerBatch & Omit<FeatureBatch<typeof CANDIDATE_FEATURES>, 'size'>;

/** How each candidate-side ranker input is encoded for `query`, into its column at `at`. */
const CANDIDATE_ENCODERS: Encoders<typeof CANDIDATE_FEATURES, [UserQuery, RankerCandidate]> = {
  item: ([, c], lookup, out, at) => {
    out[at] = lookup('item', c.itemId);
  },
  item_categories: ([, c], lookup, out, at) => encodeCategories(c.features.categories, lookup, out, at),
  item_language: ([, c], lookup, out, at) => {
    out[at] = lookup('language', c.features.language);
  },
  item_dense: ([query, c], _lookup, out, at) =>
    encodeItemDense(c.features, query.ts, query.context.country, out, at),
  cross_dense: ([query, c], _lookup, out, at) =>
    encodeCrossDense(query.features, c.features, c.itemId, out, at),
};

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
  const pairs = candidates.map((c): [UserQuery, RankerCandidate] => [query, c]);
  const columns = encodeBatch(CANDIDATE_FEATURES, CANDIDATE_ENCODERS, pairs, vocab.lookup);
  return { ...repeatedUser(user, candidates.length), ...columns };
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
  const columns = allocateBatch(CANDIDATE_FEATURES, n);
  const crossWidth = featureWidth(CANDIDATE_FEATURES[4]);
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
    encodeCrossDense(query.features, features, itemId, columns.cross_dense, row * crossWidth);
  }
  return { ...repeatedUser(user, n), ...columns };
}

/** The user's columns of a ranker batch: `user`'s one row, repeated `n` times. */
function repeatedUser(user: UserTowerBatch, n: number): UserTowerBatch {
  const out = allocateBatch(USER_TOWER_FEATURES, n);
  for (const f of USER_TOWER_FEATURES) {
    const width = featureWidth(f);
    const column = out[f.name] as Float32Array;
    for (let row = 0; row < n; row++) column.set(user[f.name] as Float32Array, row * width);
  }
  return out;
}
