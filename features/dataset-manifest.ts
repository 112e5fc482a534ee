/**
 * The training set's manifest (`manifest.json`, kept with a model version as
 * `dataset.json`): its vocabularies and dense feature names are what online
 * code encodes a version's inputs with (models/FORMAT.md).
 *
 * @example
 * ```ts
 * const manifest = JSON.parse(await readFile(join(artifactDir, 'dataset.json'), 'utf8')) as DatasetManifest;
 * manifest.vocabularies.item.length; // the item tower's id table
 * ```
 */
import { CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, USER_DENSE } from './dense-lanes.js';
import type { ENUM_VOCABULARY, VocabularyKind } from './feature-service.js';

export const DATASET_FORMAT = 'recstream-dataset/1';

export interface ColumnEntry {
  readonly file: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

/** The numeric features, by column: the names of their lanes. */
export type DenseNames = Record<
  'user_dense' | 'item_dense' | 'cross_dense' | 'catalog_dense',
  readonly string[]
>;

export interface DatasetManifest {
  readonly format: typeof DATASET_FORMAT;
  readonly examples: number;
  readonly history_length: number;
  readonly max_categories: number;
  readonly max_tags: number;
  readonly vocabularies: Record<VocabularyKind | typeof ENUM_VOCABULARY, readonly string[]>;
  readonly dense: DenseNames;
  readonly columns: Record<string, ColumnEntry>;
  readonly catalog_columns: Record<string, ColumnEntry>;
  readonly lineage: {
    readonly snapshots: readonly string[];
    readonly event_time_start: number | null;
    readonly event_time_end: number | null;
  };
}

/** The manifest's `dense`: each numeric feature's lane names, as declared. */
export const DENSE_NAMES: DenseNames = {
  user_dense: USER_DENSE,
  item_dense: ITEM_DENSE,
  cross_dense: CROSS_DENSE,
  catalog_dense: CATALOG_DENSE,
};
