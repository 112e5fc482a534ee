/**
 * A typed store over one key prefix of a task's engine, with a write-back
 * cache (the Kafka Streams caching layer, minus flush-on-evict):
 *
 * - `put`/`delete` only record the write in a dirty map; nothing reaches the
 *   engine or the changelog until the task commits;
 * - `get` looks in the dirty map, then in a bounded LRU of clean decoded
 *   values (including "known absent"; reads count for recency once it
 *   nears its bound, `recency.ts`), and only then asks the engine;
 * - `range` merges the pending writes with an engine scan in key order.
 *
 * A hot key therefore costs two Map operations per get+put and no native
 * call. Values are encoded once per commit (the last value of each key), not
 * once per put.
 *
 * Readers outside the task (`readCommitted`) get values decoded afresh
 * from committed bytes, never the processor's objects. The bytes they read
 * are kept in a second bounded LRU until a commit writes their key again,
 * so a key read often (a responder's users and candidate items) costs a
 * decode and no engine round trip: on two cores, the thread-pool hand-off
 * of such a read cost the reading thread more than the read itself.
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
 * record began (`beginRecord`), and `rollbackRecord` puts that back: the
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
import { compareUtf8, inRange, prefixEnd, prefixedKey, storePrefix } from './keys.js';
import { setRecent } from './recency.js';
import type { KeyRange, KeyValueStore, RecordJournal, StoreEngine, ValueCodec } from './store.js';

/** A pending delete in the dirty map. */
export const TOMBSTONE: unique symbol = Symbol('recstream.state.tombstone');
/** A cached "the engine has no such key". */
const ABSENT: unique symbol = Symbol('recstream.state.absent');
/** In a record's journal: the key had no pending write before the write journaled. */
const NOT_PENDING: unique symbol = Symbol('recstream.state.not-pending');

type Pending<V> = V | typeof TOMBSTONE;
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

/** Journal slots kept from record to record; a record that wrote more gets fresh arrays after it. */
const JOURNAL_KEPT = 1024;

/** Default number of clean values a store keeps decoded in memory. */
export const DEFAULT_CACHE_ENTRIES = 100_000;

/** A key index larger than this is dropped (its memory would outweigh the reads it saves). */
export const KEY_INDEX_LIMIT = 250_000;

export class CachedStore<V> implements KeyValueStore<V>, RecordJournal {
  readonly name: string;
  readonly prefix: Buffer;
  readonly prefixEnd: Buffer;
  private dirty = new Map<string, Pending<V>>();
  /**
   * The record in progress's writes, in order: each key and its pending
   * write just before. Parallel arrays reused from record to record, since
   * a Map cleared per record cost more than the writes it journaled.
   */
  private journalKeys: string[] = [];
  private journalBefore: (Pending<V> | typeof NOT_PENDING)[] = [];
  private journalLength = 0;
  private recording = false;
  private flushing: Map<string, Pending<V>> | null = null;
  private readonly cache = new Map<string, Cached<V>>();
  /** Committed bytes `readCommitted` read, by key, until a commit writes the key again. */
  private readonly committed = new Map<string, Buffer | typeof ABSENT>();
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
    this.journalLength = 0;
    this.recording = true;
  }

  /** The record succeeded: its writes stand. */
  endRecord(): void {
    this.recording = false;
    // A record that wrote many keys would otherwise keep their earlier values alive until it is outdone.
    if (this.journalLength > JOURNAL_KEPT) {
      this.journalKeys = [];
      this.journalBefore = [];
    }
    this.journalLength = 0;
  }

  /** The record failed: every key it wrote gets back what it held when the record began. */
  rollbackRecord(): void {
    // Latest first, so a key written twice ends with what it held before the first write.
    for (let i = this.journalLength - 1; i >= 0; i--) {
      const key = this.journalKeys[i]!;
      const before = this.journalBefore[i]!;
      if (before === NOT_PENDING) {
        this.dirty.delete(key);
        this.cache.delete(key);
      } else {
        this.dirty.set(key, before);
      }
    }
    this.endRecord();
  }

  async *range(range: KeyRange = {}): AsyncGenerator<[string, V]> {
    if (this.closed) throw this.closedError();
    const { gte, lt } = range;
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return;
    const pending = new Map<string, Pending<V>>();
    let tombstones = 0;
    for (const source of this.flushing === null ? [this.dirty] : [this.flushing, this.dirty]) {
      for (const [key, value] of source) if (inRange(key, gte, lt)) pending.set(key, value);
    }
    for (const value of pending.values()) if (value === TOMBSTONE) tombstones++;
    const keys = [...pending.keys()].sort(compareUtf8);
    const scan = this.engine
      .iterate({
        gte: gte === undefined ? this.prefix : prefixedKey(this.prefix, gte),
        lt: lt === undefined ? this.prefixEnd : prefixedKey(this.prefix, lt),
        // Pending deletes can hide at most this many engine entries.
        limit: limit === Number.POSITIVE_INFINITY ? undefined : limit + tombstones,
      })
      [Symbol.asyncIterator]();
    try {
      let next = await scan.next();
      let i = 0;
      let emitted = 0;
      while (emitted < limit) {
        const engineKey = next.done ? undefined : next.value[0].toString('utf8', this.prefix.length);
        const pendingKey = keys[i];
        if (engineKey === undefined && pendingKey === undefined) return;
        const order =
          engineKey === undefined ? 1 : pendingKey === undefined ? -1 : compareUtf8(engineKey, pendingKey);
        if (order < 0) {
          const bytes = (next.value as [Buffer, Buffer])[1];
          next = await scan.next();
          emitted++;
          yield [engineKey as string, this.decode(bytes)];
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

  /**
   * The committed values of `keys`, in at most one engine round trip: what
   * the last commit wrote, never pending writes, and not through the cache
   * (whose entries may be the processor's own objects). Each value is
   * decoded afresh, so a reader may keep or change it.
   */
  async readCommitted(keys: readonly string[]): Promise<(V | undefined)[]> {
    if (this.closed) throw this.closedError();
    const values: (V | undefined)[] = new Array(keys.length);
    const missing: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const bytes = this.committed.get(key);
      if (bytes === undefined) {
        missing.push(i);
        continue;
      }
      setRecent(this.committed, key, bytes, this.cacheEntries);
      values[i] = bytes === ABSENT ? undefined : this.decode(bytes);
    }
    if (missing.length === 0) return values;
    const generation = this.generation;
    const read = await this.engine.getMany(missing.map((i) => prefixedKey(this.prefix, keys[i]!)));
    if (this.closed) throw this.closedError();
    // Bytes read while a commit finished may predate it: used for this read, not kept.
    const keep = generation === this.generation && this.cacheEntries > 0;
    missing.forEach((i, j) => {
      const bytes = read[j];
      values[i] = bytes === undefined ? undefined : this.decode(bytes);
      if (keep) this.committed.set(keys[i]!, bytes ?? ABSENT);
    });
    if (this.committed.size > this.evictAt) evictOldest(this.committed, this.cacheEntries);
    return values;
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
    this.forgetCommitted(flushed);
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
    this.forgetCommitted(flushed);
    // A record in progress that wrote a key the commit held: what the key held before it is the commit's write again.
    for (let i = 0; i < this.journalLength; i++) {
      const key = this.journalKeys[i]!;
      if (this.journalBefore[i] === NOT_PENDING && flushed.has(key))
        this.journalBefore[i] = flushed.get(key)!;
    }
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
    if (!this.recording) return;
    const i = this.journalLength++;
    this.journalKeys[i] = key;
    this.journalBefore[i] = this.dirty.get(key) ?? NOT_PENDING;
  }

  private remember(key: string, value: V | undefined): void {
    if (this.cacheEntries <= 0) return;
    this.cache.set(key, value === undefined ? ABSENT : value);
    if (this.cache.size > this.evictAt) this.evict();
  }

  /**
   * Evicting one entry per insert would be quadratic: Map deletes leave
   * holes at the front that every new keys() iterator walks past until V8
   * compacts the table. Letting the cache overshoot by an eighth and then
   * evicting down to its size amortises that walk.
   */
  private get evictAt(): number {
    return this.cacheEntries + Math.max(64, this.cacheEntries >>> 3);
  }

  private evict(): void {
    evictOldest(this.cache, this.cacheEntries);
  }

  private forgetCommitted(written: ReadonlyMap<string, unknown>): void {
    if (this.committed.size === 0) return;
    for (const key of written.keys()) this.committed.delete(key);
  }

  private encode(value: V): Buffer {
    try {
      return this.codec.encode(value);
    } catch (err) {
      throw new StateStoreError(`store ${this.name}: cannot encode a value: ${(err as Error).message}`, err);
    }
  }

  private decode(bytes: Buffer): V {
    try {
      return this.codec.decode(bytes);
    } catch (err) {
      throw new StateStoreError(
        `store ${this.name}: cannot decode a stored value (was the store's codec changed?): ${(err as Error).message}`,
        err,
      );
    }
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

/** Deletes a map's oldest entries (its first in insertion order) until `size` are left. */
function evictOldest(map: Map<string, unknown>, size: number): void {
  let excess = map.size - size;
  if (excess <= 0) return;
  for (const key of map.keys()) {
    map.delete(key);
    if (--excess === 0) return;
  }
}

/** String.prototype.isWellFormed (Node 20+), which the ES2022 lib does not declare. */
interface WellFormed {
  isWellFormed(): boolean;
}

// Lone surrogates would be replaced by U+FFFD in UTF-8, making two keys one.
function isValidKey(key: string): boolean {
  return typeof key === 'string' && key !== MARKER_KEY && (key as unknown as WellFormed).isWellFormed();
}
