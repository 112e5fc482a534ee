/**
 * The latent taste space: one unit vector per category (its centroid), and
 * the small vector helpers the simulator uses on item vectors and user
 * tastes. Items sit near the centroids of their categories, users near the
 * centroids of their favourite categories, so the dot product of a taste
 * and an item vector is how much that user likes that kind of item.
 *
 * @example
 * ```ts
 * const latent = new LatentSpace(seed, 16, CATEGORIES.length);
 * const v = normalize(addScaled(new Float32Array(16).fill(0), latent.centroid(3), 1));
 * dotRow(v, latent.centroids, 3); // 1: a vector at genre 3's centroid
 * ```
 */
import { Rng } from '../lib/random.js';
import { STREAM } from './streams.js';

export class LatentSpace {
  /** Category centroids, row-major: centroid c is `[c * dims, (c + 1) * dims)`. */
  readonly centroids: Float32Array;

  constructor(
    seed: number,
    readonly dims: number,
    readonly categories: number,
  ) {
    const rng = Rng.derive(seed, STREAM.world, 1);
    this.centroids = new Float32Array(categories * dims);
    for (let c = 0; c < categories; c++) randomUnit(rng, this.centroids.subarray(c * dims, (c + 1) * dims));
  }

  centroid(category: number): Float32Array {
    return this.centroids.subarray(category * this.dims, (category + 1) * this.dims);
  }
}

/** Dot product of `a` and row `row` of a row-major matrix with `a.length` columns. */
export function dotRow(a: Float32Array, matrix: Float32Array, row: number): number {
  const n = a.length;
  const off = row * n;
  let s = 0;
  for (let k = 0; k < n; k++) s += a[k]! * matrix[off + k]!;
  return s;
}

/** Scales `v` to unit length (a zero vector stays zero). */
export function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let k = 0; k < v.length; k++) s += v[k]! * v[k]!;
  if (s > 0) {
    const f = 1 / Math.sqrt(s);
    for (let k = 0; k < v.length; k++) v[k] = v[k]! * f;
  }
  return v;
}

/** Fills `out` with a direction drawn uniformly on the unit sphere. */
export function randomUnit(rng: Rng, out: Float32Array): Float32Array {
  for (let k = 0; k < out.length; k++) out[k] = rng.normal();
  return normalize(out);
}

/** out += scale * v */
export function addScaled(out: Float32Array, v: Float32Array, scale: number): Float32Array {
  for (let k = 0; k < out.length; k++) out[k] = out[k]! + scale * v[k]!;
  return out;
}
