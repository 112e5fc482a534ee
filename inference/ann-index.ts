/**
 * The ANN index over item embeddings (DESIGN.md §4): a `usearch` HNSW
 * index, inner product on L2-normalised vectors, keyed by integer item keys
 * (the indexer's; the item vocabulary index for trained items). f32 by
 * default; f16 and i8 are quantised variants whose recall against exact
 * search the indexer measures and records. `view` memory-maps a saved index
 * instead of reading it into memory (each responder replica maps its own).
 *
 * @example
 * ```ts
 * const index = AnnIndex.build({ dimensions: 64, metric: 'ip', quantization: 'f32' }, keys, vectors);
 * await index.save('/data/artifacts/indexes/items/v1/index.usearch');
 * const served = AnnIndex.view('/data/…/index.usearch', { dimensions: 64, metric: 'ip', quantization: 'f32' });
 * const { keys: found, scores } = served.search(userVector, 100);
 * ```
 */
import { Index, MetricKind, ScalarKind } from 'usearch';
import { topK } from '../evaluation/top-k.js';

export type Quantization = 'f32' | 'f16' | 'i8';

export interface AnnIndexConfig {
  readonly dimensions: number;
  /** `ip`: inner product (score = dot); `cos`: cosine. */
  readonly metric: 'ip' | 'cos';
  readonly quantization: Quantization;
}

export interface AnnMatches {
  readonly keys: number[];
  /** Higher is better (dot product or cosine similarity). */
  readonly scores: number[];
}

const METRIC = { ip: MetricKind.IP, cos: MetricKind.Cos } as const;
const SCALAR = { f32: ScalarKind.F32, f16: ScalarKind.F16, i8: ScalarKind.I8 } as const;

export class AnnIndex {
  private constructor(
    private readonly index: Index,
    readonly config: AnnIndexConfig,
  ) {}

  static create(config: AnnIndexConfig): AnnIndex {
    return new AnnIndex(
      new Index({
        dimensions: config.dimensions,
        metric: METRIC[config.metric],
        quantization: SCALAR[config.quantization],
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 64,
        multi: false,
      }),
      config,
    );
  }

  /** A new index holding `vectors` (row i under `keys[i]`). */
  static build(config: AnnIndexConfig, keys: readonly number[], vectors: Float32Array): AnnIndex {
    const index = AnnIndex.create(config);
    index.upsert(keys, vectors);
    return index;
  }

  /** Memory-maps an index saved by `save`. */
  static view(path: string, config: AnnIndexConfig): AnnIndex {
    const index = AnnIndex.create(config);
    index.index.view(path);
    return index;
  }

  /** Adds rows, replacing any with the same key. */
  upsert(keys: readonly number[], vectors: Float32Array): void {
    if (keys.length === 0) return;
    if (vectors.length !== keys.length * this.config.dimensions)
      throw new RangeError(
        `${keys.length} keys but ${vectors.length / this.config.dimensions} vectors of ${this.config.dimensions}`,
      );
    const present = keys.filter((k) => this.index.contains(BigInt(k)) === true);
    if (present.length > 0) this.index.remove(BigUint64Array.from(present, (k) => BigInt(k)));
    this.index.add(
      BigUint64Array.from(keys, (k) => BigInt(k)),
      vectors,
      0,
    );
  }

  remove(keys: readonly number[]): void {
    if (keys.length > 0) this.index.remove(BigUint64Array.from(keys, (k) => BigInt(k)));
  }

  get size(): number {
    return this.index.size();
  }

  /** The `k` nearest keys, best first. */
  search(query: Float32Array, k: number): AnnMatches {
    if (this.size === 0) return { keys: [], scores: [] };
    const matches = this.index.search(query, Math.min(k, this.size), 0);
    const keys: number[] = [];
    const scores: number[] = [];
    for (let i = 0; i < matches.keys.length; i++) {
      keys.push(Number(matches.keys[i]!));
      // usearch reports distances: 1 - dot for ip, 1 - cosine for cos.
      scores.push(1 - matches.distances[i]!);
    }
    return { keys, scores };
  }

  save(path: string): void {
    this.index.save(path);
  }
}

/** Exact top-k by inner product over `vectors` (row i is `keys[i]`): the reference ANN results are measured against. */
export function exactSearch(
  vectors: Float32Array,
  dims: number,
  keys: readonly number[],
  query: Float32Array,
  k: number,
): AnnMatches {
  const top = topK(query, vectors, dims, k, () => false, 0);
  return { keys: top.rows.map((r) => keys[r]!), scores: top.scores };
}

/** Recall@10 of `index` against exact search, over up to `queries` of the indexed vectors as queries. */
export function recallAt10(
  index: AnnIndex,
  keys: readonly number[],
  vectors: Float32Array,
  dims: number,
  queries = 500,
): number {
  const n = keys.length;
  const step = Math.max(1, Math.floor(n / queries));
  let hits = 0;
  let total = 0;
  for (let q = 0; q < n; q += step) {
    const query = vectors.subarray(q * dims, (q + 1) * dims);
    const exact = new Set(exactSearch(vectors, dims, keys, query, 10).keys);
    for (const key of index.search(query, 10).keys) if (exact.has(key)) hits++;
    total += Math.min(10, n);
  }
  return total === 0 ? 1 : hits / total;
}
