/**
 * How much of the exact top k an ANN index finds: exact inner-product
 * search computed here (`exact-top-k.ts`), not by usearch, so the reference does
 * not share the code it checks, and recall@10 against it.
 *
 * @example
 * ```ts
 * const recall = measureRecallAt10(index, { keys, vectors }, userEmbeddings);
 * ```
 */
import type { AnnIndex, AnnMatches } from './ann-index.js';
import { exactTopK } from './exact-top-k.js';

/**
 * Exact top-k by inner product over `vectors` (row i is `keys[i]`): the
 * reference ANN results are measured against. Computed here rather than by
 * usearch, so the reference does not share the code it checks.
 *
 * @example
 * ```ts
 * const { keys: best } = exactSearch(vectors, 65, keys, userVector, 10);
 * ```
 */
export function exactSearch(
  vectors: Float32Array,
  dims: number,
  keys: readonly number[],
  query: Float32Array,
  k: number,
): AnnMatches {
  const top = exactTopK(query, vectors, dims, k, () => false, 0);
  return { keys: top.rows.map((r) => keys[r]!), scores: top.scores };
}

/**
 * Recall@10 of `index` against exact inner-product search over the
 * vectors it was built from, for each row of `queries` (rows × dimensions):
 * the share of the exact top 10 that the index returns in its top 10.
 *
 * @example
 * ```ts
 * const recall = measureRecallAt10(i8Index, { keys, vectors }, userEmbeddings);
 * ```
 */
export function measureRecallAt10(
  index: AnnIndex,
  embeddings: { readonly keys: readonly number[]; readonly vectors: Float32Array },
  queries: Float32Array,
): number {
  const dims = index.config.dimensions;
  let hits = 0;
  let total = 0;
  for (let at = 0; at + dims <= queries.length; at += dims) {
    const query = queries.subarray(at, at + dims);
    const exact = new Set(exactSearch(embeddings.vectors, dims, embeddings.keys, query, 10).keys);
    for (const key of index.search(query, 10).keys) if (exact.has(key)) hits++;
    total += exact.size;
  }
  return total === 0 ? 1 : hits / total;
}

/**
 * `measureRecallAt10` with up to `queries` of the indexed vectors
 * themselves as queries, evenly spaced: for when no query vectors are at
 * hand (the indexer, the benchmark).
 *
 * @example
 * ```ts
 * const recall = recallAt10(i8Index, keys, vectors, 65);
 * ```
 */
export function recallAt10(
  index: AnnIndex,
  keys: readonly number[],
  vectors: Float32Array,
  dims: number,
  queries = 500,
): number {
  const step = Math.max(1, Math.ceil(keys.length / queries));
  const picked = new Float32Array(Math.ceil(keys.length / step) * dims);
  for (let q = 0, row = 0; row < keys.length; q++, row += step)
    picked.set(vectors.subarray(row * dims, (row + 1) * dims), q * dims);
  return measureRecallAt10(index, { keys, vectors }, picked);
}
