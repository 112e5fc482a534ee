/**
 * A store's `range`: its pending writes (those of a commit in flight, then
 * the newer ones) merged with a scan of the engine, in key order. A pending
 * write wins over the engine's entry of its key; a pending delete hides it.
 *
 * @example
 * ```ts
 * for await (const [key, value] of mergedRange(engine, store, [dirty], decode, { gte: 'a', limit: 10 })) use(key, value);
 * ```
 */
import { compareUtf8, inRange, prefixedKey } from './keys.js';
import type { KeyRange, StoreEngine } from './store.js';

/** A pending delete in a store's pending writes. */
export const TOMBSTONE: unique symbol = Symbol('recstream.state.tombstone');

/** A pending write: a value, or a delete. */
export type Pending<V> = V | typeof TOMBSTONE;

/** The key span of one store in the engine. */
export interface StoreSpan {
  readonly prefix: Buffer;
  readonly prefixEnd: Buffer;
}

/** The entries of `range`, pending writes in `sources` (later ones winning) over the engine's, in key order. */
export async function* mergedRange<V>(
  engine: StoreEngine,
  span: StoreSpan,
  sources: readonly ReadonlyMap<string, Pending<V>>[],
  decode: (bytes: Buffer) => V,
  range: KeyRange,
): AsyncGenerator<[string, V]> {
  const { gte, lt } = range;
  const limit = range.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  const pending = new Map<string, Pending<V>>();
  let tombstones = 0;
  for (const source of sources) {
    for (const [key, value] of source) if (inRange(key, gte, lt)) pending.set(key, value);
  }
  for (const value of pending.values()) if (value === TOMBSTONE) tombstones++;
  const keys = [...pending.keys()].sort(compareUtf8);
  const scan = engine
    .iterate({
      gte: gte === undefined ? span.prefix : prefixedKey(span.prefix, gte),
      lt: lt === undefined ? span.prefixEnd : prefixedKey(span.prefix, lt),
      // Pending deletes can hide at most this many engine entries.
      limit: limit === Number.POSITIVE_INFINITY ? undefined : limit + tombstones,
    })
    [Symbol.asyncIterator]();
  try {
    let next = await scan.next();
    let i = 0;
    let emitted = 0;
    while (emitted < limit) {
      const engineKey = next.done ? undefined : next.value[0].toString('utf8', span.prefix.length);
      const pendingKey = keys[i];
      if (engineKey === undefined && pendingKey === undefined) return;
      const order =
        engineKey === undefined ? 1 : pendingKey === undefined ? -1 : compareUtf8(engineKey, pendingKey);
      if (order < 0) {
        const bytes = (next.value as [Buffer, Buffer])[1];
        next = await scan.next();
        emitted++;
        yield [engineKey as string, decode(bytes)];
      } else {
        i++;
        if (order === 0) next = await scan.next();
        const value = pending.get(pendingKey as string) as Pending<V>;
        if (value !== TOMBSTONE) {
          emitted++;
          yield [pendingKey as string, value];
        }
      }
    }
  } finally {
    await scan.return?.();
  }
}
