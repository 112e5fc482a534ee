/**
 * A Bloom filter over string ids: `mightHave` is false only for an id never
 * added, true for every id added and for a small share of others (false
 * positives). The dedup window keeps one in memory, derived from its store,
 * to decide a new id without a store read; a "maybe" still asks the store.
 *
 * Sized for `capacity` ids at {@link ID_FILTER_BITS_PER_ID} bits each with
 * {@link ID_FILTER_HASHES} probes: up to `capacity` ids added, about 1 in 120
 * other ids is a false positive; past it the share grows, so the owner
 * rebuilds (see `DedupWindow`).
 *
 * @example
 * ```ts
 * const filter = new IdFilter(1000);
 * filter.add('e1');
 * filter.mightHave('e1'); // true
 * filter.mightHave('e2'); // false, or rarely true
 * ```
 */

/** Bits of filter per id of capacity. */
export const ID_FILTER_BITS_PER_ID = 10;

/** Bits probed per id: optimal for 10 bits an id (10 · ln 2 ≈ 7). */
export const ID_FILTER_HASHES = 7;

export class IdFilter {
  /** Ids added so far. */
  added = 0;
  private readonly bits: Uint32Array;
  private readonly size: number;

  constructor(readonly capacity: number) {
    this.bits = new Uint32Array(Math.max(1, Math.ceil((capacity * ID_FILTER_BITS_PER_ID) / 32)));
    this.size = this.bits.length * 32;
  }

  /** Bytes of memory the bits take. */
  get bytes(): number {
    return this.bits.byteLength;
  }

  add(id: string): void {
    this.added++;
    const [h1, h2] = hashes(id);
    for (let i = 0; i < ID_FILTER_HASHES; i++) {
      const bit = (h1 + Math.imul(i, h2)) >>> 0;
      const at = bit % this.size;
      this.bits[at >>> 5]! |= 1 << (at & 31);
    }
  }

  mightHave(id: string): boolean {
    const [h1, h2] = hashes(id);
    for (let i = 0; i < ID_FILTER_HASHES; i++) {
      const at = ((h1 + Math.imul(i, h2)) >>> 0) % this.size;
      if ((this.bits[at >>> 5]! & (1 << (at & 31))) === 0) return false;
    }
    return true;
  }
}

const pair: [number, number] = [0, 0];

/**
 * Two independent 32-bit hashes of the UTF-16 code units (FNV-1a, and a
 * multiply-xorshift one), combined as h1 + i·h2 for the probes (Kirsch and
 * Mitzenmacher): as good as seven hashes, for the cost of two.
 */
function hashes(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Odd, so the probes of one id never collapse onto one bit.
  pair[0] = a >>> 0;
  pair[1] = (Math.imul(b ^ (b >>> 13), 0xc2b2ae35) | 1) >>> 0;
  return pair;
}
