/**
 * A stable sha256 of one store's committed entries: for each entry in key
 * order, the 4-byte big-endian length and bytes of the key, then of the
 * value. Equal stores give equal digests on either engine.
 *
 * @example
 * ```ts
 * const hex = await digestStore(engine, storePrefix('counts'));
 * ```
 */
import { createHash } from 'node:crypto';
import { prefixEnd } from './keys.js';
import type { StoreEngine } from './store.js';

export async function digestStore(engine: StoreEngine, prefix: Buffer): Promise<string> {
  const hash = createHash('sha256');
  const length = Buffer.allocUnsafe(4);
  for await (const [key, value] of engine.iterate({ gte: prefix, lt: prefixEnd(prefix) })) {
    length.writeUInt32BE(key.length - prefix.length, 0);
    hash.update(length);
    hash.update(key.subarray(prefix.length));
    length.writeUInt32BE(value.length, 0);
    hash.update(length);
    hash.update(value);
  }
  return hash.digest('hex');
}
