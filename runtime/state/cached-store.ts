/**
 * A typed store over one key prefix of a task's engine, with a write-back
 * cache (the Kafka Streams caching layer, minus flush-on-evict):
 *
 * - `put`/`delete` only record the write in a dirty map; nothing reaches the
 *   engine or the changelog until the task commits;
 * - `get` looks in the dirty map, then in a bounded LRU of clean decoded
 *   values (including "known absent"; reads count for recency once it
 *   nears its bound, `recency.ts`), and only then asks the engine;
 * - `range` merges the pending writes with an engine scan in key order
 *   (`merged-range.ts`).
 *
 * A hot key therefore costs two Map operations per get+put and no native
 * call. Values are encoded once per commit (the last value of each key), not
 * once per put.
 *
 * Readers outside the task (`readCommitted`) get values decoded afresh
 * from committed bytes, never the processor's objects, the bytes kept in a
 * second bounded LRU (`committed-reads.ts`).
 *
 * A cold key costs an engine read, a thread-pool round trip of tens of
 * microseconds. Two things avoid most of them: a key index, the set of every
 * committed key, kept while the store is small enough (a key missing from it
 * is known absent without a read, which is what a fresh start or a rebuild
 * from earliest mostly asks about), and `TaskState.prefetch`, which reads the
 * keys of a whole batch in one round trip.
 *
 * Values returned by `get` are the cached objects themselves: treat them as
 * immutable, or `put` a changed object back before the next commit. A value
 * mutated but never put back would differ between the cache and the
 * committed bytes, and a restart would then see the old value.
 *
 * The commit protocol lives in `task-state.ts`; it drives a store through
 * `beginFlush` → `flushWrites` → `completeFlush` (or `abortFlush`).
 *
 * A record that fails is dead-lettered and its outputs dropped; its writes
 * must go too, or state would hold the effects of a record that, downstream,
 * never happened. So every write also notes what the key held before the
 * record began (`beginRecord`, `write-journal.ts`), and `rollbackRecord` puts that back: the
 * pending write it replaced, or nothing, the key's clean cache entry then
 * dropped too, in case the processor changed that object in place before
 * putting it. (A value changed in place and never put, or a pending value
 * changed in place, is beyond what a store can see: treat them as immutable,
 * as above.)
 *
 * @example
 * ```ts
 * const counts = new CachedStore('counts', engine, numberCodec, 10_000, 0);
 * counts.put('u1', ((await counts.get('u1')) ?? 0) + 1);
 * ```
 */
import { StateStoreError } from '../errors.js';
import { MARKER_KEY } from './changelog/marker.js';
import { CommittedReads } from './committed-reads.js';
import { isValidKey, prefixEnd, prefixedKey, storePrefix } from './keys.js';
import { mergedRange, type Pending, TOMBSTONE } from './merged-range.js';
import { evictAt, evictOldest, setRecent } from './recency.js';
import type { KeyRange, KeyValueStore, RecordJournal, StoreEngine, ValueCodec } from './store.js';
import { decodeValue, encodeValue } from './store-codec.js';
import { WriteJournal } from './write-journal.js';

export { TOMBSTONE } from './merged-range.js';

/** A cached "the engine has no such key". */
const ABSENT: unique symbol = Symbol('recstream.state.absent');

type Cached<V> = V | typeof ABSENT;

/** One pending write, encoded for the changelog and the engine. */
export interface FlushWrite {
  readonly key: string;
  readonly engineKey: Buffer;
  /** null deletes. */
  readonly value: Buffer | null;
  /** Whether the key exists in the engine before this commit; undefined when the cache does not know. */
  readonly existed: boolean | undefined;
}

/** Default number of clean values a store keeps decoded in memory. */
export const DEFAULT_CACHE_ENTRIES = 100_000;

/** A key index larger than this is dropped (its memory would outweigh the reads it saves). */
export const KEY_INDEX_LIMIT = 250_000;

export class CachedStore<V> implements KeyValueStore<V>, RecordJournal {
  readonly name: string;
  readonly prefix: Buffer;
  readonly prefixEnd: Buffer;
  private dirty = new Map<string, Pending<V>>();
  /** The record in progress's writes, each with the pending write it replaced. */
  private readonly journal = new WriteJournal<Pending<V>>();
  private flushing: Map<string, Pending<V>> | null = null;
  private readonly cache = new Map<string, Cached<V>>();
  /** What `readCommitted` reads, and the committed bytes it keeps. */
  private readonly committed: CommittedReads<V>;
  /** Bumped whenever committed state changes, so that an engine read that raced a commit is not cached. */
  private generation = 0;
  private count: number;
  /** Every committed key, or null when not tracked (see the module comment). */
  private keyIndex: Set<string> | null = null;
  private closed = false;

  constructor(
    name: string,
    private readonly engine: StoreEngine,
    private readonly codec: ValueCodec<V>,
    private readonly cacheEntries: number,
    committedCount: number,
  ) {
    this.name = name;
    this.prefix = storePrefix(name);
    this.prefixEnd = prefixEnd(this.prefix);
    this.count = committedCount;
    this.committed = new CommittedReads({
      engine,
      prefix: this.prefix,
      cacheEntries,
      decode: (bytes) => this.decode(bytes),
      generation: () => this.generation,
      checkOpen: () => {
        if (this.closed) throw this.closedError();
      },
    });
  }

  get(key: string): Promise<V | undefined> {
    if (this.closed) return Promise.reject(this.closedError());
    let pending = this.dirty.get(key);
    if (pending === undefined && this.flushing !== null) pending = this.flushing.get(key);
    if (pending !== undefined) return Promise.resolve(pending === TOMBSTONE ? undefined : pending);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      setRecent(this.cache, key, cached, this.cacheEntries);
      return Promise.resolve(cached === ABSENT ? undefined : cached);
    }
    return this.load(key);
  }

  put(key: string, value: V): void {
    if (this.closed) throw this.closedError();
    if (value === undefined)
      throw new StateStoreError(`store ${this.name}: put of undefined; use delete(key) to remove a key`);
    this.checkKey(key);
    this.note(key);
    this.dirty.set(key, value);
  }

  delete(key: string): void {
    if (this.closed) throw this.closedError();
    this.checkKey(key);
    this.note(key);
    this.dirty.set(key, TOMBSTONE);
  }

  /**
   * A record starts: its writes can be taken back by `rollbackRecord` until
   * `endRecord`. A commit's `beginFlush` must not fall inside a record.
   */
  beginRecord(): void {
    this.journal.begin();
  }

  /** The record succeeded: its writes stand. */
  endRecord(): void {
    this.journal.end();
  }

  /** The record failed: every key it wrote gets back what it held when the record began. */
  rollbackRecord(): void {
    this.journal.rollback((key, before) => {
      if (before === undefined) {
        this.dirty.delete(key);
        this.cache.delete(key);
      } else {
        this.dirty.set(key, before);
      }
    });
  }

  async *range(range: KeyRange = {}): AsyncGenerator<[string, V]> {
    if (this.closed) throw this.closedError();
    const sources = this.flushing === null ? [this.dirty] : [this.flushing, this.dirty];
    yield* mergedRange(this.engine, this, sources, (bytes) => this.decode(bytes), range);
  }

  /**
   * The committed values of `keys`, in at most one engine round trip: what
   * the last commit wrote, never pending writes, and not through the cache
   * (whose entries may be the processor's own objects). Each value is
   * decoded afresh, so a reader may keep or change it.
   */
  async readCommitted(keys: readonly string[]): Promise<(V | undefined)[]> {
    if (this.closed) throw this.closedError();
    return this.committed.read(keys);
  }

  /** Entries as of the last commit (pending writes are counted once committed). */
  approximateCount(): number {
    return this.count;
  }

  /** Writes since the last commit (or the one in flight). */
  pendingCount(): number {
    return this.dirty.size;
  }

  /**
   * Moves the pending writes aside for a commit, synchronously, so that the
   * commit captures exactly the writes made before it was called while the
   * processor may go on writing. Returns how many there are.
   */
  beginFlush(): number {
    if (this.flushing !== null)
      throw new StateStoreError(`store ${this.name}: a commit is already in progress`);
    this.flushing = this.dirty;
    this.dirty = new Map();
    return this.flushing.size;
  }

  /** The writes being committed, encoded, each with what the cache knows of its previous existence. */
  flushWrites(): FlushWrite[] {
    const out: FlushWrite[] = [];
    if (this.flushing === null) return out;
    for (const [key, value] of this.flushing) {
      const cached = this.cache.get(key);
      out.push({
        key,
        engineKey: prefixedKey(this.prefix, key),
        value: value === TOMBSTONE ? null : this.encode(value),
        existed:
          cached !== undefined
            ? cached !== ABSENT
            : this.keyIndex !== null
              ? this.keyIndex.has(key)
              : undefined,
      });
    }
    return out;
  }

  /** The flushed writes are now committed: they become clean cache entries. */
  completeFlush(countDelta: number): void {
    const flushed = this.flushing;
    this.flushing = null;
    this.generation++;
    this.count += countDelta;
    if (flushed === null) return;
    this.committed.forget(flushed);
    const index = this.keyIndex;
    if (index !== null) {
      for (const [key, value] of flushed) {
        if (value === TOMBSTONE) index.delete(key);
        else index.add(key);
      }
      if (index.size > KEY_INDEX_LIMIT) this.keyIndex = null;
    }
    if (this.cacheEntries <= 0) return;
    for (const [key, value] of flushed)
      setRecent(this.cache, key, value === TOMBSTONE ? ABSENT : value, this.cacheEntries);
    if (this.cache.size > this.evictAt) this.evict();
  }

  /** The commit failed: its writes are pending again, under any written since. */
  abortFlush(): void {
    const flushed = this.flushing;
    this.flushing = null;
    if (flushed === null) return;
    // A failed commit may still have reached the engine: its keys are read again.
    this.generation++;
    this.committed.forget(flushed);
    // A record in progress that wrote a key the commit held: what the key held before it is the commit's write again.
    this.journal.rebase(flushed);
    for (const [key, value] of this.dirty) flushed.set(key, value);
    this.dirty = flushed;
  }

  /** Current generation, to pass to `fill` for an engine read started now. */
  cacheGeneration(): number {
    return this.generation;
  }

  /** Whether `get(key)` would have to read the engine (the key is neither pending nor cached). */
  needsLoad(key: string): boolean {
    return (
      !this.closed &&
      this.cacheEntries > 0 &&
      !this.dirty.has(key) &&
      (this.flushing === null || !this.flushing.has(key)) &&
      !this.cache.has(key) &&
      (this.keyIndex === null || this.keyIndex.has(key)) &&
      isValidKey(key)
    );
  }

  /**
   * Starts tracking committed keys: `keys` must be exactly the keys the
   * engine holds for this store now (an empty set for an empty store).
   */
  trackKeys(keys: Set<string>): void {
    this.keyIndex = keys.size <= KEY_INDEX_LIMIT ? keys : null;
  }

  /**
   * Caches a value read from the engine by a prefetch; ignored when a commit
   * finished since `generation` was taken, or when the key was written or
   * cached meanwhile.
   */
  fill(key: string, bytes: Buffer | undefined, generation: number): void {
    if (generation !== this.generation || !this.needsLoad(key)) return;
    this.remember(key, bytes === undefined ? undefined : this.decode(bytes));
  }

  /** Forgets every pending write and cached value (after a wipe); the committed count becomes `count`. */
  reset(count: number): void {
    this.dirty = new Map();
    this.endRecord();
    this.flushing = null;
    this.cache.clear();
    this.committed.clear();
    this.keyIndex = count === 0 ? new Set() : null;
    this.generation++;
    this.count = count;
  }

  close(): void {
    this.closed = true;
    this.dirty = new Map();
    this.endRecord();
    this.flushing = null;
    this.cache.clear();
    this.committed.clear();
    this.keyIndex = null;
  }

  private async load(key: string): Promise<V | undefined> {
    this.checkKey(key);
    if (this.keyIndex !== null && !this.keyIndex.has(key)) {
      this.remember(key, undefined);
      return undefined;
    }
    const engineKey = prefixedKey(this.prefix, key);
    for (;;) {
      const generation = this.generation;
      const bytes = await this.engine.get(engineKey);
      if (this.closed) throw this.closedError();
      // A put, or a commit that finished, while the engine was being read wins over what was read.
      let pending = this.dirty.get(key);
      if (pending === undefined && this.flushing !== null) pending = this.flushing.get(key);
      if (pending !== undefined) return pending === TOMBSTONE ? undefined : pending;
      if (generation !== this.generation) continue;
      const value = bytes === undefined ? undefined : this.decode(bytes);
      this.remember(key, value);
      return value;
    }
  }

  private note(key: string): void {
    this.journal.note(key, this.dirty);
  }

  private remember(key: string, value: V | undefined): void {
    if (this.cacheEntries <= 0) return;
    this.cache.set(key, value === undefined ? ABSENT : value);
    if (this.cache.size > this.evictAt) this.evict();
  }

  /** The cache overshoots its bound before it is evicted down to it (`recency.ts`). */
  private get evictAt(): number {
    return evictAt(this.cacheEntries);
  }

  private evict(): void {
    evictOldest(this.cache, this.cacheEntries);
  }

  private encode(value: V): Buffer {
    return encodeValue(this.name, this.codec, value);
  }

  private decode(bytes: Buffer): V {
    return decodeValue(this.name, this.codec, bytes);
  }

  private checkKey(key: string): void {
    if (!isValidKey(key)) {
      throw new StateStoreError(
        `store ${this.name}: invalid key; keys are strings of well-formed UTF-16 (no lone surrogates) other than the reserved ${JSON.stringify(MARKER_KEY)}`,
      );
    }
  }

  private closedError(): StateStoreError {
    return new StateStoreError(`store ${this.name} used after its task state was closed`);
  }
}
