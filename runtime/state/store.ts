/**
 * State store port. The runtime owns stores (processors only declare them
 * and get them from `ctx.store(name)`). Back-ends: `rocksdb/` on disk and
 * `memory/` for tests; both pass `store.contract.ts`.
 *
 * Stores hold raw bytes: values are encoded by a `ValueCodec` so that two
 * runs with equal inputs leave byte-identical stores (`recstream state digest`).
 *
 * @example
 * ```ts
 * const counts = ctx.store<number>('counts');
 * const n = (await counts.get(record.key)) ?? 0;
 * counts.put(record.key, n + 1);
 * ```
 */

/** Turns a store value into bytes and back, deterministically. */
export interface ValueCodec<V> {
  encode(value: V): Buffer;
  decode(bytes: Buffer): V;
}

/** An inclusive-exclusive key range over UTF-8 byte order; both ends optional. */
export interface KeyRange {
  readonly gte?: string;
  readonly lt?: string;
  /** Stop after this many entries. */
  readonly limit?: number;
}

/**
 * A typed key-value store as a processor sees it. Writes are buffered until
 * the runtime commits. A value returned by `get` may be the store's cached
 * object: treat it as read-only, or `put` it back after changing it.
 */
export interface KeyValueStore<V> {
  readonly name: string;
  get(key: string): Promise<V | undefined>;
  put(key: string, value: V): void;
  delete(key: string): void;
  /** Entries in key order, with uncommitted writes of this task applied. */
  range(range?: KeyRange): AsyncIterable<[string, V]>;
  /** Approximate number of entries (for metrics). */
  approximateCount(): number;
}

/**
 * A store that can take back the writes of one record (the cached store
 * does): the task calls `beginRecord` before each input, then `endRecord`
 * when it was processed or `rollbackRecord` when processing it failed, so
 * that a dead-lettered record leaves no trace in state, as it leaves none
 * in the outputs.
 */
export interface RecordJournal {
  beginRecord(): void;
  endRecord(): void;
  rollbackRecord(): void;
}

export function isRecordJournal(store: unknown): store is RecordJournal {
  return (
    typeof (store as Partial<RecordJournal>).beginRecord === 'function' &&
    typeof (store as Partial<RecordJournal>).endRecord === 'function' &&
    typeof (store as Partial<RecordJournal>).rollbackRecord === 'function'
  );
}

/** One write as it reaches the byte layer: value null deletes. */
export interface ByteWrite {
  readonly key: string;
  readonly value: Buffer | null;
}

/**
 * The byte-level engine under a task's stores. One instance per task (one
 * RocksDB directory per task, like Kafka Streams), shared by all the stores
 * of that task so that one `write` commits every store and the task's
 * metadata (input offsets, changelog positions) atomically.
 */
export interface StoreEngine {
  get(key: Buffer): Promise<Buffer | undefined>;
  /** One round trip for many keys (commit-time existence checks, orphan corrections); `undefined` where absent. */
  getMany(keys: readonly Buffer[]): Promise<(Buffer | undefined)[]>;
  /** Atomic: after a crash either every write is visible or none. Later writes to a key win over earlier ones. */
  write(writes: readonly { key: Buffer; value: Buffer | null }[]): Promise<void>;
  /** Entries in byte order of the key. Break out of the loop to release the iterator early. */
  iterate(range: { gte?: Buffer; lt?: Buffer; limit?: number }): AsyncIterable<[Buffer, Buffer]>;
  /** Number of keys in [gte, lt), without reading values. */
  count(range: { gte?: Buffer; lt?: Buffer }): Promise<number>;
  /** Deletes every key in [gte, lt). Not atomic: a crash may leave part of the range. */
  clearRange(gte: Buffer, lt: Buffer): Promise<void>;
  close(): Promise<void>;
}
