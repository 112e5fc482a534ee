/**
 * A request's own random numbers: sfc32 seeded with the SHA-256 of the
 * request's id, so the same request id draws the same numbers (a served
 * list can be reproduced from its log) and different ids draw unrelated
 * ones, without a generator shared across requests.
 *
 * @example
 * ```ts
 * const random = requestRandom('req-7f3a');
 * random(); // in [0, 1), the same first number for every 'req-7f3a'
 * ```
 */
import { createHash } from 'node:crypto';

/** A generator of uniform numbers in [0, 1) seeded by `seed`. */
export function requestRandom(seed: string): () => number {
  const digest = createHash('sha256').update(seed).digest();
  let a = digest.readUInt32LE(0) | 0;
  let b = digest.readUInt32LE(4) | 0;
  let c = digest.readUInt32LE(8) | 0;
  let d = digest.readUInt32LE(12) | 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // sfc32's authors discard the first outputs so that similar seeds diverge.
  for (let i = 0; i < 12; i++) next();
  return next;
}
