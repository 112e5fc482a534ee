/**
 * The state of one task (one input partition, like a Kafka Streams task):
 * its stores in one engine, each store backed by a changelog partition, and
 * the input offsets the stores reflect.
 *
 * Commit protocol (`commit(inputOffsets)`), which makes state
 * effectively-once:
 *
 * 1. The pending writes of every store are set aside synchronously, so the
 *    commit holds exactly the writes made before the call.
 * 2. If any store has pending writes, each store's changelog partition gets
 *    ONE append (atomic on the log): its pending entries (encoded value, or
 *    null for a delete) followed by a commit marker
 *    `{ kind: 'commit', seq, inputOffsets, stores }`. Stores without writes
 *    get the marker alone, so that all changelogs carry the same last commit.
 * 3. ONE atomic engine write then holds every store's entries plus the task
 *    metadata: input offsets, commit seq, and per store the changelog end
 *    offset after step 2.
 * 4. The written entries become clean cache entries.
 *
 * A commit with no pending writes appends nothing and only records the new
 * input offsets in the engine. A crash between 2 and 3 leaves changelog
 * records past the recorded end offsets; the next open rolls them back
 * (see `recovery.ts`), and the task resumes from the input offsets of the
 * last complete commit, so every store equals that of a run without the crash.
 *
 * @example
 * ```ts
 * const state = await TaskState.open({
 *   dir: '/data/state/user-features/0', engine: 'rocksdb', log, applicationId: 'user-features', partition: 0,
 *   stores: [{ name: 'counts', codec: numberCodec, changelogTopic: 'rec.user-features.counts.changelog' }],
 * });
 * const counts = state.store<number>('counts');
 * counts.put('u1', ((await counts.get('u1')) ?? 0) + 1);
 * await state.commit(new Map([['rec.interactions', 1042]]));
 * await state.close();
 * ```
 */
import { StateStoreError } from '../errors.js';
import type { EventLog, OutgoingRecord } from '../log/log.js';
import { CachedStore, DEFAULT_CACHE_ENTRIES, type FlushWrite } from './cached-store.js';
import { appendBatch } from './changelog/io.js';
import { type CommitMarker, markerRecord } from './changelog/marker.js';
import { digestStore } from './digest.js';
import { DATA_END, DATA_START, META_KEY, prefixedKey, storePrefix } from './keys.js';
import { MemoryEngine } from './memory/memory-engine.js';
import { type RecoveryReport, recover, type StateLogger } from './recovery.js';
import { RocksDbEngine, type RocksDbEngineOptions } from './rocksdb/rocksdb-engine.js';
import type { KeyValueStore, StoreEngine, ValueCodec } from './store.js';
import { encodeMeta, type StoreMeta, type TaskMeta } from './task-meta.js';

export type { RecoveryReport, StateLogger };

/** A store of a task, as the topology declares it. */
export interface StoreSpec<V = unknown> {
  readonly name: string;
  readonly codec: ValueCodec<V>;
  /** Compacted topic with at least as many partitions as the task's input topics; the caller creates it. */
  readonly changelogTopic: string;
  /** Clean values kept decoded in memory. Default 100,000. */
  readonly cacheEntries?: number;
}

export interface TaskStateOptions {
  /** The task's own directory (RocksDB engine); unused by the memory engine. */
  readonly dir: string;
  readonly engine: 'rocksdb' | 'memory';
  readonly log: EventLog;
  readonly applicationId: string;
  /** The input partition this task owns; its changelog partition has the same number. */
  readonly partition: number;
  // biome-ignore lint/suspicious/noExplicitAny: each store has its own value type.
  readonly stores: readonly StoreSpec<any>[];
  readonly logger?: StateLogger;
  /** Called as a store is restored from its changelog: changelog records replayed so far, out of `total`. */
  readonly onRestoreProgress?: (store: string, restored: number, total: number) => void;
  readonly rocksdb?: RocksDbEngineOptions;
}

/** Tombstones per changelog append when wiping a store. */
const WIPE_BATCH = 10_000;

/** Stores up to this size get their key index by a scan on open (about 5 µs a key); larger ones go without. */
const KEY_SCAN_LIMIT = 50_000;

/**
 * One task's stores, their changelogs and the input offsets they reflect,
 * committed together (the protocol above).
 *
 * @example
 * ```ts
 * const state = await TaskState.open({ dir, engine: 'rocksdb', log, applicationId: 'counts', partition: 0, stores });
 * state.store<number>('counts').put('u1', 1);
 * await state.commit(new Map([['rec.interactions', 1042]]));
 * ```
 */
export class TaskState {
  readonly applicationId: string;
  readonly partition: number;
  /** How the state was obtained when the task opened. */
  readonly recovery: RecoveryReport;
  private readonly stores: Map<string, CachedStore<unknown>>;
  private readonly storeList: CachedStore<unknown>[];
  private readonly topics: Map<string, string>;
  private meta: TaskMeta;
  private offsets: ReadonlyMap<string, number>;
  private committing: Promise<void> | null = null;
  /** Set when a commit failed after it may have appended to a changelog; see `flush`. */
  private afterFailedCommit = false;
  private closed = false;

  private constructor(
    private readonly options: TaskStateOptions,
    private readonly engine: StoreEngine,
    meta: TaskMeta,
    recovery: RecoveryReport,
  ) {
    this.applicationId = options.applicationId;
    this.partition = options.partition;
    this.recovery = recovery;
    this.meta = meta;
    this.offsets = toMap(meta.inputOffsets);
    this.stores = new Map();
    this.topics = new Map();
    for (const spec of options.stores) {
      const count = meta.stores[spec.name]?.count ?? 0;
      this.stores.set(
        spec.name,
        new CachedStore(spec.name, engine, spec.codec, spec.cacheEntries ?? DEFAULT_CACHE_ENTRIES, count),
      );
      this.topics.set(spec.name, spec.changelogTopic);
    }
    this.storeList = [...this.stores.values()];
  }

  /**
   * Opens the task's engine and brings it to its last committed state: from
   * the local engine (rolling back changelog orphans of a crashed commit) or,
   * when there is no local state, by restoring every store from its changelog.
   */
  static async open(options: TaskStateOptions): Promise<TaskState> {
    validate(options);
    const engine =
      options.engine === 'memory'
        ? new MemoryEngine()
        : await RocksDbEngine.open(options.dir, options.rocksdb);
    try {
      const { meta, report } = await recover({
        engine,
        log: options.log,
        dir: options.dir,
        applicationId: options.applicationId,
        partition: options.partition,
        stores: options.stores.map((s) => ({
          name: s.name,
          topic: s.changelogTopic,
          prefix: storePrefix(s.name),
        })),
        logger: options.logger,
        onRestoreProgress: options.onRestoreProgress,
      });
      const state = new TaskState(options, engine, meta, report);
      await state.indexKeys();
      return state;
    } catch (err) {
      await engine.close().catch(() => undefined);
      throw err;
    }
  }

  /** The store named `name`; the same object for the life of the task. */
  store<V>(name: string): KeyValueStore<V> {
    const store = this.stores.get(name);
    if (store === undefined)
      throw new StateStoreError(`task ${this.applicationId}/${this.partition} has no store ${name}`);
    return store as KeyValueStore<V>;
  }

  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /** Next offset to read per input topic (this partition) as of the last commit; empty on a fresh start. */
  committedInputOffsets(): ReadonlyMap<string, number> {
    return this.offsets;
  }

  /** Sequence number of the last commit that changed the stores (0: none yet). */
  commitSeq(): number {
    return this.meta.seq;
  }

  /** Writes not yet committed, over all stores; a runner may commit early when this grows large. */
  pendingWrites(): number {
    let n = 0;
    for (const store of this.storeList) n += store.pendingCount();
    return n;
  }

  /**
   * The committed values of `keys` in store `name`, with one engine round
   * trip: what the last commit wrote, never the pending writes of the task's
   * processors. For readers outside the task (the in-process online store),
   * which must never see state that a crash or a retry could take back.
   * Rejects with a StateStoreError once the task state is closed.
   *
   * @example
   * ```ts
   * const [u1, u2] = await state.readCommitted<UserView>('user', ['u1', 'u2']);
   * ```
   */
  async readCommitted<V>(name: string, keys: readonly string[]): Promise<(V | undefined)[]> {
    if (this.closed) throw this.closedError();
    return (this.store(name) as CachedStore<V>).readCommitted(keys);
  }

  /** Whether `close()` was called: a reader holding this object should look the task up again. */
  isClosed(): boolean {
    return this.closed;
  }

  /** Committed entries of a store, for metrics. */
  approximateCount(store: string): number {
    return (this.store(store) as CachedStore<unknown>).approximateCount();
  }

  /**
   * Loads the committed values of `keys` into the stores' caches with one
   * engine round trip, so that the `get`s that follow need none. An engine
   * read per cold key costs a thread-pool hop (tens of microseconds); a
   * runner that prefetches the keys of each polled batch pays that once per
   * batch. `stores` limits it to the stores keyed like the records (default:
   * every store). Keys already pending or cached are skipped.
   *
   * @example
   * ```ts
   * const batch = await consumer.poll({ maxRecords: 1000 });
   * await state.prefetch(batch.map((r) => r.key ?? ''), ['counts']);
   * ```
   */
  async prefetch(keys: readonly string[], stores?: readonly string[]): Promise<void> {
    if (this.closed) throw this.closedError();
    const targets =
      stores === undefined ? this.storeList : stores.map((name) => this.store(name) as CachedStore<unknown>);
    const wanted: { store: CachedStore<unknown>; key: string; generation: number }[] = [];
    const engineKeys: Buffer[] = [];
    for (const store of targets) {
      const generation = store.cacheGeneration();
      const seen = new Set<string>();
      for (const key of keys) {
        if (seen.has(key) || !store.needsLoad(key)) continue;
        seen.add(key);
        wanted.push({ store, key, generation });
        engineKeys.push(prefixedKey(store.prefix, key));
      }
    }
    if (wanted.length === 0) return;
    const values = await this.engine.getMany(engineKeys);
    if (this.closed) return;
    wanted.forEach(({ store, key, generation }, i) => {
      store.fill(key, values[i], generation);
    });
  }

  /**
   * Commits every store's pending writes together with the input offsets
   * they reflect (see the module comment for the protocol). Processing may go
   * on while the commit is in flight: writes made after the call belong to
   * the next commit. One commit at a time. On failure the writes stay
   * pending and a later commit retries them.
   *
   * `after`: the commit takes its snapshot now but writes nothing until this
   * settles successfully — the runner passes the append of the outputs the
   * snapshot's records produced, so state never gets ahead of its outputs.
   */
  commit(inputOffsets: ReadonlyMap<string, number>, after?: Promise<unknown>): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    if (this.committing !== null)
      return Promise.reject(
        new StateStoreError(`task ${this.applicationId}/${this.partition}: a commit is already in progress`),
      );
    for (const [topic, offset] of inputOffsets) {
      if (!Number.isSafeInteger(offset) || offset < 0) {
        return Promise.reject(
          new StateStoreError(
            `task ${this.applicationId}/${this.partition}: invalid input offset ${offset} for ${topic}`,
          ),
        );
      }
    }
    let pending = 0;
    for (const store of this.storeList) pending += store.beginFlush();
    const offsets = Object.fromEntries([...inputOffsets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const run = this.flush(pending, offsets, after);
    this.committing = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.committing = null;
    });
  }

  /** A sha256 per store of its committed entries (key and value bytes in key order); equal stores give equal digests. */
  async digest(): Promise<Record<string, string>> {
    if (this.closed) throw this.closedError();
    const out: Record<string, string> = {};
    for (const name of [...this.stores.keys()].sort())
      out[name] = await digestStore(this.engine, (this.stores.get(name) as CachedStore<unknown>).prefix);
    return out;
  }

  /**
   * Deletes all state of the task, durably: every store's changelog gets a
   * tombstone for each of its keys and a `wipe` marker with empty input
   * offsets, then the engine is cleared. A restart, or a restore onto a
   * fresh disk, then starts empty from the earliest input offsets. Pending
   * writes are dropped; call it while nothing is being processed.
   */
  async wipe(): Promise<void> {
    if (this.closed) throw this.closedError();
    await this.committing;
    const run = this.clearAll();
    this.committing = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      await run;
    } finally {
      this.committing = null;
    }
  }

  /** Waits for a commit in flight, then closes the engine; uncommitted writes are dropped (as in a crash). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.committing;
    for (const store of this.storeList) store.close();
    await this.engine.close();
  }

  private async clearAll(): Promise<void> {
    for (const store of this.storeList) store.reset(store.approximateCount());
    const marker: CommitMarker = {
      kind: 'wipe',
      seq: this.meta.seq + 1,
      inputOffsets: {},
      stores: this.storeNames(),
    };
    const stores: Record<string, StoreMeta> = {};
    for (const store of this.storeList) {
      const topic = this.topics.get(store.name) as string;
      let batch: OutgoingRecord[] = [];
      for await (const [key] of this.engine.iterate({ gte: store.prefix, lt: store.prefixEnd })) {
        batch.push({
          key: key.toString('utf8', store.prefix.length),
          value: null,
          partition: this.partition,
        });
        if (batch.length === WIPE_BATCH) {
          await appendBatch(this.options.log, topic, this.partition, batch);
          batch = [];
        }
      }
      batch.push(markerRecord(this.partition, marker));
      stores[store.name] = {
        topic,
        end: await appendBatch(this.options.log, topic, this.partition, batch),
        count: 0,
      };
    }
    // Metadata goes first: an engine without it is restored from the changelogs, which now say "empty".
    await this.engine.write([{ key: META_KEY, value: null }]);
    await this.engine.clearRange(DATA_START, DATA_END);
    const meta: TaskMeta = { ...this.meta, seq: marker.seq, inputOffsets: {}, stores };
    await this.engine.write([{ key: META_KEY, value: encodeMeta(meta) }]);
    this.meta = meta;
    this.offsets = new Map();
    for (const store of this.storeList) store.reset(0);
  }

  private async indexKeys(): Promise<void> {
    for (const store of this.storeList) {
      if (store.approximateCount() > KEY_SCAN_LIMIT) continue;
      const keys = new Set<string>();
      for await (const [key] of this.engine.iterate({ gte: store.prefix, lt: store.prefixEnd }))
        keys.add(key.toString('utf8', store.prefix.length));
      store.trackKeys(keys);
    }
  }

  private async flush(
    pending: number,
    offsets: Record<string, number>,
    after?: Promise<unknown>,
  ): Promise<void> {
    try {
      if (pending === 0) {
        if (!sameOffsets(offsets, this.meta.inputOffsets)) {
          await after;
          const meta: TaskMeta = { ...this.meta, inputOffsets: offsets };
          await this.engine.write([{ key: META_KEY, value: encodeMeta(meta) }]);
          this.setMeta(meta);
        }
        for (const store of this.storeList) store.completeFlush(0);
        return;
      }
      const flushed = this.storeList.map((store) => store.flushWrites());
      await after;
      const { deltas, writes } = await this.countDeltas(flushed);
      const seq = this.meta.seq + 1;
      const marker: CommitMarker = { kind: 'commit', seq, inputOffsets: offsets, stores: this.storeNames() };
      const ends = await this.appendChangelogs(writes, marker);
      const stores: Record<string, StoreMeta> = { ...this.meta.stores };
      const engineWrites: { key: Buffer; value: Buffer | null }[] = [];
      this.storeList.forEach((store, i) => {
        const previous = this.meta.stores[store.name];
        stores[store.name] = {
          topic: this.topics.get(store.name) as string,
          end: ends[i] as number,
          count: (previous?.count ?? 0) + (deltas[i] as number),
        };
        for (const w of writes[i] as FlushWrite[]) engineWrites.push({ key: w.engineKey, value: w.value });
      });
      const meta: TaskMeta = { ...this.meta, seq, inputOffsets: offsets, stores };
      engineWrites.push({ key: META_KEY, value: encodeMeta(meta) });
      await this.engine.write(engineWrites);
      this.setMeta(meta);
      this.storeList.forEach((store, i) => {
        store.completeFlush(deltas[i] as number);
      });
      this.afterFailedCommit = false;
    } catch (err) {
      for (const store of this.storeList) store.abortFlush();
      // The failed commit may have appended part of its changelog batch: the
      // next one must rewrite every key it touched, deletes of new keys included.
      this.afterFailedCommit = true;
      throw err;
    }
  }

  /**
   * Appends every store's batch. All appends settle before this returns, so a
   * failed commit leaves no append in flight that a retry could overtake.
   */
  private async appendChangelogs(writes: readonly FlushWrite[][], marker: CommitMarker): Promise<number[]> {
    const results = await Promise.allSettled(
      this.storeList.map((store, i) => {
        const records: OutgoingRecord[] = (writes[i] as FlushWrite[]).map((w) => ({
          key: w.key,
          value: w.value,
          partition: this.partition,
        }));
        records.push(markerRecord(this.partition, marker));
        return appendBatch(this.options.log, this.topics.get(store.name) as string, this.partition, records);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<number>).value);
  }

  /**
   * Per store, how the committed entry count changes, and the writes worth
   * making: a delete of a key that was never committed (put and deleted
   * within one commit interval, like a pending queue entry) is dropped, so it
   * costs neither a changelog record nor an engine write. Asks the engine only
   * about keys the cache knows nothing of.
   */
  private async countDeltas(
    writes: readonly FlushWrite[][],
  ): Promise<{ deltas: number[]; writes: FlushWrite[][] }> {
    const unknown: FlushWrite[] = [];
    for (const list of writes) for (const w of list) if (w.existed === undefined) unknown.push(w);
    const found = await this.engine.getMany(unknown.map((w) => w.engineKey));
    const existedBefore = new Map<FlushWrite, boolean>();
    unknown.forEach((w, i) => {
      existedBefore.set(w, found[i] !== undefined);
    });
    const kept: FlushWrite[][] = [];
    const deltas = writes.map((list) => {
      let delta = 0;
      const keep: FlushWrite[] = [];
      for (const w of list) {
        const existed = w.existed ?? existedBefore.get(w) ?? true;
        if (w.value === null && !existed && !this.afterFailedCommit) continue;
        keep.push(w);
        delta += (w.value !== null ? 1 : 0) - (existed ? 1 : 0);
      }
      kept.push(keep);
      return delta;
    });
    return { deltas, writes: kept };
  }

  private setMeta(meta: TaskMeta): void {
    if (!sameOffsets(meta.inputOffsets, this.meta.inputOffsets)) this.offsets = toMap(meta.inputOffsets);
    this.meta = meta;
  }

  private closedError(): StateStoreError {
    return new StateStoreError(`task state ${this.applicationId}/${this.partition} used after close`);
  }
}

function validate(options: TaskStateOptions): void {
  if (!Number.isSafeInteger(options.partition) || options.partition < 0) {
    throw new StateStoreError(`invalid task partition ${options.partition}: expected an integer >= 0`);
  }
  const seen = new Set<string>();
  for (const spec of options.stores) {
    if (seen.has(spec.name))
      throw new StateStoreError(
        `task ${options.applicationId}/${options.partition} declares store ${spec.name} twice`,
      );
    seen.add(spec.name);
    storePrefix(spec.name);
  }
}

function toMap(offsets: Readonly<Record<string, number>>): ReadonlyMap<string, number> {
  return new Map(Object.entries(offsets));
}

function sameOffsets(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k] === b[k]);
}
