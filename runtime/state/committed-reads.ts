/**
 * What readers outside a task (`readCommitted`) read of one store: values
 * decoded afresh from committed bytes, never the processor's objects. The
 * bytes read are kept in a bounded LRU until a commit writes their key
 * again, so a key read often (a responder's users and candidate items)
 * costs a decode and no engine round trip: on two cores, the thread-pool
 * hand-off of such a read cost the reading thread more than the read itself.
 *
 * @example
 * ```ts
 * const reads = new CommittedReads({ engine, prefix, cacheEntries: 100_000, decode, generation, checkOpen });
 * const [u1] = await reads.read(['u1']);
 * reads.forget(flushed); // after a commit wrote those keys
 * ```
 */
import { prefixedKey } from './keys.js';
import { evictAt, evictOldest, setRecent } from './recency.js';
import type { StoreEngine } from './store.js';

/** Kept bytes of a key the engine does not hold. */
const ABSENT: unique symbol = Symbol('recstream.state.committed-absent');

export interface CommittedReadsOptions<V> {
  readonly engine: StoreEngine;
  /** The store's key prefix in the engine. */
  readonly prefix: Buffer;
  /** Bytes kept; 0 keeps none. */
  readonly cacheEntries: number;
  readonly decode: (bytes: Buffer) => V;
  /** The store's commit generation: bytes read while it changed may predate the change and are not kept. */
  readonly generation: () => number;
  /** Throws once the store is closed. */
  readonly checkOpen: () => void;
}

export class CommittedReads<V> {
  private readonly bytes = new Map<string, Buffer | typeof ABSENT>();

  constructor(private readonly options: CommittedReadsOptions<V>) {}

  /** The committed values of `keys`, in at most one engine round trip, each decoded afresh. */
  async read(keys: readonly string[]): Promise<(V | undefined)[]> {
    const { engine, prefix, cacheEntries, decode } = this.options;
    const values: (V | undefined)[] = new Array(keys.length);
    const missing: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const bytes = this.bytes.get(key);
      if (bytes === undefined) {
        missing.push(i);
        continue;
      }
      setRecent(this.bytes, key, bytes, cacheEntries);
      values[i] = bytes === ABSENT ? undefined : decode(bytes);
    }
    if (missing.length === 0) return values;
    const generation = this.options.generation();
    const read = await engine.getMany(missing.map((i) => prefixedKey(prefix, keys[i]!)));
    this.options.checkOpen();
    // Bytes read while a commit finished may predate it: used for this read, not kept.
    const keep = generation === this.options.generation() && cacheEntries > 0;
    missing.forEach((i, j) => {
      const bytes = read[j];
      values[i] = bytes === undefined ? undefined : decode(bytes);
      if (keep) this.bytes.set(keys[i]!, bytes ?? ABSENT);
    });
    if (this.bytes.size > evictAt(cacheEntries)) evictOldest(this.bytes, cacheEntries);
    return values;
  }

  /** Drops the kept bytes of keys a commit wrote (or may have written). */
  forget(written: ReadonlyMap<string, unknown>): void {
    if (this.bytes.size === 0) return;
    for (const key of written.keys()) this.bytes.delete(key);
  }

  /** Drops every kept byte. */
  clear(): void {
    this.bytes.clear();
  }
}
