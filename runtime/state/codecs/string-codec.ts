/**
 * A codec for strings as UTF-8.
 *
 * @example
 * ```ts
 * stringCodec.encode('héllo'); // <68 c3 a9 6c 6c 6f>
 * ```
 */
import type { ValueCodec } from '../store.js';

export const stringCodec: ValueCodec<string> = {
  encode: (value) => Buffer.from(value, 'utf8'),
  decode: (bytes) => bytes.toString('utf8'),
};
