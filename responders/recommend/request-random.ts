/**
 * A request's own random numbers: sfc32 (`Rng.fromKey`, lib/random.ts)
 * seeded with the SHA-256 of the request's id, so the same request id
 * draws the same numbers (a served list can be reproduced from its log)
 * and different ids draw unrelated ones, without a generator shared across
 * requests.
 *
 * @example
 * ```ts
 * const random = requestRandom('req-7f3a');
 * random(); // in [0, 1), the same first number for every 'req-7f3a'
 * ```
 */
import { Rng } from '../../lib/random.js';

/** A generator of uniform numbers in [0, 1) seeded by `seed`. */
export function requestRandom(seed: string): () => number {
  const rng = Rng.fromKey(seed);
  return () => rng.next();
}
