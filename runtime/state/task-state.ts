/**
 * The state of one task (one input partition, like a Kafka Streams task):
 * its stores in one engine, each store backed by a changelog partition, and
 * the input offsets the stores reflect.
 *
 * The commit protocol that makes state effectively-once is written out in
 * task-commit.ts, which does the writes.
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
import { CachedStore, DEFAULT_CACHE_ENTRIES } from './cached-store.js';
import { digestStore } from './digest.js';
import { storePrefix } from './keys.js';
import { MemoryEngine } from './memory/memory-engine.js';
import { type RecoveryReport, recover, type StateLogger } from './recovery.js';
import { RocksDbEngine } from './rocksdb/rocksdb-engine.js';
import type { KeyValueStore, StoreEngine } from './store.js';
import { indexStoreKeys, prefetchStores } from './store-prefetch.js';
import { type CommitTarget, sameOffsets, writeCommit, writeOffsets, writeWipe } from './task-commit.js';
import type { TaskMeta } from './task-meta.js';
import { type TaskStateOptions, validateTaskOptions } from './task-options.js';

export type { StoreSpec, TaskStateOptions } from './task-options.js';
export type { RecoveryReport, StateLogger };

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
    validateTaskOptions(options);
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
      await indexStoreKeys(engine, state.storeList);
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
    await prefetchStores(this.engine, targets, keys, () => this.closed);
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
    this.meta = await writeWipe(this.commitTarget(), this.meta);
    this.offsets = new Map();
    for (const store of this.storeList) store.reset(0);
  }

  private commitTarget(): CommitTarget {
    return {
      log: this.options.log,
      engine: this.engine,
      partition: this.partition,
      stores: this.storeList,
      topics: this.topics,
    };
  }

  private async flush(
    pending: number,
    offsets: Record<string, number>,
    after?: Promise<unknown>,
  ): Promise<void> {
    try {
      if (pending === 0) {
        this.setMeta(await writeOffsets(this.engine, this.meta, offsets, after));
        for (const store of this.storeList) store.completeFlush(0);
        return;
      }
      const { meta, deltas } = await writeCommit(
        this.commitTarget(),
        this.meta,
        offsets,
        after,
        this.afterFailedCommit,
      );
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

  private setMeta(meta: TaskMeta): void {
    if (!sameOffsets(meta.inputOffsets, this.meta.inputOffsets)) this.offsets = toMap(meta.inputOffsets);
    this.meta = meta;
  }

  private closedError(): StateStoreError {
    return new StateStoreError(`task state ${this.applicationId}/${this.partition} used after close`);
  }
}

function toMap(offsets: Readonly<Record<string, number>>): ReadonlyMap<string, number> {
  return new Map(Object.entries(offsets));
}
