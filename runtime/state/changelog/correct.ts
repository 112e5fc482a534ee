/**
 * Rolls orphans back. Orphans are changelog records of a commit whose
 * changelog append succeeded but whose engine write never happened (a crash
 * between the two). Left alone they would make the changelog's last value
 * of those keys differ from the committed state, and a later restore (or
 * log compaction) would bring uncommitted values back. The correction batch
 * writes, for every orphan key, the engine's committed value or a tombstone,
 * and ends with a marker carrying the committed position.
 *
 * @example
 * ```ts
 * const end = await correctOrphans({ log, engine, topic, partition, prefix }, orphanKeys, marker);
 * ```
 */
import type { EventLog, OutgoingRecord } from '../../log/log.js';
import { compareUtf8, prefixedKey } from '../keys.js';
import type { StoreEngine } from '../store.js';
import { appendBatch } from './io.js';
import { type CommitMarker, markerRecord } from './marker.js';

export interface ChangelogTarget {
  readonly log: EventLog;
  readonly engine: StoreEngine;
  readonly topic: string;
  readonly partition: number;
  /** The store's engine key prefix. */
  readonly prefix: Buffer;
}

/** Appends the committed value (or a tombstone) of every key, then `marker`, as one batch; returns the new end offset. */
export async function correctOrphans(
  target: ChangelogTarget,
  keys: ReadonlySet<string>,
  marker: CommitMarker,
): Promise<number> {
  const { log, engine, topic, partition, prefix } = target;
  const sorted = [...keys].sort(compareUtf8);
  const values = await engine.getMany(sorted.map((key) => prefixedKey(prefix, key)));
  const records: OutgoingRecord[] = sorted.map((key, i) => ({ key, value: values[i] ?? null, partition }));
  records.push(markerRecord(partition, marker));
  return appendBatch(log, topic, partition, records);
}
