/**
 * Dead letters (DESIGN.md §6): a record that cannot be decoded or processed
 * is sent to `rec.dlq`, keyed by its source topic, with its original bytes,
 * its coordinates and the error, and processing goes on.
 */
import { RecstreamError } from '../errors.js';
import type { LogRecord } from '../log/log.js';

// The runner imports the topic's name from here, beside the dead letter it describes.
export { DLQ_TOPIC } from '../topics/catalogue.js';

/** The `DeadLetter` value (schemas/rec.dlq-value). */
export interface DeadLetter {
  readonly source_topic: string;
  readonly source_partition: number;
  readonly source_offset: number;
  readonly source_timestamp: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly error_code: string;
  readonly error_message: string;
  readonly processor: string;
  readonly failed_ts: number;
  readonly attempt: number;
}

/** Encodes a dead letter for `rec.dlq`; normally the registry-backed Avro serde. */
export interface DeadLetterSerializer {
  serialize(letter: DeadLetter, topic: string): Buffer | Promise<Buffer>;
}

export function deadLetterFor(
  record: LogRecord,
  error: unknown,
  processor: string,
  now = Date.now(),
): DeadLetter {
  const code = error instanceof RecstreamError ? error.code : 'PROCESSING_FAILED';
  const message = error instanceof Error ? error.message : String(error);
  return {
    source_topic: record.topic,
    source_partition: record.partition,
    source_offset: record.offset,
    source_timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers ?? {},
    error_code: code,
    error_message: message.length > 4000 ? `${message.slice(0, 4000)}…` : message,
    processor,
    failed_ts: now,
    attempt: 1,
  };
}
