/**
 * Reading and writing one partition of a store's changelog: bounds, forward
 * reads in batches, appends that report the new end offset, and the backward
 * search for the last commit marker.
 *
 * @example
 * ```ts
 * const bounds = await partitionBounds(log, topic, partition);
 * const tail = await findLastMarker(log, topic, partition, bounds);
 * ```
 */
import { StateStoreError } from '../../errors.js';
import type { EventLog, LogRecord, OutgoingRecord } from '../../log/log.js';
import { type CommitMarker, isMarker, parseMarker } from './marker.js';

/** Records per `log.read` when reading forward. */
export const READ_BATCH = 10_000;

/** The live offsets of a changelog partition: `start` first readable, `end` next to be written. */
export interface PartitionBounds {
  readonly start: number;
  readonly end: number;
}

export async function partitionBounds(
  log: EventLog,
  topic: string,
  partition: number,
): Promise<PartitionBounds> {
  const offsets = await log.offsets(topic);
  const found = offsets.find((o) => o.partition === partition);
  if (found === undefined) {
    throw new StateStoreError(
      `changelog topic ${topic} has no partition ${partition}; it must have as many partitions as the task's input topics`,
    );
  }
  return { start: found.start, end: found.end };
}

/** Calls `onBatch` with the records of [from, to) in offset order, at most `batchSize` at a time. */
export async function readRange(
  log: EventLog,
  topic: string,
  partition: number,
  from: number,
  to: number,
  batchSize: number,
  onBatch: (records: readonly LogRecord[], nextOffset: number) => Promise<void> | void,
): Promise<void> {
  let offset = from;
  while (offset < to) {
    const records = await log.read(topic, partition, offset, Math.min(batchSize, to - offset));
    if (records.length === 0) return;
    let cut = records.length;
    while (cut > 0 && (records[cut - 1] as LogRecord).offset >= to) cut--;
    offset = (records[records.length - 1] as LogRecord).offset + 1;
    await onBatch(cut === records.length ? records : records.slice(0, cut), Math.min(offset, to));
  }
}

/** The keys of the non-marker records in [from, to). */
export async function readKeys(
  log: EventLog,
  topic: string,
  partition: number,
  from: number,
  to: number,
): Promise<Set<string>> {
  const keys = new Set<string>();
  await readRange(log, topic, partition, from, to, READ_BATCH, (records) => {
    for (const record of records) if (record.key !== null && !isMarker(record)) keys.add(record.key);
  });
  return keys;
}

/** Appends one batch to the task's partition (atomic on the log) and returns the partition's end offset after it. */
export async function appendBatch(
  log: EventLog,
  topic: string,
  partition: number,
  records: readonly OutgoingRecord[],
): Promise<number> {
  const acks = await log.append(topic, records);
  const ack = acks.find((a) => a.partition === partition);
  if (ack === undefined)
    throw new StateStoreError(`changelog append to ${topic} was not acknowledged for partition ${partition}`);
  return ack.baseOffset + ack.count;
}

export interface ChangelogTail {
  /** The last commit marker, if the partition holds one. */
  readonly marker: CommitMarker | undefined;
  /** Its offset; the partition start when there is no marker. */
  readonly markerOffset: number;
  /** Keys of the records after the last marker: orphans of an append whose commit never completed. */
  readonly orphanKeys: Set<string>;
}

/**
 * Finds the last commit marker by reading backward in growing windows: only
 * the records after it (at most one batch) need to be read, not the whole
 * partition.
 */
export async function findLastMarker(
  log: EventLog,
  topic: string,
  partition: number,
  bounds: PartitionBounds,
): Promise<ChangelogTail> {
  const orphanKeys = new Set<string>();
  let windowEnd = bounds.end;
  let size = 1024;
  while (windowEnd > bounds.start) {
    const from = Math.max(bounds.start, windowEnd - size);
    const window: LogRecord[] = [];
    await readRange(log, topic, partition, from, windowEnd, READ_BATCH, (records) => {
      for (const record of records) window.push(record);
    });
    for (let i = window.length - 1; i >= 0; i--) {
      const record = window[i] as LogRecord;
      if (isMarker(record)) return { marker: parseMarker(record), markerOffset: record.offset, orphanKeys };
      if (record.key !== null) orphanKeys.add(record.key);
    }
    windowEnd = from;
    size = Math.min(size * 4, 256 * 1024);
  }
  return { marker: undefined, markerOffset: bounds.start, orphanKeys };
}
