/**
 * int32 values widened to an int64 column without a BigInt per value.
 * onnxruntime takes int64 ids and the encoders write int32; converting
 * with `BigInt64Array.from(a, BigInt)` allocates a BigInt for every value
 * (a ranker batch of 100 candidates has ~5,000) and showed in the
 * responder's profile. Here each value goes in as two 32-bit words: the
 * value and its sign extension, in the platform's byte order.
 *
 * @example
 * ```ts
 * widenInt32(Int32Array.of(3, -1)); // BigInt64Array [3n, -1n]
 * const column = new BigInt64Array(4);
 * widenInt32(Int32Array.of(7, 8), column, 2); // column: [0n, 0n, 7n, 8n]
 * ```
 */
import { endianness } from 'node:os';

/** Index of an int64's low word among its two int32 words. */
const LOW = endianness() === 'LE' ? 0 : 1;

/** Writes `values` as int64 into `out` from element `at` (a new column of their length by default); returns `out`. */
export function widenInt32(
  values: Int32Array,
  out: BigInt64Array = new BigInt64Array(values.length),
  at = 0,
): BigInt64Array {
  const words = new Int32Array(out.buffer, out.byteOffset + at * 8, values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    words[2 * i + LOW] = v;
    words[2 * i + 1 - LOW] = v >> 31;
  }
  return out;
}
