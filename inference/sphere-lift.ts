/**
 * Maximum inner-product search as nearest-neighbour search: each item
 * vector `x` gets one more coordinate, `sqrt(M² − |x|²)`, and each query
 * `q` a 0, where `M` is the largest item norm. Every lifted item then has
 * norm `M`, and `q'·x' = q·x`, so the squared L2 distance between them
 * is `|q|² + M² − 2 q·x`: nearest by L2 (or by cosine) over the lifted
 * vectors is largest inner product over the originals, and an HNSW graph
 * walk, which needs a metric to find its way, has one. L2 rather than
 * cosine: usearch's L2 costs what its inner product costs, its cosine
 * about 30% more (measured on 20,000 × 66 f16).
 *
 * `M` is fixed when the index is built and kept with it (a saved index's
 * manifest records it): a query's scores are recovered from distances with
 * it, so it cannot change while items are added. An item added later with
 * a norm above `M` is clamped: stored scaled down to norm `M` (lift 0),
 * so the walk ranks it as if its norm were `M`, below where it belongs,
 * while its returned score is corrected by `|x| / M` to the exact inner
 * product. `clamped` says how many such rows a lift produced.
 *
 * @example
 * ```ts
 * const lift = new SphereLift(65, maxNorm(vectors, 65));
 * const { rows } = lift.items(vectors);          // what the L2 index stores
 * const score = lift.score(distance, norm(query)); // the inner product again
 * ```
 */
import { InferenceError } from './errors.js';

/** The Euclidean norm of `vector`. */
export function norm(vector: ArrayLike<number>, from = 0, to = vector.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += vector[i]! * vector[i]!;
  return Math.sqrt(sum);
}

/**
 * The largest norm among the rows of `vectors` (`dims` each): the radius an
 * index built from them lifts to. 1 when there is no row or every row is
 * zero, so that an empty index still has a sphere for later items.
 */
export function maxNorm(vectors: Float32Array, dims: number): number {
  let max = 0;
  for (let at = 0; at + dims <= vectors.length; at += dims) max = Math.max(max, norm(vectors, at, at + dims));
  return max > 0 ? max : 1;
}

/** Lifted item rows, and the clamp factor `|x| / M` of each row (by row number) whose norm was above `M`. */
export interface LiftedItems {
  readonly rows: Float32Array;
  readonly clamped: ReadonlyMap<number, number>;
}

export class SphereLift {
  constructor(
    /** Dimensions of the vectors before the lift (queries and items as the model makes them). */
    readonly dimensions: number,
    readonly maxNorm: number,
  ) {
    if (!Number.isFinite(maxNorm) || maxNorm <= 0)
      throw new InferenceError(`sphere lift: maxNorm ${maxNorm} is not a positive number`);
  }

  /** Item rows (`dimensions` each) with the lift coordinate appended (`dimensions + 1` each). */
  items(vectors: Float32Array): LiftedItems {
    const dims = this.dimensions;
    const count = vectors.length / dims;
    const rows = new Float32Array(count * (dims + 1));
    const clamped = new Map<number, number>();
    const squared = this.maxNorm * this.maxNorm;
    for (let r = 0; r < count; r++) {
      const from = r * dims;
      const length = norm(vectors, from, from + dims);
      // Rounding puts a vector of norm M a hair above it; only a real excess is clamped.
      const over = length > this.maxNorm * (1 + 1e-6);
      const scale = over ? this.maxNorm / length : 1;
      for (let d = 0; d < dims; d++) rows[r * (dims + 1) + d] = vectors[from + d]! * scale;
      rows[r * (dims + 1) + dims] = over ? 0 : Math.sqrt(Math.max(0, squared - length * length));
      if (over) clamped.set(r, length / this.maxNorm);
    }
    return { rows, clamped };
  }

  /** The query with a 0 appended. */
  query(query: Float32Array): Float32Array {
    const lifted = new Float32Array(this.dimensions + 1);
    lifted.set(query.subarray(0, this.dimensions));
    return lifted;
  }

  /** The inner product behind a squared L2 distance between a lifted query of norm `queryNorm` and a lifted item. */
  score(distance: number, queryNorm: number): number {
    return (queryNorm * queryNorm + this.maxNorm * this.maxNorm - distance) / 2;
  }
}
