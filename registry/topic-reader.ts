/**
 * Reading topics whole or by range, without a consumer group: the trainer
 * and the indexer fold small registry topics (`rec.model-versions`,
 * `rec.training-snapshots`) and tables (`rec.items`, `rec.users`) at start,
 * and read exact lineage ranges of `rec.training-examples`.
 *
 * @example
 * ```ts
 * for await (const record of readRange(log, 'rec.training-examples', 0, 100, 200)) use(record);
 * const users = await readTable(log, 'rec.users', (bytes) => decoder.decode(bytes));
 * ```
 */
import type { EventLog, LogRecord } from '../runtime/log/log.js';

const BATCH = 2000;

/** The records of `[start, end)` of one partition, in offset order. */
export async function* readRange(
  log: EventLog,
  topic: string,
  partition: number,
  start: number,
  end: number,
): AsyncGenerator<LogRecord> {
  for (let offset = start; offset < end; ) {
    const batch = await log.read(topic, partition, offset, Math.min(BATCH, end - offset));
    if (batch.length === 0) return;
    for (const record of batch) {
      if (record.offset >= end) return;
      yield record;
    }
    offset = batch[batch.length - 1]!.offset + 1;
  }
}

/** Every record of a topic, partition by partition; nothing when the topic does not exist. */
export async function* readTopic(log: EventLog, topic: string): AsyncGenerator<LogRecord> {
  if (!(await log.describeTopic(topic))) return;
  for (const p of await log.offsets(topic)) yield* readRange(log, topic, p.partition, p.start, p.end);
}

/**
 * A compacted topic as a table: the newest value per key (null for a
 * tombstone, so a deletion stays visible to callers that must honour it).
 */
export async function readTable<T>(
  log: EventLog,
  topic: string,
  decode: (bytes: Buffer) => Promise<T>,
): Promise<Map<string, T | null>> {
  const table = new Map<string, T | null>();
  for await (const record of readTopic(log, topic)) {
    if (record.key === null) continue;
    table.set(record.key, record.value === null ? null : await decode(record.value));
  }
  return table;
}
