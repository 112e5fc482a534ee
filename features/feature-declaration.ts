/**
 * What a feature declaration is made of: where its value comes from, what
 * kind of value it is, the vocabularies its lanes index, and the widths of
 * the list features. The declarations themselves, and each model's inputs,
 * are in `feature-service.ts`, which re-exports everything here: import
 * from there.
 */

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

/**
 * The manifest's vocabulary of the enum lanes (`enum`, `enum_list`): the
 * interaction types in enum order. Not a vocabulary kind: it is fixed by the
 * schema, not interned from the data.
 */
export const ENUM_VOCABULARY = 'type';

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

/** Values per row: 1 for a column of shape [N], else its lanes. */
export function featureWidth(declaration: Pick<FeatureDeclaration, 'lanes'>): number {
  return declaration.lanes.length;
}
