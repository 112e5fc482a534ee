/**
 * A codec for JSON-shaped values. Object keys are written in sorted order so
 * that equal values always give equal bytes (stores are compared byte for
 * byte by `recstream state digest`).
 *
 * @example
 * ```ts
 * const codec = jsonCodec<{ clicks: number; last: string }>();
 * codec.encode({ last: 'i7', clicks: 3 }).toString(); // '{"clicks":3,"last":"i7"}'
 * ```
 */
import type { ValueCodec } from '../store.js';
import { stableStringify } from './stable-json.js';

export function jsonCodec<V>(): ValueCodec<V> {
  return {
    encode: (value) => Buffer.from(stableStringify(value), 'utf8'),
    decode: (bytes) => JSON.parse(bytes.toString('utf8')) as V,
  };
}
