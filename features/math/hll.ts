/**
 * A HyperLogLog sketch with 256 one-byte registers (standard error about
 * 6.5%), for distinct-user counts per item in bounded space. Registers only
 * ever take the max, so the sketch is the same whatever order users arrive in.
 *
 * @example
 * ```ts
 * const sketch = newSketch();
 * hllAdd(sketch, 'u1'); hllAdd(sketch, 'u2'); hllAdd(sketch, 'u1');
 * hllEstimate(sketch); // 2
 * ```
 */

export const HLL_REGISTERS = 256;
const INDEX_BITS = 8;
const ALPHA = 0.7213 / (1 + 1.079 / HLL_REGISTERS);
const TWO_32 = 2 ** 32;
/** 2^-r for every rank a register can hold. */
const POWERS = Array.from({ length: 32 - INDEX_BITS + 2 }, (_, r) => 2 ** -r);

/** Sketches are cut from shared zeroed slabs: one 256-byte allocation per new item costs more than the item's first fold. */
const SKETCHES_PER_SLAB = 256;
let slab = Buffer.alloc(0);
let slabUsed = 0;

export function newSketch(): Buffer {
  if (slabUsed === slab.length) {
    slab = Buffer.alloc(HLL_REGISTERS * SKETCHES_PER_SLAB);
    slabUsed = 0;
  }
  const sketch = slab.subarray(slabUsed, slabUsed + HLL_REGISTERS);
  slabUsed += HLL_REGISTERS;
  return sketch;
}

/**
 * 32-bit hash of a string: FNV-1a over its UTF-16 code units, then
 * murmur3's finalizer so that every output bit depends on every input bit.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Adds an id; returns whether a register changed. */
export function hllAdd(registers: Uint8Array, id: string): boolean {
  const h = hash32(id);
  const index = h >>> (32 - INDEX_BITS);
  const rest = (h << INDEX_BITS) >>> 0;
  // Rank of the first 1 bit in the remaining 24 bits; 25 when they are all zero.
  const rank = rest === 0 ? 32 - INDEX_BITS + 1 : Math.clz32(rest) + 1;
  if (rank <= registers[index]!) return false;
  registers[index] = rank;
  return true;
}

/** The estimate, rounded: linear counting while registers are empty, the 32-bit large-range correction above 2^32/30. */
export function hllEstimate(registers: Uint8Array): number {
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < HLL_REGISTERS; i++) {
    const r = registers[i]!;
    sum += POWERS[r]!;
    if (r === 0) zeros++;
  }
  let estimate = (ALPHA * HLL_REGISTERS * HLL_REGISTERS) / sum;
  if (estimate <= 2.5 * HLL_REGISTERS && zeros > 0)
    estimate = HLL_REGISTERS * Math.log(HLL_REGISTERS / zeros);
  else if (estimate > TWO_32 / 30) estimate = -TWO_32 * Math.log(1 - estimate / TWO_32);
  return Math.round(estimate);
}
