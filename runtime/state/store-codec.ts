/**
 * A store's values through its codec, a failure named by the store: a
 * value its codec cannot encode, or stored bytes it cannot decode (most
 * often because the store's codec was changed).
 *
 * @example
 * ```ts
 * const bytes = encodeValue('counts', numberCodec, 3);
 * decodeValue('counts', numberCodec, bytes); // 3
 * ```
 */
import { StateStoreError } from '../errors.js';
import type { ValueCodec } from './store.js';

/** `value` encoded by store `store`'s codec. */
export function encodeValue<V>(store: string, codec: ValueCodec<V>, value: V): Buffer {
  try {
    return codec.encode(value);
  } catch (err) {
    throw new StateStoreError(`store ${store}: cannot encode a value: ${(err as Error).message}`, err);
  }
}

/** `bytes` decoded by store `store`'s codec. */
export function decodeValue<V>(store: string, codec: ValueCodec<V>, bytes: Buffer): V {
  try {
    return codec.decode(bytes);
  } catch (err) {
    throw new StateStoreError(
      `store ${store}: cannot decode a stored value (was the store's codec changed?): ${(err as Error).message}`,
      err,
    );
  }
}
