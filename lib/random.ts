/**
 * Seeded randomness: the same seed gives the same numbers on every platform
 * and Node version, so whatever is drawn from a seed (a simulated world, a
 * request's exploration) is drawn again byte for byte.
 *
 * `Rng` is sfc32 (128-bit state, passes PractRand, a few ns per draw): a run
 * of 10M events draws a few hundred million numbers, past what a 32-bit
 * state generator should be asked for. `Rng.derive(seed, stream, index)`
 * gives independent generators per purpose and per entity, so an entity's
 * traits (a user's taste, an item's title) do not depend on the order in
 * which the simulator happens to look at them. `Rng.fromKey(key)` gives one
 * per string key (a request id).
 *
 * @example
 * ```ts
 * const rng = Rng.derive(42, 4);
 * const gap = rng.exponential(30_000);
 * const taste = Rng.derive(42, 3, userIndex).normal();
 * const random = Rng.fromKey('req-7f3a');
 * ```
 */

import { createHash } from 'node:crypto';

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function mix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = Number.NaN;

  private constructor(a: number, b: number, c: number, d: number) {
    this.a = a | 0;
    this.b = b | 0;
    this.c = c | 0;
    this.d = d | 0;
    // sfc32's authors discard the first outputs so that similar seeds diverge.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A generator for (seed, stream, index); distinct triples give unrelated sequences. */
  static derive(seed: number, stream: number, index = 0): Rng {
    const h0 = mix32(seed ^ 0x9e3779b9);
    const h1 = mix32(h0 ^ Math.imul(stream + 1, 0x85ebca6b));
    const h2 = mix32(h1 ^ Math.imul(index + 1, 0xc2b2ae35));
    const h3 = mix32(h2 ^ Math.floor(index / 0x1_0000_0000));
    return new Rng(h0 ^ h3, h1, h2, h3 ^ 0x6d2b79f5);
  }

  /**
   * A generator for a string key (e.g. a request id), seeded with the
   * key's SHA-256: the same key gives the same numbers, different keys
   * unrelated ones.
   */
  static fromKey(key: string): Rng {
    const digest = createHash('sha256').update(key).digest();
    return new Rng(
      digest.readUInt32LE(0),
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    );
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Marsaglia's polar method; the second value is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = Number.NaN;
      return s;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Pareto with scale 1 and shape `alpha`: heavy-tailed, mean alpha/(alpha-1) for alpha > 1. */
  pareto(alpha: number): number {
    return (1 - this.next()) ** (-1 / alpha);
  }

  /** Index drawn with probability proportional to `weights` (linear scan; for short lists). */
  pick(weights: ArrayLike<number>, total?: number): number {
    let sum = total;
    if (sum === undefined) {
      sum = 0;
      for (let i = 0; i < weights.length; i++) sum += weights[i]!;
    }
    let x = this.next() * sum;
    for (let i = 0; i < weights.length - 1; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}
