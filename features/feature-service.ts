/**
 * The feature contract: every input the user tower, the item tower and the
 * ranker consume, declared once as data. The training set's columns
 * (`example-columns.ts`), the online input builders (`model-inputs.ts`), the
 * dataset manifest and the Python engine's column spec (generated from
 * here: `npm run gen:features`) are all derived from these declarations, so
 * a model sees the same names, shapes and vocabularies in training and in
 * serving. docs/feature-contract.md says how to add a feature.
 *
 * @example
 * ```ts
 * USER_TOWER.features.map((f) => f.name); // the user tower's ONNX inputs, in order
 * featureWidth(feature('user_dense'));    // USER_DENSE.length
 * ```
 */

import { CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, USER_DENSE } from './dense-lanes.js';

/** History items per example: the user view keeps at most this many recent items. */
export const HISTORY_LENGTH = 20;
/** Categories and tags kept per item (the first ones, in catalog order). */
export const MAX_CATEGORIES = 4;
export const MAX_TAGS = 4;
/** Values of the hour-of-day lane of `context_cat`: 0 unknown, then UTC hour + 1. */
export const HOURS = 25;

/** The vocabularies of a training set; index 0 of each is unknown (padding for category and tag). */
export const VOCABULARY_KINDS = [
  'user',
  'item',
  'category',
  'tag',
  'language',
  'country',
  'device',
  'surface',
  'age_bucket',
] as const;
export type VocabularyKind = (typeof VOCABULARY_KINDS)[number];

/** Where a feature's value is read from. */
export type FeatureSource =
  | 'event'
  | 'labels'
  | 'user-features'
  | 'item-features'
  | 'catalog'
  | 'context'
  | 'user×item';

/**
 * What a feature's value is: an index into a vocabulary (`categorical`; one
 * per lane, or `lanes` of them), a list of such indices (`id_list`, 0-padded),
 * an index into a fixed enum (`enum`, `enum_list`), numbers (`numeric`, one
 * per named lane), an epoch-ms time (`timestamp`), or a training target
 * (`label`).
 */
export type FeatureKind =
  | 'categorical'
  | 'id_list'
  | 'enum'
  | 'enum_list'
  | 'numeric'
  | 'timestamp'
  | 'label';

/** One declared feature: a column of the training set and, where a model reads it, an ONNX input. */
export interface FeatureDeclaration {
  /** Column and ONNX input name. */
  readonly name: string;
  readonly source: FeatureSource;
  readonly kind: FeatureKind;
  /** Element type on disk and in the exported models. */
  readonly dtype: 'int64' | 'float32' | 'uint8' | 'int8';
  /**
   * Per lane: the vocabulary of a categorical lane, null for a lane that is
   * not a vocabulary index (an enum, a number, the hour of day). One lane: a
   * column of shape [N]; more: [N, lanes].
   */
  readonly lanes: readonly (VocabularyKind | null)[];
  /** The names of a numeric feature's lanes (the manifest's `dense`). */
  readonly dense?: readonly string[];
  /** The value of a missing lane: an unknown or padded index, an absent number. */
  readonly default: number;
  /** How the value is made from its source (encoding.ts does it; the Python spec carries it as a comment). */
  readonly transform: string;
  /** The encoding of the item side of the item tower reads it from the catalog column of this name. */
  readonly catalogColumn?: string;
}

const repeat = (kind: VocabularyKind | null, width: number) => Array.from({ length: width }, () => kind);

/** The training set's example columns, one row per example, in file order. */
export const EXAMPLE_FEATURES = [
  {
    name: 'user',
    source: 'event',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['user'],
    default: 0,
    transform: 'user_id in the user vocabulary',
  },
  {
    name: 'item',
    source: 'event',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['item'],
    default: 0,
    transform: 'item_id in the item vocabulary',
  },
  {
    name: 'ts',
    source: 'event',
    kind: 'timestamp',
    dtype: 'int64',
    lanes: [null],
    default: 0,
    transform: 'event time, epoch ms',
  },
  {
    name: 'type',
    source: 'event',
    kind: 'enum',
    dtype: 'int64',
    lanes: [null],
    default: 0,
    transform: 'InteractionType index, in enum order',
  },
  {
    name: 'label',
    source: 'labels',
    kind: 'label',
    dtype: 'float32',
    lanes: [null],
    default: 0,
    transform: 'labels.label',
  },
  {
    name: 'positive',
    source: 'labels',
    kind: 'label',
    dtype: 'uint8',
    lanes: [null],
    default: 0,
    transform: 'labels.positive as 0/1 (retrieval positives)',
  },
  {
    name: 'weight',
    source: 'labels',
    kind: 'label',
    dtype: 'float32',
    lanes: [null],
    default: 0,
    transform: 'labels.weight',
  },
  {
    name: 'clicked',
    source: 'labels',
    kind: 'label',
    dtype: 'int8',
    lanes: [null],
    default: -1,
    transform: 'impressions: 1 clicked, 0 not; -1 for other types',
  },
  {
    name: 'engagement',
    source: 'labels',
    kind: 'label',
    dtype: 'float32',
    lanes: [null],
    default: Number.NaN,
    transform: 'labels.watch_fraction, NaN when unknown',
  },
  {
    name: 'history_items',
    source: 'user-features',
    kind: 'id_list',
    dtype: 'int64',
    lanes: repeat('item', HISTORY_LENGTH),
    default: 0,
    transform: 'recent_items item ids, most recent first, 0-padded',
  },
  {
    name: 'history_types',
    source: 'user-features',
    kind: 'enum_list',
    dtype: 'int64',
    lanes: repeat(null, HISTORY_LENGTH),
    default: 0,
    transform: 'recent_items interaction type indices (0 where padded: mask by history_items > 0)',
  },
  {
    name: 'user_cat',
    source: 'user-features',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['country', 'language', 'age_bucket'],
    default: 0,
    transform: 'country, language, age_bucket of the user profile',
  },
  {
    name: 'context_cat',
    source: 'context',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['device', 'country', 'surface', null],
    default: 0,
    transform: 'device, country, surface of the context; hour of day (UTC) + 1',
  },
  {
    name: 'user_dense',
    source: 'user-features',
    kind: 'numeric',
    dtype: 'float32',
    lanes: repeat(null, USER_DENSE.length),
    dense: USER_DENSE,
    default: 0,
    transform: 'USER_DENSE, log1p of counts, ages in hours or minutes; standardised in the model',
  },
  {
    name: 'item_categories',
    source: 'item-features',
    kind: 'id_list',
    dtype: 'int64',
    lanes: repeat('category', MAX_CATEGORIES),
    default: 0,
    transform: 'the first categories of the item as of the event, 0-padded',
  },
  {
    name: 'item_language',
    source: 'item-features',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['language'],
    default: 0,
    transform: 'the item language as of the event',
  },
  {
    name: 'item_dense',
    source: 'item-features',
    kind: 'numeric',
    dtype: 'float32',
    lanes: repeat(null, ITEM_DENSE.length),
    dense: ITEM_DENSE,
    default: 0,
    transform: 'ITEM_DENSE, the item dynamic features before the event; standardised in the model',
  },
  {
    name: 'cross_dense',
    source: 'user×item',
    kind: 'numeric',
    dtype: 'float32',
    lanes: repeat(null, CROSS_DENSE.length),
    dense: CROSS_DENSE,
    default: 0,
    transform: 'CROSS_DENSE, category affinity, same language, position in history',
  },
] as const satisfies readonly FeatureDeclaration[];

/** The training set's catalog columns, one row per item vocabulary entry (row 0 all padding). */
export const CATALOG_FEATURES = [
  {
    name: 'catalog_categories',
    source: 'catalog',
    kind: 'id_list',
    dtype: 'int64',
    lanes: repeat('category', MAX_CATEGORIES),
    default: 0,
    transform: 'the first categories of the item, 0-padded',
  },
  {
    name: 'catalog_tags',
    source: 'catalog',
    kind: 'id_list',
    dtype: 'int64',
    lanes: repeat('tag', MAX_TAGS),
    default: 0,
    transform: 'the first tags of the item, 0-padded',
  },
  {
    name: 'catalog_language',
    source: 'catalog',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['language'],
    default: 0,
    transform: 'the item language',
  },
  {
    name: 'catalog_dense',
    source: 'catalog',
    kind: 'numeric',
    dtype: 'float32',
    lanes: repeat(null, CATALOG_DENSE.length),
    dense: CATALOG_DENSE,
    default: 0,
    transform: 'CATALOG_DENSE, duration, release, maturity; standardised in the model',
  },
  {
    name: 'catalog_available',
    source: 'catalog',
    kind: 'label',
    dtype: 'uint8',
    lanes: [null],
    default: 0,
    transform: '1 when the item is in the catalog and available',
  },
] as const satisfies readonly FeatureDeclaration[];

/** The item tower's inputs: the item's row of the catalog columns, under the names the tower takes. */
export const ITEM_TOWER_FEATURES = [
  {
    name: 'item',
    source: 'catalog',
    kind: 'categorical',
    dtype: 'int64',
    lanes: ['item'],
    default: 0,
    transform: 'item_id in the item vocabulary (the catalog row)',
  },
  { ...CATALOG_FEATURES[0], name: 'categories', catalogColumn: 'catalog_categories' },
  { ...CATALOG_FEATURES[1], name: 'tags', catalogColumn: 'catalog_tags' },
  { ...CATALOG_FEATURES[2], name: 'language', catalogColumn: 'catalog_language' },
  { ...CATALOG_FEATURES[3], catalogColumn: 'catalog_dense' },
] as const satisfies readonly FeatureDeclaration[];

type ExampleFeatureName = (typeof EXAMPLE_FEATURES)[number]['name'];

/** The declaration of an example column by name. */
export function feature<N extends ExampleFeatureName>(
  name: N,
): Extract<(typeof EXAMPLE_FEATURES)[number], { name: N }> {
  return EXAMPLE_FEATURES.find((f) => f.name === name) as Extract<
    (typeof EXAMPLE_FEATURES)[number],
    { name: N }
  >;
}

/** The user tower's inputs, in the exported model's order (the ranker's first six too). */
export const USER_TOWER_FEATURES = [
  feature('user'),
  feature('history_items'),
  feature('history_types'),
  feature('user_cat'),
  feature('context_cat'),
  feature('user_dense'),
] as const;

/** The ranker's candidate-side inputs: the item and the user × item features, after the user's. */
export const CANDIDATE_FEATURES = [
  feature('item'),
  feature('item_categories'),
  feature('item_language'),
  feature('item_dense'),
  feature('cross_dense'),
] as const;

/** The ranker's inputs, in the exported model's order: the user tower's, then the candidate's. */
export const RANKER_FEATURES = [...USER_TOWER_FEATURES, ...CANDIDATE_FEATURES] as const;

/** A model with its ONNX file and the inputs it takes, in order. */
export interface FeatureModel {
  readonly file: string;
  readonly features: readonly FeatureDeclaration[];
  readonly outputs: readonly string[];
}

/** The models of a version and what each consumes: the one place a model's inputs are listed. */
export const FEATURE_SERVICE = {
  userTower: { file: 'user_tower.onnx', features: USER_TOWER_FEATURES, outputs: ['embedding'] },
  itemTower: { file: 'item_tower.onnx', features: ITEM_TOWER_FEATURES, outputs: ['embedding'] },
  ranker: { file: 'ranker.onnx', features: RANKER_FEATURES, outputs: ['click', 'engagement'] },
} as const satisfies Readonly<Record<string, FeatureModel>>;

/** Values per row: 1 for a column of shape [N], else its lanes. */
export function featureWidth(declaration: Pick<FeatureDeclaration, 'lanes'>): number {
  return declaration.lanes.length;
}

/** A batch's column for a declared feature: ids travel as int32 (every vocabulary index fits), numbers as float32. */
export type BatchColumn<F extends Pick<FeatureDeclaration, 'dtype'>> = F['dtype'] extends 'float32'
  ? Float32Array
  : Int32Array;

/** A batch of model inputs: one flattened column per declared feature, plus the row count. */
export type FeatureBatch<Fs extends readonly FeatureDeclaration[]> = {
  readonly [F in Fs[number] as F['name']]: BatchColumn<F>;
} & { readonly size: number };

/** A zeroed batch of `n` rows for `features` (a missing id encodes as 0, its default). */
export function allocateBatch<Fs extends readonly FeatureDeclaration[]>(
  features: Fs,
  n: number,
): FeatureBatch<Fs> {
  const batch: Record<string, Int32Array | Float32Array | number> = { size: n };
  for (const f of features)
    batch[f.name] =
      f.dtype === 'float32' ? new Float32Array(n * featureWidth(f)) : new Int32Array(n * featureWidth(f));
  return batch as unknown as FeatureBatch<Fs>;
}
