/**
 * Dead letters: a record that cannot be decoded or processed
 * is sent to `rec.dlq`, keyed by its source topic, with its original bytes,
 * its coordinates and the error, and processing goes on.
 *
 * The record's key and bytes are kept as they were (they are what a replay
 * needs, on an access-controlled topic), but the human-readable error is
 * not raw data: on a topic keyed by user, the key is hashed wherever the
 * message (or, for logs, the stack) names it, whoever wrote the message.
 */
import { RecstreamError } from '../errors.js';
import type { LogRecord } from '../log/log.js';
import { redactUserId } from '../observability/user-hash.js';
import type { TopicCatalogue } from '../topics/topic-catalogue.js';

/** The dead-letter topic every application writes (one partition, read in order by people). */
export const DLQ_TOPIC = 'rec.dlq';

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

/** A failure as a dead letter and a log line show it: no raw user id in the message or stack. */
export interface FailureDescription {
  readonly type: string;
  readonly code: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The message of the error's cause (a decoder's own error), when it has one. */
  readonly cause: string | undefined;
}

/**
 * The failure of `record`, with its key hashed when `topics` says the
 * record's topic is keyed by user (a decoder's or a library's message may
 * quote it).
 *
 * @example
 * ```ts
 * logger.warn({ err: describeFailure(record, error, topics) }, 'record sent to the dead-letter topic');
 * ```
 */
export function describeFailure(
  record: LogRecord,
  error: unknown,
  topics: TopicCatalogue,
): FailureDescription {
  const userId = record.key !== null && topics.topic(record.topic)?.key === 'user_id' ? record.key : null;
  const redact = (text: string) => (userId === null ? text : redactUserId(text, userId));
  const stack = error instanceof Error ? error.stack : undefined;
  const cause = error instanceof Error ? error.cause : undefined;
  return {
    type: error instanceof Error ? error.name : typeof error,
    code: error instanceof RecstreamError ? error.code : 'PROCESSING_FAILED',
    message: redact(error instanceof Error ? error.message : String(error)),
    stack: stack === undefined ? undefined : redact(stack),
    cause: cause === undefined ? undefined : redact(cause instanceof Error ? cause.message : String(cause)),
  };
}

/** The dead letter of `record`, its error message hashed as `describeFailure` does. */
export function deadLetterFor(
  record: LogRecord,
  error: unknown,
  processor: string,
  topics: TopicCatalogue,
  now = Date.now(),
): DeadLetter {
  const { code, message } = describeFailure(record, error, topics);
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
