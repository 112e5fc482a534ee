/**
 * What a full index version is on disk: its manifest's format, and the
 * usearch files the indexer writes from the item vectors.
 *
 * - **`recstream-index/2`** (written now): the files hold the item vectors
 *   lifted onto a sphere of radius `max_norm` (their largest norm),
 *   searched by L2 distance (`AnnIndex` metric `mips`), which ranks and scores
 *   exactly as the inner product and over which the HNSW walk finds ≥ 0.95
 *   of the exact top 100 (docs/decisions.md §28).
 * - **`recstream-index/1`** (read still): the vectors as they are, searched
 *   by inner product; no `max_norm`.
 *
 * `annConfigOf` is how every reader opens either: the manifest, not the
 * usearch file, holds the radius, without which a `mips` file's distances
 * cannot be turned back into inner products.
 *
 * @example
 * ```ts
 * const written = await writeIndexFiles(work, keys, vectors, 64, 'f16');
 * const ann = AnnIndex.load(join(dir, 'index-f16.usearch'), { ...annConfigOf(manifest), expansionSearch: 128 });
 * ```
 */
import { join } from 'node:path';
import { AnnIndex, type AnnIndexConfig, type Quantization } from '../inference/ann-index.js';
import { recallAt10 } from '../inference/ann-recall.js';
import { maxNorm } from '../inference/sphere-lift.js';
import { sha256File } from '../registry/model-store.js';

export const INDEX_FORMAT = 'recstream-index/2';
export const DELTA_FORMAT = 'recstream-index-delta/1';

/** One indexed item: id, ANN key, and the catalog version it was embedded from. */
export type IndexedItem = [itemId: string, key: number, updatedTs: number];

export interface IndexManifest {
  readonly format: typeof INDEX_FORMAT | 'recstream-index/1';
  readonly model: string;
  readonly model_version: number;
  readonly dimensions: number;
  /** What scores are: `ip`, the inner product, in both formats. */
  readonly metric: string;
  /** Format 2: the radius the vectors were lifted to; absent in format 1 (inner product over the vectors as they are). */
  readonly max_norm?: number;
  readonly items: readonly IndexedItem[];
  readonly files: Readonly<Record<string, string>>;
  readonly quantized?: {
    readonly file: string;
    readonly quantization: string;
    readonly recall_at_10: number;
  };
}

/**
 * Deltas carry the model's vectors as they are: whoever applies one upserts
 * them into an index opened with `annConfigOf`, which lifts them with the
 * full version's `max_norm` (a vector longer than it is clamped, as
 * `sphere-lift.ts` says).
 */
export interface DeltaManifest {
  readonly format: typeof DELTA_FORMAT;
  readonly base_version: number;
  readonly model: string;
  readonly model_version: number;
  readonly dimensions: number;
  readonly upserts: readonly { item_id: string; key: number; updated_ts: number; vector: number[] }[];
  readonly removed: readonly { item_id: string; key: number }[];
}

/** The metric (and radius) an index of this manifest is opened with. */
export function annConfigOf(manifest: Pick<IndexManifest, 'max_norm'>): Partial<AnnIndexConfig> {
  return manifest.max_norm === undefined ? { metric: 'ip' } : { metric: 'mips', maxNorm: manifest.max_norm };
}

export type WrittenIndex = Pick<IndexManifest, 'files' | 'quantized' | 'max_norm'>;

/**
 * Writes `index.usearch` (f32) and, unless `quantization` is null, its
 * quantised copy `index-<q>.usearch` with its recall@10 measured, all
 * lifted to the same radius; returns what the manifest records of them.
 */
export async function writeIndexFiles(
  work: string,
  keys: readonly number[],
  vectors: Float32Array,
  dims: number,
  quantization: Exclude<Quantization, 'f32'> | null,
): Promise<WrittenIndex> {
  const config = { dimensions: dims, metric: 'mips', maxNorm: maxNorm(vectors, dims) } as const;
  const files: Record<string, string> = {};
  AnnIndex.build({ ...config, quantization: 'f32' }, keys, vectors).save(join(work, 'index.usearch'));
  files['index.usearch'] = await sha256File(join(work, 'index.usearch'));
  if (quantization === null || keys.length === 0) return { files, max_norm: config.maxNorm };
  const copy = AnnIndex.build({ ...config, quantization }, keys, vectors);
  const file = `index-${quantization}.usearch`;
  copy.save(join(work, file));
  files[file] = await sha256File(join(work, file));
  return {
    files,
    max_norm: config.maxNorm,
    quantized: { file, quantization, recall_at_10: recallAt10(copy, keys, vectors, dims) },
  };
}
