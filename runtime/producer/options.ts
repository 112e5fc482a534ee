/**
 * Options of the producer client, their defaults (Kafka's producer defaults
 * where one exists) and validation.
 */
import { ConfigError } from '../errors.js';
import type { EventLog, OutgoingRecord } from '../log/log.js';
import type { Logger } from '../observability/logger.js';
import type { Registry } from '../observability/metrics.js';
import type { Serde } from '../serde/serde.js';

/** What was appended for one batch, reported in offset order per partition. */
export interface DeliveryReport {
  readonly topic: string;
  readonly partition: number;
  /** Offset of `records[0]`; record i is at `baseOffset + i`. */
  readonly baseOffset: number;
  /** The records of the batch, as the producer appended them. */
  readonly records: readonly OutgoingRecord[];
  /** The values as given to `send` / `deliver` (the same objects), record i's at i; null for tombstones. */
  readonly values: readonly unknown[];
}

export interface ProducerOptions {
  /** The log to append to (`platform.log`); the producer does not close it. */
  readonly log: EventLog;
  /** Encodes values as Avro in the Confluent wire format (`platform.serde`). */
  readonly serde: Serde;
  readonly logger?: Logger;
  /** Registers `recstream_producer_*` metrics here when given. */
  readonly metrics?: Registry;
  /** How long a partition's first buffered record waits for more before its batch is appended (Kafka `linger.ms`). Default 5. */
  readonly lingerMs?: number;
  /** Most records in one append to one partition. Default 1000. */
  readonly maxBatchRecords?: number;
  /** Most value + key bytes in one append to one partition (Kafka `batch.size`, by bytes). Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** Records held (buffered or in flight) before `send` waits (Kafka `buffer.memory`, by count). Default 20 000. */
  readonly maxBufferedRecords?: number;
  /** Bytes held before `send` waits. Default 64 MiB. */
  readonly maxBufferedBytes?: number;
  /** First retry delay of a failed append; doubles per attempt up to `retryBackoffMaxMs`. Default 100. */
  readonly retryBackoffMs?: number;
  /** Longest retry delay. Default 5000. */
  readonly retryBackoffMaxMs?: number;
  /** Give up on a batch this long after its first attempt (Kafka `delivery.timeout.ms`). Default 120 000. */
  readonly deliveryTimeoutMs?: number;
  /** Create a missing topic with this many partitions (compacted for rec.items / rec.users). Unset: a missing topic is a TopicError. */
  readonly createTopics?: { readonly partitions: number };
  /** Called once per acknowledged batch, in offset order per partition, before the senders' promises resolve. */
  readonly onDelivery?: (report: DeliveryReport) => void;
}

export interface ResolvedProducerOptions {
  readonly lingerMs: number;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly maxBufferedRecords: number;
  readonly maxBufferedBytes: number;
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly deliveryTimeoutMs: number;
}

function atLeast(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min)
    throw new ConfigError(`producer option ${name} must be a number >= ${min}, got ${value}`);
  return value;
}

export function resolveProducerOptions(options: ProducerOptions): ResolvedProducerOptions {
  const resolved = {
    lingerMs: atLeast('lingerMs', options.lingerMs, 5, 0),
    maxBatchRecords: atLeast('maxBatchRecords', options.maxBatchRecords, 1000, 1),
    maxBatchBytes: atLeast('maxBatchBytes', options.maxBatchBytes, 1 << 20, 1),
    maxBufferedRecords: atLeast('maxBufferedRecords', options.maxBufferedRecords, 20_000, 1),
    maxBufferedBytes: atLeast('maxBufferedBytes', options.maxBufferedBytes, 64 << 20, 1),
    retryBackoffMs: atLeast('retryBackoffMs', options.retryBackoffMs, 100, 1),
    retryBackoffMaxMs: atLeast('retryBackoffMaxMs', options.retryBackoffMaxMs, 5000, 1),
    deliveryTimeoutMs: atLeast('deliveryTimeoutMs', options.deliveryTimeoutMs, 120_000, 1),
  };
  if (resolved.maxBatchRecords > resolved.maxBufferedRecords) {
    throw new ConfigError(
      `producer option maxBatchRecords (${resolved.maxBatchRecords}) must not exceed maxBufferedRecords (${resolved.maxBufferedRecords})`,
    );
  }
  if (options.createTopics !== undefined) {
    const p = options.createTopics.partitions;
    if (!Number.isInteger(p) || p < 1)
      throw new ConfigError(`producer option createTopics.partitions must be a whole number >= 1, got ${p}`);
  }
  return resolved;
}
