/**
 * The writes of a task's commit and of its wipe, the heart of TaskState
 * (task-state.ts).
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
 * const { meta, deltas } = await writeCommit(task, state.meta, { 'rec.interactions': 1042 }, undefined, false);
 * ```
 */
import type { EventLog, OutgoingRecord } from '../log/log.js';
import type { CachedStore, FlushWrite } from './cached-store.js';
import { appendBatch } from './changelog/io.js';
import { type CommitMarker, markerRecord } from './changelog/marker.js';
import { DATA_END, DATA_START, META_KEY } from './keys.js';
import type { StoreEngine } from './store.js';
import { encodeMeta, type StoreMeta, type TaskMeta } from './task-meta.js';

/** Tombstones per changelog append when wiping a store. */
const WIPE_BATCH = 10_000;

/** What a commit writes to: the task's log partition, engine and stores. */
export interface CommitTarget {
  readonly log: EventLog;
  readonly engine: StoreEngine;
  readonly partition: number;
  readonly stores: readonly CachedStore<unknown>[];
  /** The changelog topic of each store, by name. */
  readonly topics: ReadonlyMap<string, string>;
}

/**
 * Steps 2 and 3 of the protocol for the writes the stores set aside
 * (`beginFlush`), once `after` settled: the changelog appends, then the one
 * engine write. Returns the new task metadata and, per store, how its
 * committed entry count changed. `afterFailedCommit` keeps deletes of keys
 * never committed, which a failed commit may have appended already.
 */
export async function writeCommit(
  target: CommitTarget,
  current: TaskMeta,
  offsets: Record<string, number>,
  after: Promise<unknown> | undefined,
  afterFailedCommit: boolean,
): Promise<{ meta: TaskMeta; deltas: number[] }> {
  const flushed = target.stores.map((store) => store.flushWrites());
  await after;
  const { deltas, writes } = await countDeltas(target, flushed, afterFailedCommit);
  const seq = current.seq + 1;
  const marker: CommitMarker = {
    kind: 'commit',
    seq,
    inputOffsets: offsets,
    stores: target.stores.map((s) => s.name),
  };
  const ends = await appendChangelogs(target, writes, marker);
  const stores: Record<string, StoreMeta> = { ...current.stores };
  const engineWrites: { key: Buffer; value: Buffer | null }[] = [];
  target.stores.forEach((store, i) => {
    const previous = current.stores[store.name];
    stores[store.name] = {
      topic: target.topics.get(store.name) as string,
      end: ends[i] as number,
      count: (previous?.count ?? 0) + (deltas[i] as number),
    };
    for (const w of writes[i] as FlushWrite[]) engineWrites.push({ key: w.engineKey, value: w.value });
  });
  const meta: TaskMeta = { ...current, seq, inputOffsets: offsets, stores };
  engineWrites.push({ key: META_KEY, value: encodeMeta(meta) });
  await target.engine.write(engineWrites);
  return { meta, deltas };
}

/**
 * A commit without pending writes: it appends nothing and records the new
 * input offsets in the engine, when they moved. Returns the new task
 * metadata (`current` when the offsets did not move).
 */
export async function writeOffsets(
  engine: StoreEngine,
  current: TaskMeta,
  offsets: Record<string, number>,
  after: Promise<unknown> | undefined,
): Promise<TaskMeta> {
  if (sameOffsets(offsets, current.inputOffsets)) return current;
  await after;
  const meta: TaskMeta = { ...current, inputOffsets: offsets };
  await engine.write([{ key: META_KEY, value: encodeMeta(meta) }]);
  return meta;
}

/** Whether two sets of input offsets are the same. */
export function sameOffsets(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k] === b[k]);
}

/**
 * Deletes every store's entries durably: a tombstone per key and a `wipe`
 * marker with empty input offsets on each changelog, then the engine is
 * cleared. Returns the new task metadata.
 */
export async function writeWipe(target: CommitTarget, current: TaskMeta): Promise<TaskMeta> {
  const marker: CommitMarker = {
    kind: 'wipe',
    seq: current.seq + 1,
    inputOffsets: {},
    stores: target.stores.map((s) => s.name),
  };
  const stores: Record<string, StoreMeta> = {};
  for (const store of target.stores) {
    const topic = target.topics.get(store.name) as string;
    let batch: OutgoingRecord[] = [];
    for await (const [key] of target.engine.iterate({ gte: store.prefix, lt: store.prefixEnd })) {
      batch.push({
        key: key.toString('utf8', store.prefix.length),
        value: null,
        partition: target.partition,
      });
      if (batch.length === WIPE_BATCH) {
        await appendBatch(target.log, topic, target.partition, batch);
        batch = [];
      }
    }
    batch.push(markerRecord(target.partition, marker));
    stores[store.name] = {
      topic,
      end: await appendBatch(target.log, topic, target.partition, batch),
      count: 0,
    };
  }
  // Metadata goes first: an engine without it is restored from the changelogs, which now say "empty".
  await target.engine.write([{ key: META_KEY, value: null }]);
  await target.engine.clearRange(DATA_START, DATA_END);
  const meta: TaskMeta = { ...current, seq: marker.seq, inputOffsets: {}, stores };
  await target.engine.write([{ key: META_KEY, value: encodeMeta(meta) }]);
  return meta;
}

/**
 * Appends every store's batch. All appends settle before this returns, so a
 * failed commit leaves no append in flight that a retry could overtake.
 */
async function appendChangelogs(
  target: CommitTarget,
  writes: readonly FlushWrite[][],
  marker: CommitMarker,
): Promise<number[]> {
  const results = await Promise.allSettled(
    target.stores.map((store, i) => {
      const records: OutgoingRecord[] = (writes[i] as FlushWrite[]).map((w) => ({
        key: w.key,
        value: w.value,
        partition: target.partition,
      }));
      records.push(markerRecord(target.partition, marker));
      return appendBatch(target.log, target.topics.get(store.name) as string, target.partition, records);
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
async function countDeltas(
  target: CommitTarget,
  writes: readonly FlushWrite[][],
  afterFailedCommit: boolean,
): Promise<{ deltas: number[]; writes: FlushWrite[][] }> {
  const unknown: FlushWrite[] = [];
  for (const list of writes) for (const w of list) if (w.existed === undefined) unknown.push(w);
  const found = await target.engine.getMany(unknown.map((w) => w.engineKey));
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
      if (w.value === null && !existed && !afterFailedCommit) continue;
      keep.push(w);
      delta += (w.value !== null ? 1 : 0) - (existed ? 1 : 0);
    }
    kept.push(keep);
    return delta;
  });
  return { deltas, writes: kept };
}
