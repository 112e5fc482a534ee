/**
 * A codec for numbers as 8-byte big-endian IEEE 754 doubles. Every NaN is
 * written as the one canonical NaN so that equal-looking stores digest equally.
 *
 * @example
 * ```ts
 * const counts = ctx.store<number>('counts'); // declared with codec: numberCodec
 * numberCodec.encode(1); // <3f f0 00 00 00 00 00 00>
 * ```
 */
import { DeserializationError } from '../../errors.js';
import type { ValueCodec } from '../store.js';

export const numberCodec: ValueCodec<number> = {
  encode(value: number): Buffer {
    const out = Buffer.allocUnsafe(8);
    out.writeDoubleBE(Number.isNaN(value) ? Number.NaN : value, 0);
    return out;
  },
  decode(bytes: Buffer): number {
    if (bytes.length !== 8)
      throw new DeserializationError(`a number value must be 8 bytes, got ${bytes.length}`);
    return bytes.readDoubleBE(0);
  },
};
