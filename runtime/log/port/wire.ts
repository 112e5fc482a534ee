/**
 * The messages between a {@link PortLog} (the `EventLog` a worker thread
 * uses) and `serveLog` (the thread that owns the log), and how values cross:
 * structured clone turns a Buffer into a plain Uint8Array and an error into
 * a bare Error, so buffers are made Buffers again and errors travel as
 * their class name, code, message and `retriable` flag and come back as
 * the same classes, which retry logic and callers test for.
 *
 * @example
 * ```ts
 * port.postMessage({ id: 1, kind: 'log', method: 'offsets', args: ['rec.items'] } satisfies LogRequest);
 * ```
 */
import {
  BrokerError,
  ConnectionError,
  CorruptDataError,
  LogUsageError,
  OffsetOutOfRangeError,
  RecstreamError,
  StorageError,
  TopicError,
} from '../../errors.js';
import type { EncodedBatch } from '../embedded/encode.js';
import type {
  AppendAck,
  ConsumerOptions,
  LogRecord,
  OutgoingRecord,
  PollOptions,
  TopicPartition,
  TopicPartitionOffset,
} from '../log.js';

/** The `EventLog` methods that are one request and one answer. */
export type LogMethod =
  | 'ensureTopic'
  | 'topics'
  | 'deleteTopics'
  | 'describeTopic'
  | 'append'
  | 'offsets'
  | 'offsetForTimestamp'
  | 'read'
  | 'commitOffsets'
  | 'committedOffsets';

/** A consumer's seek made on the worker's side, applied before its next request. */
export type Seek = TopicPartitionOffset;

export type LogRequest =
  | { readonly id: number; readonly kind: 'log'; readonly method: LogMethod; readonly args: unknown[] }
  | { readonly id: number; readonly kind: 'open'; readonly options: ConsumerOptions }
  | {
      readonly id: number;
      readonly kind: 'poll';
      readonly consumer: number;
      readonly seeks: readonly Seek[];
      readonly options: PollOptions | undefined;
    }
  | {
      readonly id: number;
      readonly kind: 'commit';
      readonly consumer: number;
      readonly seeks: readonly Seek[];
      readonly offsets: readonly TopicPartitionOffset[] | undefined;
    }
  | { readonly id: number; readonly kind: 'close'; readonly consumer: number }
  | {
      readonly id: number;
      readonly kind: 'appendEncoded';
      readonly topic: string;
      readonly partitions: number;
      readonly batches: readonly EncodedBatch[];
    };

/** A log that takes batches another thread encoded: the embedded log's writer. */
export interface EncodedAppendLog {
  appendEncoded(topic: string, partitions: number, batches: readonly EncodedBatch[]): Promise<AppendAck[]>;
}

/** An error as it crosses. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly retriable?: boolean;
  readonly brokerCode?: string;
}

export type LogResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** What opening a consumer answers. */
export interface OpenedConsumer {
  readonly consumer: number;
  readonly assignment: readonly TopicPartition[];
  readonly positions: readonly TopicPartitionOffset[];
}

/** What a poll answers: the records, and every assigned partition's position after them. */
export interface Polled {
  readonly records: readonly LogRecord[];
  readonly positions: readonly TopicPartitionOffset[];
}

export function toWireError(error: unknown): WireError {
  if (error instanceof BrokerError)
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      retriable: error.retriable,
      brokerCode: error.brokerCode,
    };
  if (error instanceof RecstreamError)
    return { name: error.name, message: error.message, code: error.code, retriable: error.retriable };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** The error again, as the class it was (the log's own classes; any other recstream error keeps its code and flag). */
export function fromWireError(wire: WireError): Error {
  const { message, code, retriable = false } = wire;
  switch (wire.name) {
    case 'TopicError':
      return new TopicError(message, code);
    case 'OffsetOutOfRangeError':
      return new OffsetOutOfRangeError(message);
    case 'LogUsageError':
      return new LogUsageError(message);
    case 'CorruptDataError':
      return new CorruptDataError(message);
    case 'StorageError':
      return new StorageError(message, undefined, retriable);
    case 'ConnectionError':
      return new ConnectionError(message);
    case 'BrokerError':
      return new BrokerError(message, wire.brokerCode ?? 'UNKNOWN', retriable);
    default:
      if (code !== undefined)
        return Object.assign(new RecstreamError(message, { code, retriable }), { name: wire.name });
      return Object.assign(new Error(message), { name: wire.name });
  }
}

/** A Buffer over the same bytes as what structured clone delivered. */
export function asBuffer(bytes: Uint8Array | null): Buffer | null {
  if (bytes === null || Buffer.isBuffer(bytes)) return bytes as Buffer | null;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function reviveRecord(record: LogRecord): LogRecord {
  return { ...record, value: asBuffer(record.value) };
}

export function reviveOutgoing(record: OutgoingRecord): OutgoingRecord {
  return { ...record, value: asBuffer(record.value) };
}

/** An encoded batch whose bytes structured clone delivered as a Uint8Array. */
export function reviveBatch(batch: EncodedBatch): EncodedBatch {
  return { ...batch, buf: asBuffer(batch.buf) as Buffer };
}
