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
 * FEATURE_SERVICE.userTower.features.map((f) => f.name); // the user tower's ONNX inputs, in order
 * featureWidth(feature('user_dense'));                       // USER_DENSE.length
 * ```
 */

import { CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, USER_DENSE } from './dense-lanes.js';
import {
  type FeatureDeclaration,
  HISTORY_LENGTH,
  MAX_CATEGORIES,
  MAX_TAGS,
  type VocabularyKind,
} from './feature-declaration.js';
import { MODEL_ARTIFACTS } from './model-artifacts.js';

// What a declaration is made of and how a batch of inputs is laid out live
// beside this file; they are re-exported so that this stays the one module
// the rest of the code imports the contract from.
export { allocateBatch, type BatchColumn, type FeatureBatch } from './feature-batch.js';
export {
  ENUM_VOCABULARY,
  type FeatureDeclaration,
  type FeatureKind,
  type FeatureSource,
  featureWidth,
  HISTORY_LENGTH,
  HOURS,
  MAX_CATEGORIES,
  MAX_TAGS,
  VOCABULARY_KINDS,
  type VocabularyKind,
} from './feature-declaration.js';
export { MODEL_ARTIFACTS, type ModelArtifact } from './model-artifacts.js';

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
  userTower: { file: MODEL_ARTIFACTS.userTower, features: USER_TOWER_FEATURES, outputs: ['embedding'] },
  itemTower: { file: MODEL_ARTIFACTS.itemTower, features: ITEM_TOWER_FEATURES, outputs: ['embedding'] },
  ranker: { file: MODEL_ARTIFACTS.ranker, features: RANKER_FEATURES, outputs: ['click', 'engagement'] },
} as const satisfies Readonly<Record<string, FeatureModel>>;
