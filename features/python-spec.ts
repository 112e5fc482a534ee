/**
 * The training engine's column spec (`models/recstream_models/feature_spec.py`),
 * written from the declaration (feature-service.ts) so the Python side never
 * restates a column: `npm run gen:features` writes it, and
 * feature-spec.test.ts fails when the checked-in file is stale.
 *
 * @example
 * ```ts
 * writeFileSync('models/recstream_models/feature_spec.py', pythonFeatureSpec());
 * ```
 */
import {
  CATALOG_FEATURES,
  ENUM_VOCABULARY,
  EXAMPLE_FEATURES,
  FEATURE_SERVICE,
  type FeatureDeclaration,
  featureWidth,
  HISTORY_LENGTH,
  HOURS,
  ITEM_TOWER_FEATURES,
  MAX_CATEGORIES,
  MAX_TAGS,
  MODEL_ARTIFACTS,
  RANKER_FEATURES,
  USER_TOWER_FEATURES,
  VOCABULARY_KINDS,
} from './feature-service.js';

export const PYTHON_SPEC_HEADER =
  '"""Generated from features/feature-service.ts by `npm run gen:features` (scripts/gen-feature-spec.mjs): do not edit.';

const str = (value: string | null) => (value === null ? 'None' : JSON.stringify(value));
const tuple = (values: readonly (string | null)[]) =>
  `(${values.map(str).join(', ')}${values.length === 1 ? ',' : ''})`;

/** Each column's (dtype, ndim), with what it holds as a comment. */
function columns(declarations: readonly FeatureDeclaration[]): string[] {
  return declarations.map(
    (f) =>
      `    ${str(f.name)}: (${str(f.dtype)}, ${featureWidth(f) === 1 ? 1 : 2}),  # ${f.kind}: ${f.transform}`,
  );
}

/** The vocabulary of each lane of the categorical columns; one entry when every lane shares it. */
function vocabularyOf(declarations: readonly FeatureDeclaration[]): string[] {
  return declarations
    .filter((f) => f.lanes.some((lane) => lane !== null))
    .map((f) => {
      const lanes = f.lanes.every((lane) => lane === f.lanes[0]) ? [f.lanes[0]!] : f.lanes;
      return `    ${str(f.name)}: [${lanes.map(str).join(', ')}],`;
    });
}

/** Python's name for a TypeScript key: userTower → user_tower. */
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const names = (declarations: readonly FeatureDeclaration[]) => declarations.map((f) => f.name);

/**
 * The vocabulary of each lane of a model input, one entry when every lane
 * shares it: the manifest's enum vocabulary for enum lanes, None for a lane
 * that indexes none (a number, the hour of day).
 */
function inputVocabularies(f: FeatureDeclaration): (string | null)[] {
  const lanes = f.kind === 'enum' || f.kind === 'enum_list' ? f.lanes.map(() => ENUM_VOCABULARY) : f.lanes;
  return lanes.every((lane) => lane === lanes[0]) ? [lanes[0]!] : [...lanes];
}

/** A model input as a Python `Input(...)`; `column` is the column it is read from (None: the catalog row);
 * its numeric lanes are the constant of the same name. */
function input(f: FeatureDeclaration, column: string | null): string {
  return `Input(${str(f.name)}, ${str(f.kind)}, ${str(column)}, ${tuple(inputVocabularies(f))}, ${f.dense ? f.name.toUpperCase() : '()'})`;
}

/** Every column's and model input's name, once, in declaration order. */
const everyName = () => [
  ...new Set(names([...EXAMPLE_FEATURES, ...CATALOG_FEATURES, ...ITEM_TOWER_FEATURES])),
];

/** The text of feature_spec.py. */
export function pythonFeatureSpec(): string {
  const denseOf = (declarations: readonly FeatureDeclaration[]) =>
    names(declarations.filter((f) => f.kind === 'numeric'));
  return [
    PYTHON_SPEC_HEADER,
    '',
    "The feature contract as the engine reads it: the training set's columns, the vocabulary bounding each",
    "categorical lane, and each model's inputs in the order its ONNX export takes them. Regenerate with",
    '`npm run gen:features` after changing the declaration.',
    '"""',
    '',
    'from __future__ import annotations',
    '',
    'from typing import NamedTuple',
    '',
    `HISTORY_LENGTH = ${HISTORY_LENGTH}`,
    `MAX_CATEGORIES = ${MAX_CATEGORIES}`,
    `MAX_TAGS = ${MAX_TAGS}`,
    '# Values of the hour-of-day lane of context_cat: 0 unknown, then UTC hour + 1.',
    `HOURS = ${HOURS}`,
    `VOCABULARY_KINDS = ${tuple(VOCABULARY_KINDS)}`,
    '# The vocabulary of the enum lanes (type, history_types): the interaction types, in enum order.',
    `ENUM_VOCABULARY = ${str(ENUM_VOCABULARY)}`,
    '',
    '',
    'class Name:',
    `    """Each column's and model input's name, so the engine reads one through the spec, never by hand."""`,
    '',
    ...everyName().map((name) => `    ${name.toUpperCase()} = ${str(name)}`),
    '',
    '',
    "# The lanes of the numeric columns (the manifest's `dense`).",
    ...[...EXAMPLE_FEATURES, ...CATALOG_FEATURES]
      .filter((f) => 'dense' in f)
      .map((f) => `${f.name.toUpperCase()} = ${tuple((f as FeatureDeclaration).dense!)}`),
    '',
    '# Example columns, one row per training example: name -> (dtype, ndim).',
    'EXAMPLE_COLUMNS = {',
    ...columns(EXAMPLE_FEATURES),
    '}',
    '# Catalog columns, one row per item vocabulary entry: name -> (dtype, ndim).',
    'CATALOG_COLUMNS = {',
    ...columns(CATALOG_FEATURES),
    '}',
    '# Which vocabulary bounds each categorical column (per lane for multi-lane columns; None: the hour).',
    'VOCABULARY_OF: dict[str, list[str | None]] = {',
    ...vocabularyOf([...EXAMPLE_FEATURES, ...CATALOG_FEATURES]),
    '}',
    '',
    "# Each model's inputs, in the order of its ONNX export.",
    `USER_TOWER_INPUTS = ${tuple(names(USER_TOWER_FEATURES))}`,
    `RANKER_INPUTS = ${tuple(names(RANKER_FEATURES))}`,
    "# The item tower's inputs and the catalog column each is read from (None: the catalog row itself).",
    'ITEM_TOWER_INPUTS = {',
    ...ITEM_TOWER_FEATURES.map(
      (f) => `    ${str(f.name)}: ${'catalogColumn' in f ? str(f.catalogColumn) : 'None'},`,
    ),
    '}',
    "# The numeric columns and their lanes (the manifest's `dense`).",
    'DENSE = {',
    ...[...EXAMPLE_FEATURES, ...CATALOG_FEATURES]
      .filter((f) => 'dense' in f)
      .map((f) => `    ${str(f.name)}: ${f.name.toUpperCase()},`),
    '}',
    '',
    '',
    'class Input(NamedTuple):',
    '    """A model input: its name, its kind, the column it is read from (None: the catalog row itself), the',
    '    vocabulary of each lane (one entry when every lane shares it; None: a lane that indexes none) and the',
    '    names of its numeric lanes: what the engine sizes its embedding tables and numeric layers by."""',
    '',
    '    name: str',
    '    kind: str',
    '    column: str | None',
    '    vocabularies: tuple[str | None, ...]',
    '    dense: tuple[str, ...]',
    '',
    '',
    "# Each model's inputs, in the order of its ONNX export, by the model's name (its file's key in ARTIFACT_FILES).",
    'MODEL_INPUTS = {',
    ...Object.entries(FEATURE_SERVICE).flatMap(([key, model]) => [
      `    ${str(snake(key))}: (`,
      ...(model.features as readonly FeatureDeclaration[]).map(
        (f) => `        ${input(f, key === 'itemTower' ? (f.catalogColumn ?? null) : f.name)},`,
      ),
      '    ),',
    ]),
    '}',
    '# The numeric inputs of the ranker, concatenated in this order before it standardises them.',
    `RANKER_DENSE = ${tuple(denseOf(RANKER_FEATURES))}`,
    '',
    "# The files of a model version's artifact directory.",
    'ARTIFACT_FILES = {',
    ...Object.entries(MODEL_ARTIFACTS).map(([key, file]) => `    ${str(snake(key))}: ${str(file)},`),
    '}',
    "# Each exported model's outputs, in order, by the model's name (its file's key in ARTIFACT_FILES).",
    'MODEL_OUTPUTS = {',
    ...Object.entries(FEATURE_SERVICE).map(
      ([key, model]) => `    ${str(snake(key))}: ${tuple(model.outputs)},`,
    ),
    '}',
    '',
  ].join('\n');
}
