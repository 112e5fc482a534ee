/**
 * Gathers a training set from training snapshots: the
 * snapshots in the window, exactly their lineage ranges of
 * `rec.training-examples` (excluded offsets skipped), decoded and encoded
 * into columns.
 *
 * - **Duplicates**: outputs repeat by design (a crash re-emits a commit's
 *   examples; a replay of `features` appends a new generation at new
 *   offsets, which the snapshotter cuts into new snapshots). Each
 *   `example_id` is kept once, from its newest copy: the highest offset of
 *   its partition (examples are keyed by user, so every copy of one is in
 *   one partition), which after a replay is the newest generation.
 * - **Privacy**: users whose newest profile on `rec.users` opts out, or who
 *   were deleted (a tombstone), are left out, including their examples in
 *   snapshots that closed before the opt-out.
 * - **Window**: `windowDays` > 0 keeps the examples whose event time is
 *   within that many days of the newest snapshot's end.
 *
 * @example
 * ```ts
 * const set = await gatherTrainingSet({ log: platform.log, serde: platform.serde, windowDays: 0 });
 * console.log(set.stats.examples, set.snapshots.length);
 * ```
 */

import type { Lookup } from '../features/encoding.js';
import { ExampleColumns } from '../features/example-columns.js';
import { VOCABULARY_KINDS, type VocabularyKind } from '../features/feature-service.js';
import { VocabularyBuilder } from '../features/vocabulary.js';
import { readCatalog } from '../registry/catalog.js';
import { readRange, readTopic } from '../registry/topic-reader.js';
import { DeserializationError } from '../runtime/errors.js';
import type { EventLog } from '../runtime/log/log.js';
import type { Serde } from '../runtime/serde/serde.js';
import type { Item, TrainingExample, TrainingSnapshot, User } from '../schemas/generated/types.js';
import { TRAINING_SNAPSHOTS_TOPIC, USERS_TOPIC } from '../schemas/topics.js';

export interface GatherOptions {
  readonly log: EventLog;
  readonly serde: Serde;
  /** 0: every snapshot; otherwise the last N days of event time. */
  readonly windowDays: number;
  /** Called every few thousand examples read. */
  readonly onProgress?: (read: number, total: number) => void;
  /** Called for each record of a lineage range that does not decode. */
  readonly onUndecodable?: (partition: number, offset: number, error: Error) => void;
}

export interface GatherStats {
  /** Examples in the set (each example_id once). */
  readonly examples: number;
  /** Records read from the lineage ranges. */
  readonly read: number;
  /** Copies dropped because a newer copy of the same example_id was read. */
  readonly duplicates: number;
  /** Examples of users who opted out or were deleted. */
  readonly optedOut: number;
  /** Examples outside the time window. */
  readonly outsideWindow: number;
  /** Records in the ranges that are not a decodable TrainingExample (logged, left out). */
  readonly undecodable: number;
}

export interface TrainingSet {
  readonly snapshots: readonly TrainingSnapshot[];
  readonly columns: ExampleColumns;
  /** The example_id of each row. */
  readonly exampleIds: readonly string[];
  readonly vocabularies: Record<VocabularyKind, VocabularyBuilder>;
  /** Catalog items by id (newest version; deleted items absent). */
  readonly catalog: ReadonlyMap<string, Item>;
  readonly stats: GatherStats;
  readonly eventTimeStart: number | null;
  readonly eventTimeEnd: number | null;
}

/** Every distinct snapshot on `rec.training-snapshots`, in the order they were published per partition. */
export async function readSnapshots(log: EventLog, serde: Serde): Promise<TrainingSnapshot[]> {
  const decoder = await serde.decoder('rec.training-snapshots-value');
  const seen = new Map<string, TrainingSnapshot>();
  for await (const record of readTopic(log, TRAINING_SNAPSHOTS_TOPIC)) {
    if (record.value === null) continue;
    const snapshot = await decoder.decode(record.value);
    if (!seen.has(snapshot.snapshot_id)) seen.set(snapshot.snapshot_id, snapshot);
  }
  return [...seen.values()];
}

/** Users to leave out: their newest profile (by updated_ts) opts out, or they were deleted. */
export async function excludedUsers(log: EventLog, serde: Serde): Promise<Set<string>> {
  const decoder = await serde.decoder('rec.users-value');
  const newest = new Map<string, User | null>();
  for await (const record of readTopic(log, USERS_TOPIC)) {
    if (record.key === null) continue;
    if (record.value === null) {
      newest.set(record.key, null);
      continue;
    }
    const user = await decoder.decode(record.value);
    const current = newest.get(record.key);
    if (current === undefined || current === null || user.updated_ts >= current.updated_ts)
      newest.set(record.key, user);
  }
  const out = new Set<string>();
  for (const [id, user] of newest) if (user === null || user.opt_out) out.add(id);
  return out;
}

/** The snapshots whose examples can fall in the window ending at the newest snapshot's end. */
function inWindow(
  snapshots: readonly TrainingSnapshot[],
  windowDays: number,
): { kept: TrainingSnapshot[]; from: number } {
  if (windowDays <= 0) return { kept: [...snapshots], from: Number.NEGATIVE_INFINITY };
  const end = Math.max(...snapshots.map((s) => s.event_time_end ?? Number.NEGATIVE_INFINITY));
  const from = end - windowDays * 86_400_000;
  return { kept: snapshots.filter((s) => s.event_time_end === null || s.event_time_end >= from), from };
}

export async function gatherTrainingSet(options: GatherOptions): Promise<TrainingSet> {
  const { log, serde } = options;
  const { kept: snapshots, from } = inWindow(await readSnapshots(log, serde), options.windowDays);
  const excluded = await excludedUsers(log, serde);
  const catalog = await readCatalog(log, serde);
  const vocabularies = Object.fromEntries(
    VOCABULARY_KINDS.map((k) => [
      k,
      new VocabularyBuilder(k === 'category' || k === 'tag' ? '<pad>' : '<unk>'),
    ]),
  ) as Record<VocabularyKind, VocabularyBuilder>;
  // Catalog values first, so every catalog item has an index even if nobody interacted with it.
  for (const [id, item] of [...catalog].sort(([a], [b]) => (a < b ? -1 : 1))) {
    vocabularies.item.intern(id);
    for (const c of item.categories) vocabularies.category.intern(c);
    for (const t of item.tags) vocabularies.tag.intern(t);
    vocabularies.language.intern(item.language);
  }
  const lookup: Lookup = (kind, value) => vocabularies[kind].intern(value);

  const decoder = await serde.decoder('rec.training-examples-value');
  const columns = new ExampleColumns();
  const rowOf = new Map<string, { row: number; partition: number; offset: number }>();
  const exampleIds: string[] = [];
  const total = snapshots.reduce((n, s) => n + s.example_count, 0);
  let read = 0;
  let duplicates = 0;
  let optedOut = 0;
  let outsideWindow = 0;
  let undecodable = 0;
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const snapshot of snapshots) {
    for (const range of snapshot.ranges) {
      const skip = new Set(range.excluded_offsets);
      for await (const record of readRange(
        log,
        range.topic,
        range.partition,
        range.start_offset,
        range.end_offset,
      )) {
        if (skip.has(record.offset) || record.value === null) continue;
        read++;
        if (read % 5000 === 0) options.onProgress?.(read, total);
        let example: TrainingExample;
        try {
          example = await decoder.decode(record.value);
        } catch (error) {
          if (!(error instanceof DeserializationError)) throw error;
          undecodable++;
          options.onUndecodable?.(record.partition, record.offset, error);
          continue;
        }
        if (excluded.has(example.user_id)) {
          optedOut++;
          continue;
        }
        if (example.ts < from) {
          outsideWindow++;
          continue;
        }
        const previous = rowOf.get(example.example_id);
        if (previous !== undefined) {
          duplicates++;
          const newer = record.partition !== previous.partition || record.offset > previous.offset;
          if (!newer) continue;
          columns.set(previous.row, example, lookup);
          rowOf.set(example.example_id, {
            row: previous.row,
            partition: record.partition,
            offset: record.offset,
          });
        } else {
          const row = columns.addRow();
          columns.set(row, example, lookup);
          exampleIds.push(example.example_id);
          rowOf.set(example.example_id, { row, partition: record.partition, offset: record.offset });
        }
        if (example.ts < start) start = example.ts;
        if (example.ts > end) end = example.ts;
      }
    }
  }
  options.onProgress?.(read, total);
  return {
    snapshots,
    columns,
    exampleIds,
    vocabularies,
    catalog,
    stats: { examples: columns.length, read, duplicates, optedOut, outsideWindow, undecodable },
    eventTimeStart: columns.length > 0 ? start : null,
    eventTimeEnd: columns.length > 0 ? end : null,
  };
}
