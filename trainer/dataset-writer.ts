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
import { CATALOG_DENSE } from '../features/dense-lanes.js';
import { encodeCatalogDense, encodeCategories, type Lookup } from '../features/encoding.js';
import { EXAMPLE_COLUMNS } from '../features/example-columns.js';
import {
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

async function writeCatalogColumns(
  items: readonly string[],
  catalog: ReadonlyMap<string, Item>,
  lookup: Lookup,
  dir: string,
): Promise<Record<string, ColumnEntry>> {
  const m = items.length;
  const categories = new Int32Array(m * MAX_CATEGORIES);
  const tags = new Int32Array(m * MAX_TAGS);
  const language = new Int32Array(m);
  const dense = new Float32Array(m * CATALOG_DENSE.length);
  const available = new Uint8Array(m);
  for (let row = 1; row < m; row++) {
    const item = catalog.get(items[row]!);
    if (!item) continue;
    encodeCategories(item.categories, lookup, categories, row * MAX_CATEGORIES);
    encodeCategories(item.tags, lookup, tags, row * MAX_TAGS, 'tag', MAX_TAGS);
    language[row] = lookup('language', item.language);
    encodeCatalogDense(item, dense, row * CATALOG_DENSE.length);
    available[row] = item.available ? 1 : 0;
  }
  const columns: [string, 'int64' | 'float32' | 'uint8', number[], Int32Array | Float32Array | Uint8Array][] =
    [
      ['catalog_categories', 'int64', [m, MAX_CATEGORIES], categories],
      ['catalog_tags', 'int64', [m, MAX_TAGS], tags],
      ['catalog_language', 'int64', [m], language],
      ['catalog_dense', 'float32', [m, CATALOG_DENSE.length], dense],
      ['catalog_available', 'uint8', [m], available],
    ];
  const out: Record<string, ColumnEntry> = {};
  for (const [name, dtype, shape, data] of columns) {
    const file = `${name}.npy`;
    const writer = await NpyWriter.create(join(dir, file), dtype, shape);
    await writer.write(data instanceof Int32Array ? BigInt64Array.from(data, (v) => BigInt(v)) : data);
    await writer.close();
    out[name] = { file, dtype, shape };
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
      type: INTERACTION_TYPE_SYMBOLS,
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
