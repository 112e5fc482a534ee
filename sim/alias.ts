/**
 * Walker's alias method (Vose's construction): after O(n) set-up, drawing an
 * index with probability proportional to its weight costs two random
 * numbers and two array reads, whatever n is. It is what keeps the
 * simulator's per-event work independent of the number of users and items.
 *
 * @example
 * ```ts
 * const popular = new AliasTable(popularity);        // Float64Array of weights
 * const item = popular.sample(rng);                  // index into popularity
 * const user = new AliasTable(weights, members).sample(rng); // a member id
 * ```
 */
import type { Rng } from '../lib/random.js';

export class AliasTable {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  /**
   * @param weights non-negative, finite, not all zero
   * @param members what `sample` returns for each index (default: the index itself)
   */
  constructor(
    weights: ArrayLike<number>,
    private readonly members?: Int32Array,
  ) {
    const n = weights.length;
    if (n === 0) throw new RangeError('AliasTable needs at least one weight');
    if (members !== undefined && members.length !== n)
      throw new RangeError(`AliasTable: ${members.length} members for ${n} weights`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      if (!(w >= 0) || !Number.isFinite(w))
        throw new RangeError(`AliasTable: weight ${i} is ${w}; weights must be finite and >= 0`);
      total += w;
    }
    if (total <= 0) throw new RangeError('AliasTable: all weights are zero');
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / total;
      if (scaled[i]! < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!;
      const l = large[nl - 1]!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) {
        nl--;
        small[ns++] = l;
      }
    }
    // What is left is 1 up to rounding error.
    while (nl > 0) this.prob[large[--nl]!] = 1;
    while (ns > 0) this.prob[small[--ns]!] = 1;
  }

  get size(): number {
    return this.prob.length;
  }

  sample(rng: Rng): number {
    const i = rng.int(this.prob.length);
    const index = rng.next() < this.prob[i]! ? i : this.alias[i]!;
    return this.members === undefined ? index : this.members[index]!;
  }
}
