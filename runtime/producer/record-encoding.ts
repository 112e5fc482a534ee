/**
 * How the producer turns a sent record into the record it appends: Avro
 * value, key, partition, timestamp and trace headers, checked before
 * anything is buffered, so a bad record fails its send and nothing else.
 *
 * @example
 * ```ts
 * const encoded = encodeRecords('rec.items', topic, [{ value: item }], undefined);
 * ```
 */
import { ProducerError, SchemaValidationError } from '../errors.js';
import type { OutgoingRecord, RecordHeaders } from '../log/log.js';
import { partitionForKey } from '../log/partitioner.js';
import { TRACEPARENT, withTraceHeaders } from '../observability/tracing.js';
import type { Encoder } from '../serde/serde.js';
import type { CatalogueTopic } from '../topics/topic-catalogue.js';
import type { PartitionQueue } from './partition-queue.js';
import type { ProducerRecord } from './producer.js';
import { eventTime, naturalKey } from './topics.js';

/** A record ready for its partition queue. */
export interface EncodedRecord {
  readonly record: OutgoingRecord;
  readonly source: unknown;
  readonly bytes: number;
}

/** A topic as the producer holds it once opened. */
export interface ProducerTopic {
  readonly partitions: number;
  readonly queues: PartitionQueue[];
  readonly encoder: Encoder<unknown>;
  /** Its entry in the serde's topic catalogue: the key and event-time fields; undefined outside it. */
  readonly catalogued: CatalogueTopic | undefined;
  roundRobin: number;
}

/**
 * Checks and encodes `records` for `topic`: the value by the topic's Avro
 * encoder, the key (the value's natural key unless given), the partition
 * (explicit, by key, or round robin for keyless records), the timestamp
 * (the event time unless given) and the trace headers `traced` adds.
 * Fails on the first bad record, naming it.
 */
export function encodeRecords(
  topic: string,
  state: ProducerTopic,
  records: readonly ProducerRecord<unknown>[],
  traced: RecordHeaders | undefined,
): EncodedRecord[] {
  const now = Date.now();
  return records.map((r, i) => {
    let value: Buffer | null = null;
    if (r.value !== null) {
      try {
        value = state.encoder.encode(r.value);
      } catch (err) {
        if (err instanceof SchemaValidationError && records.length > 1) {
          throw new SchemaValidationError(`record ${i} of ${records.length}: ${err.message}`, err.fields);
        }
        throw err;
      }
    }
    const key = r.key !== undefined ? r.key : (naturalKey(state.catalogued, r.value) ?? null);
    if (value === null && key === null) {
      throw new ProducerError(
        `record ${i} of ${records.length}: a tombstone (null value) needs a key; it deletes that key's value`,
      );
    }
    const partition = partitionFor(topic, state, key, r.partition);
    const record: OutgoingRecord = {
      key,
      value,
      timestamp: r.timestamp ?? eventTime(state.catalogued, r.value) ?? now,
      partition,
      ...(r.headers === undefined && traced === undefined
        ? {}
        : {
            headers:
              traced === undefined || r.headers?.[TRACEPARENT] !== undefined
                ? r.headers
                : withTraceHeaders(r.headers, traced),
          }),
    };
    return { record, source: r.value, bytes: (value?.length ?? 0) + (key?.length ?? 0) };
  });
}

function partitionFor(topic: string, state: ProducerTopic, key: string | null, explicit?: number): number {
  if (explicit !== undefined) {
    if (!Number.isInteger(explicit) || explicit < 0 || explicit >= state.partitions) {
      throw new ProducerError(
        `partition ${explicit} does not exist: ${topic} has partitions 0..${state.partitions - 1}`,
      );
    }
    return explicit;
  }
  if (key !== null) return partitionForKey(key, state.partitions);
  state.roundRobin = (state.roundRobin + 1) % state.partitions;
  return state.roundRobin;
}
