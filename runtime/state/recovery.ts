/**
 * What a task does with its state when it opens, before any record is
 * processed. Two cases:
 *
 * - **Local state present** (the engine holds task metadata): for each store,
 *   changelog records past the position recorded in the metadata are
 *   orphans of a commit that crashed between its changelog append and its
 *   engine write. They are rolled back (`correctOrphans`), so the changelog's
 *   last value per key equals the committed state again.
 * - **No local state** (fresh or lost disk, or an interrupted restore): every
 *   store is restored from its changelog partition up to its last commit
 *   marker, the input offsets come from that marker, and records after it
 *   are rolled back as orphans.
 *
 * A restore needs the stores' last markers to agree. Each commit that changes
 * anything appends a batch with a marker to every store's changelog, one
 * store after the other; a crash between two of those appends leaves the
 * changelogs one commit apart. With the local state intact that is harmless
 * (the engine knows the committed commit, the newer batch is rolled back).
 * With the local state lost as well, the changelogs alone hold no consistent
 * state: compaction may already have removed the older values the lagging
 * store would need, so the restore fails with a StateStoreError instead of
 * loading stores from different commits. The way out is to reset the task
 * and reprocess its input from the earliest offset.
 *
 * @example
 * ```ts
 * const { meta, report } = await recover({ engine, log, dir, applicationId, partition, stores });
 * ```
 */
import type { Logger } from 'pino';
import { StateStoreError } from '../errors.js';
import type { EventLog } from '../log/log.js';
import { type ChangelogTarget, correctOrphans } from './changelog/correct.js';
import {
  type ChangelogTail,
  findLastMarker,
  type PartitionBounds,
  partitionBounds,
  readKeys,
} from './changelog/io.js';
import type { CommitMarker } from './changelog/marker.js';
import { replayChangelog } from './changelog/replay.js';
import { DATA_END, DATA_START, META_KEY, prefixEnd } from './keys.js';
import type { StoreEngine } from './store.js';
import { decodeMeta, encodeMeta, type StoreMeta, type TaskMeta } from './task-meta.js';

/** The two pino methods the state layer logs with. */
export type StateLogger = Pick<Logger, 'info' | 'warn'>;

export interface RecoveryStore {
  readonly name: string;
  readonly topic: string;
  readonly prefix: Buffer;
}

export interface RecoveryContext {
  readonly engine: StoreEngine;
  readonly log: EventLog;
  readonly dir: string;
  readonly applicationId: string;
  readonly partition: number;
  readonly stores: readonly RecoveryStore[];
  readonly logger?: StateLogger;
  readonly onRestoreProgress?: (store: string, restored: number, total: number) => void;
}

/** How the task's state was obtained on open. */
export interface RecoveryReport {
  /** `local`: from the engine; `restored`: rebuilt from the changelogs. */
  readonly mode: 'local' | 'restored';
  /** Changelog records replayed onto the engine. */
  readonly restoredRecords: number;
  /** Orphan keys rolled back in the changelogs. */
  readonly correctedKeys: number;
}

export async function recover(ctx: RecoveryContext): Promise<{ meta: TaskMeta; report: RecoveryReport }> {
  const bytes = await ctx.engine.get(META_KEY);
  return bytes === undefined ? restoreAll(ctx) : reconcile(ctx, decodeMeta(bytes, ctx.dir));
}

function target(ctx: RecoveryContext, store: RecoveryStore): ChangelogTarget {
  return {
    log: ctx.log,
    engine: ctx.engine,
    topic: store.topic,
    partition: ctx.partition,
    prefix: store.prefix,
  };
}

function where(ctx: RecoveryContext): string {
  return `task ${ctx.applicationId}/${ctx.partition}`;
}

async function reconcile(
  ctx: RecoveryContext,
  meta: TaskMeta,
): Promise<{ meta: TaskMeta; report: RecoveryReport }> {
  if (meta.applicationId !== ctx.applicationId || meta.partition !== ctx.partition) {
    throw new StateStoreError(
      `state dir ${ctx.dir} belongs to task ${meta.applicationId}/${meta.partition}, not ${ctx.applicationId}/${ctx.partition}; give each task its own directory`,
    );
  }
  const correction: CommitMarker = {
    kind: 'correction',
    seq: meta.seq,
    inputOffsets: meta.inputOffsets,
    stores: ctx.stores.map((s) => s.name),
  };
  const stores: Record<string, StoreMeta> = { ...meta.stores };
  let changed = false;
  let correctedKeys = 0;
  for (const store of ctx.stores) {
    const bounds = await partitionBounds(ctx.log, store.topic, ctx.partition);
    const recorded = meta.stores[store.name];
    if (recorded === undefined) {
      if (bounds.end > bounds.start) {
        throw new StateStoreError(
          `${where(ctx)}: store ${store.name} is new to the local state in ${ctx.dir}, but its changelog ${store.topic} partition ${ctx.partition} already holds records; reset the task's state so that all its stores are restored together`,
        );
      }
      stores[store.name] = { topic: store.topic, end: bounds.end, count: 0 };
      changed = true;
      continue;
    }
    if (recorded.topic !== store.topic) {
      throw new StateStoreError(
        `${where(ctx)}: store ${store.name} was committed to changelog ${recorded.topic}, now declared with ${store.topic}; reset the task's state to move it`,
      );
    }
    if (bounds.end < recorded.end) {
      throw new StateStoreError(
        `${where(ctx)}: changelog ${store.topic} partition ${ctx.partition} ends at offset ${bounds.end}, but the local state recorded a commit up to ${recorded.end}: the changelog lost acknowledged records (topic deleted and recreated?); reset the task's state and reprocess its input`,
      );
    }
    if (bounds.end > recorded.end) {
      const orphans = await readKeys(
        ctx.log,
        store.topic,
        ctx.partition,
        Math.max(recorded.end, bounds.start),
        bounds.end,
      );
      const end = await correctOrphans(target(ctx, store), orphans, correction);
      ctx.logger?.warn(
        {
          store: store.name,
          partition: ctx.partition,
          orphanRecords: bounds.end - recorded.end,
          keys: orphans.size,
        },
        'rolled back changelog records of a commit that did not complete',
      );
      stores[store.name] = { ...recorded, end };
      correctedKeys += orphans.size;
      changed = true;
    }
  }
  const next: TaskMeta = { ...meta, stores };
  if (changed) await ctx.engine.write([{ key: META_KEY, value: encodeMeta(next) }]);
  return { meta: next, report: { mode: 'local', restoredRecords: 0, correctedKeys } };
}

interface StoreScan {
  readonly store: RecoveryStore;
  readonly bounds: PartitionBounds;
  readonly tail: ChangelogTail;
}

async function restoreAll(ctx: RecoveryContext): Promise<{ meta: TaskMeta; report: RecoveryReport }> {
  // Leftovers of an interrupted restore or wipe: without metadata they are not a committed state.
  await ctx.engine.clearRange(DATA_START, DATA_END);
  const scans: StoreScan[] = [];
  for (const store of ctx.stores) {
    const bounds = await partitionBounds(ctx.log, store.topic, ctx.partition);
    const tail: ChangelogTail =
      bounds.end > bounds.start
        ? await findLastMarker(ctx.log, store.topic, ctx.partition, bounds)
        : { marker: undefined, markerOffset: bounds.start, orphanKeys: new Set() };
    scans.push({ store, bounds, tail });
  }
  const point = restorePoint(ctx, scans);
  const seq = point?.seq ?? 0;
  const inputOffsets = point?.inputOffsets ?? {};
  const correction: CommitMarker = {
    kind: 'correction',
    seq,
    inputOffsets,
    stores: ctx.stores.map((s) => s.name),
  };

  let restoredRecords = 0;
  let correctedKeys = 0;
  const stores: Record<string, StoreMeta> = {};
  for (const { store, bounds, tail } of scans) {
    const started = Date.now();
    const replay = await replayChangelog(
      target(ctx, store),
      bounds.start,
      tail.marker === undefined ? bounds.start : tail.markerOffset,
      ctx.onRestoreProgress && ((restored, total) => ctx.onRestoreProgress?.(store.name, restored, total)),
    );
    restoredRecords += replay.applied;
    let end = bounds.end;
    if (tail.orphanKeys.size > 0) {
      end = await correctOrphans(target(ctx, store), tail.orphanKeys, correction);
      correctedKeys += tail.orphanKeys.size;
    }
    const count = await ctx.engine.count({ gte: store.prefix, lt: prefixEnd(store.prefix) });
    stores[store.name] = { topic: store.topic, end, count };
    if (replay.skipped > 0)
      ctx.logger?.warn(
        { store: store.name, skipped: replay.skipped },
        'skipped changelog records without a key',
      );
    ctx.logger?.info(
      {
        store: store.name,
        partition: ctx.partition,
        records: replay.applied,
        entries: count,
        orphanKeys: tail.orphanKeys.size,
        ms: Date.now() - started,
      },
      'restored store from its changelog',
    );
  }
  const meta: TaskMeta = {
    version: 1,
    applicationId: ctx.applicationId,
    partition: ctx.partition,
    seq,
    inputOffsets,
    stores,
  };
  await ctx.engine.write([{ key: META_KEY, value: encodeMeta(meta) }]);
  return { meta, report: { mode: 'restored', restoredRecords, correctedKeys } };
}

/** What every store restores to. */
interface RestorePoint {
  readonly seq: number;
  readonly inputOffsets: Readonly<Record<string, number>>;
}

/**
 * The commit every store restores to, or undefined when no changelog holds a
 * marker; throws when the stores' last markers are of different commits.
 * Markers of one commit may carry different input offsets: a correction
 * marker records the offsets of later commits that changed no store, which
 * the commit's own markers predate. The store contents are the same either
 * way, and offsets only grow, so the largest offset per topic is the latest.
 */
function restorePoint(ctx: RecoveryContext, scans: readonly StoreScan[]): RestorePoint | undefined {
  let latest: CommitMarker | undefined;
  for (const { tail } of scans)
    if (tail.marker !== undefined && (latest === undefined || tail.marker.seq > latest.seq))
      latest = tail.marker;
  if (latest === undefined) return undefined;
  const inputOffsets: Record<string, number> = {};
  const lagging: string[] = [];
  for (const { store, tail } of scans) {
    const marker = tail.marker;
    if (marker?.seq === latest.seq) {
      for (const [topic, offset] of Object.entries(marker.inputOffsets))
        inputOffsets[topic] = Math.max(offset, inputOffsets[topic] ?? 0);
    } else if (latest.stores.includes(store.name)) {
      lagging.push(`${store.name} (${marker === undefined ? 'no commit' : `commit ${marker.seq}`})`);
    } else if (marker !== undefined) {
      ctx.logger?.warn(
        { store: store.name, storeSeq: marker.seq, taskSeq: latest.seq },
        'store was not part of the latest commit (removed from the topology and added back?); restoring it as of its own last commit',
      );
    }
  }
  if (lagging.length > 0) {
    throw new StateStoreError(
      `${where(ctx)}: cannot restore the stores from their changelogs: the last commit (${latest.seq}) reached the changelogs of some stores but not of ${lagging.join(', ')}. ` +
        'A crash happened between the changelog appends of one commit and the local state was lost too, so the changelogs hold no consistent state. ' +
        'Reset the task (wipe its state and reprocess its input from the earliest offset).',
    );
  }
  return { seq: latest.seq, inputOffsets };
}
