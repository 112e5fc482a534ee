/**
 * Writes a gathered training set as a directory the engine memory-maps
 * (models/FORMAT.md): `manifest.json` plus one `.npy` file per column, rows
 * sorted by event time (ties by example id, so the order never depends on
 * how the log was read), categorical lanes mapped to the final (sorted)
 * vocabularies, and the catalog columns, one row per item.
 *
 * @example
 * ```ts
 * const set = await gatherTrainingSet({ log, serde, windowDays: 0 });
 * const manifest = await writeDataset(set, '/data/trainer/work/a1/dataset');
 * ```
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ColumnEntry,
  DATASET_FORMAT,
  type DatasetManifest,
  DENSE_NAMES,
} from '../features/dataset-manifest.js';
import { encodeCatalogDense, encodeCategories, type Lookup } from '../features/encoding.js';
import { EXAMPLE_COLUMNS } from '../features/example-columns.js';
import {
  allocateBatch,
  type BatchColumn,
  CATALOG_FEATURES,
  ENUM_VOCABULARY,
  type FeatureDeclaration,
  featureWidth,
  HISTORY_LENGTH,
  MAX_CATEGORIES,
  MAX_TAGS,
  VOCABULARY_KINDS,
  type VocabularyKind,
} from '../features/feature-service.js';
import { Vocabulary } from '../features/vocabulary.js';
import { NpyWriter } from '../inference/npy.js';
import { INTERACTION_TYPE_SYMBOLS, type Item } from '../schemas/generated/types.js';
import type { TrainingSet } from './training-set.js';

const CHUNK_ROWS = 8192;

function sortedRows(set: TrainingSet): Uint32Array {
  const ts = set.columns.column('ts') as Float64Array;
  const ids = set.exampleIds;
  const order = new Uint32Array(set.columns.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => ts[a]! - ts[b]! || (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
  return order;
}

async function writeExampleColumns(
  set: TrainingSet,
  dir: string,
  remaps: Record<VocabularyKind, Int32Array>,
): Promise<Record<string, ColumnEntry>> {
  const order = sortedRows(set);
  const out: Record<string, ColumnEntry> = {};
  for (const spec of EXAMPLE_COLUMNS) {
    const shape = spec.width === 1 ? [order.length] : [order.length, spec.width];
    const file = `${spec.name}.npy`;
    const writer = await NpyWriter.create(join(dir, file), spec.dtype, shape);
    const source = set.columns.column(spec.name);
    for (let from = 0; from < order.length; from += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, order.length - from);
      const chunk = chunkFor(spec.dtype, rows * spec.width);
      for (let r = 0; r < rows; r++) {
        const src = order[from + r]! * spec.width;
        for (let lane = 0; lane < spec.width; lane++) {
          const kind = spec.lanes[lane];
          const value = source[src + lane]!;
          const mapped = kind ? remaps[kind][value]! : value;
          if (chunk instanceof BigInt64Array) chunk[r * spec.width + lane] = BigInt(mapped);
          else chunk[r * spec.width + lane] = mapped;
        }
      }
      await writer.write(chunk);
    }
    await writer.close();
    out[spec.name] = { file, dtype: spec.dtype, shape };
  }
  return out;
}

function chunkFor(dtype: string, length: number): BigInt64Array | Float32Array | Uint8Array | Int8Array {
  switch (dtype) {
    case 'int64':
      return new BigInt64Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'uint8':
      return new Uint8Array(length);
    default:
      return new Int8Array(length);
  }
}

/** How each declared catalog column is encoded from a catalog item, into its column at `at`. */
const CATALOG_ENCODERS: {
  readonly [F in (typeof CATALOG_FEATURES)[number] as F['name']]: (
    item: Item,
    lookup: Lookup,
    out: BatchColumn<F>,
    at: number,
  ) => void;
} = {
  catalog_categories: (item, lookup, out, at) => encodeCategories(item.categories, lookup, out, at),
  catalog_tags: (item, lookup, out, at) =>
    encodeCategories(item.tags, lookup, out, at, 'tag', featureWidth(CATALOG_FEATURES[1])),
  catalog_language: (item, lookup, out, at) => {
    out[at] = lookup('language', item.language);
  },
  catalog_dense: (item, _lookup, out, at) => encodeCatalogDense(item, out, at),
  catalog_available: (item, _lookup, out, at) => {
    out[at] = item.available ? 1 : 0;
  },
};

/** A batch column as its declared dtype stores it on disk. */
function onDisk(
  dtype: FeatureDeclaration['dtype'],
  data: Int32Array | Float32Array,
): BigInt64Array | Float32Array | Uint8Array {
  if (dtype === 'int64') return BigInt64Array.from(data, (v) => BigInt(v));
  if (dtype === 'uint8') return Uint8Array.from(data);
  return data as Float32Array;
}

async function writeCatalogColumns(
  items: readonly string[],
  catalog: ReadonlyMap<string, Item>,
  lookup: Lookup,
  dir: string,
): Promise<Record<string, ColumnEntry>> {
  const m = items.length;
  const batch = allocateBatch(CATALOG_FEATURES, m);
  const encoders = CATALOG_ENCODERS as unknown as Record<
    string,
    (item: Item, lookup: Lookup, out: Int32Array | Float32Array, at: number) => void
  >;
  const out: Record<string, ColumnEntry> = {};
  for (const f of CATALOG_FEATURES) {
    const width = featureWidth(f);
    const column = batch[f.name] as Int32Array | Float32Array;
    // Row 0 is the vocabulary's unknown item: all padding.
    for (let row = 1; row < m; row++) {
      const item = catalog.get(items[row]!);
      if (item) encoders[f.name]!(item, lookup, column, row * width);
    }
    const shape = width === 1 ? [m] : [m, width];
    const file = `${f.name}.npy`;
    const writer = await NpyWriter.create(join(dir, file), f.dtype, shape);
    await writer.write(onDisk(f.dtype, column));
    await writer.close();
    out[f.name] = { file, dtype: f.dtype, shape };
  }
  return out;
}

/** Writes the set into `dir` (created) and returns its manifest. */
export async function writeDataset(set: TrainingSet, dir: string): Promise<DatasetManifest> {
  await mkdir(dir, { recursive: true });
  const frozen = Object.fromEntries(VOCABULARY_KINDS.map((k) => [k, set.vocabularies[k].freeze()])) as Record<
    VocabularyKind,
    { values: string[]; remap: Int32Array }
  >;
  const remaps = Object.fromEntries(VOCABULARY_KINDS.map((k) => [k, frozen[k].remap])) as Record<
    VocabularyKind,
    Int32Array
  >;
  const vocabularies = Object.fromEntries(VOCABULARY_KINDS.map((k) => [k, new Vocabulary(frozen[k].values)]));
  const finalLookup: Lookup = (kind, value) => vocabularies[kind]!.get(value);
  const columns = await writeExampleColumns(set, dir, remaps);
  const catalogColumns = await writeCatalogColumns(frozen.item.values, set.catalog, finalLookup, dir);
  const manifest: DatasetManifest = {
    format: DATASET_FORMAT,
    examples: set.columns.length,
    history_length: HISTORY_LENGTH,
    max_categories: MAX_CATEGORIES,
    max_tags: MAX_TAGS,
    vocabularies: {
      ...(Object.fromEntries(VOCABULARY_KINDS.map((k) => [k, frozen[k].values])) as Record<
        VocabularyKind,
        string[]
      >),
      [ENUM_VOCABULARY]: INTERACTION_TYPE_SYMBOLS,
    },
    dense: DENSE_NAMES,
    columns,
    catalog_columns: catalogColumns,
    lineage: {
      snapshots: set.snapshots.map((s) => s.snapshot_id),
      event_time_start: set.eventTimeStart,
      event_time_end: set.eventTimeEnd,
    },
  };
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
