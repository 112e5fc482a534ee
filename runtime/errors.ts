/**
 * The errors the runtime raises on purpose, in one place (the kafkajs way):
 * each class has a stable `code` and a `retriable` flag. Retry logic reads
 * only the flag, never the class or the message.
 *
 * A product layer's own RecstreamErrors live beside it (importers/,
 * features/, registry/, inference/, trainer/ and responders/ each have an
 * `errors.ts`; `test/layers.test.ts` keeps this file to what `runtime/`
 * uses).
 * Three errors never leave the module that raises them, and so are not
 * RecstreamErrors: each becomes an answer there, not a retry decision.
 * `BodyError` (responders/ingest/json-body.ts) becomes an HTTP answer with its
 * status and code; `BadFieldError` (importers/values.ts) becomes an importer's
 * dead letter naming the field; the schema registry's `ApiError`
 * (runtime/registry/server.ts) becomes a Confluent error body.
 *
 * @example
 * ```ts
 * try { await log.append('rec.items', records); }
 * catch (err) { if (isRetriable(err)) scheduleRetry(); else throw err; }
 * ```
 */
export class RecstreamError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(message: string, options: { code: string; retriable?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retriable = options.retriable ?? false;
  }
}

/** A configuration value is missing or invalid; the message names the variable. */
export class ConfigError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'CONFIG_INVALID' });
  }
}

/** A topic was used before it was created, or created twice with different settings. */
export class TopicError extends RecstreamError {
  constructor(message: string, code = 'TOPIC_INVALID') {
    super(message, { code });
  }
}

/** An offset outside [start, end] of a partition was asked for. */
export class OffsetOutOfRangeError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'OFFSET_OUT_OF_RANGE' });
  }
}

/**
 * The log API was used in a way it does not allow: a closed log or consumer,
 * `commit` on a consumer without a group, a seek on a partition the consumer
 * is not assigned.
 */
export class LogUsageError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'LOG_USAGE' });
  }
}

/** Bytes on disk or on the wire fail their checksum or framing. */
export class CorruptDataError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CORRUPT_DATA', cause });
  }
}

/**
 * The data dir cannot be written (full disk, read-only mount, permissions).
 * Not retriable by default: retrying a full disk in a tight loop is the crash
 * loop we promise not to have. The operator must act; the message says how.
 */
export class StorageError extends RecstreamError {
  constructor(message: string, cause?: unknown, retriable = false) {
    super(message, { code: 'STORAGE_UNAVAILABLE', cause, retriable });
  }
}

/** A broker, registry or Redis server could not be reached or timed out. */
export class ConnectionError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'CONNECTION_FAILED', cause, retriable: true });
  }
}

/**
 * A Kafka broker answered a request with an error that is neither a missing
 * topic nor an offset out of range. `brokerCode` is the broker's error name
 * (e.g. `NOT_ENOUGH_REPLICAS`, `MESSAGE_TOO_LARGE`); `retriable` is the
 * broker's own verdict, so retry loops need no list of codes.
 */
export class BrokerError extends RecstreamError {
  readonly brokerCode: string;

  constructor(message: string, brokerCode: string, retriable: boolean, cause?: unknown) {
    super(message, { code: 'BROKER_ERROR', cause, retriable });
    this.brokerCode = brokerCode;
  }
}

/** A record's bytes could not be decoded (bad magic byte, unknown schema id, truncated Avro). */
export class DeserializationError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'DESERIALIZATION_FAILED', cause });
  }
}

/** A value does not match its Avro schema; `fields` names each offending field path. */
export class SchemaValidationError extends RecstreamError {
  readonly fields: readonly { path: string; reason: string }[];

  constructor(message: string, fields: readonly { path: string; reason: string }[]) {
    super(message, { code: 'SCHEMA_VALIDATION_FAILED' });
    this.fields = fields;
  }
}

/**
 * A schema id, subject or subject version is not in the registry. `missing`
 * says which, so the registry server can answer Confluent's 40403, 40401 or
 * 40402.
 */
export class SchemaNotFoundError extends RecstreamError {
  readonly missing: 'schema' | 'subject' | 'version';

  constructor(message: string, missing: 'schema' | 'subject' | 'version' = 'schema') {
    super(message, { code: 'SCHEMA_NOT_FOUND' });
    this.missing = missing;
  }
}

/** A schema offered for registration is not valid Avro (or not a kind the registry accepts). */
export class InvalidSchemaError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'SCHEMA_INVALID', cause });
  }
}

/** Registering a schema would break compatibility; the message names the field. */
export class IncompatibleSchemaError extends RecstreamError {
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message, { code: 'SCHEMA_INCOMPATIBLE' });
    this.field = field;
  }
}

/** A state store was used after close, or its on-disk data is unusable. */
export class StateStoreError extends RecstreamError {
  constructor(message: string, cause?: unknown, retriable = false) {
    super(message, { code: 'STATE_STORE_FAILED', cause, retriable });
  }
}

/** A processor threw while handling a record; the record goes to the DLQ. */
export class ProcessingError extends RecstreamError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'PROCESSING_FAILED', cause });
  }
}

/** A topology declaration is inconsistent (unknown processor, store or topic). */
export class TopologyError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'TOPOLOGY_INVALID' });
  }
}

/**
 * The online store refused an operation: an unknown feature view, a bad
 * namespace name, dropping the active namespace, a value its view's codec
 * cannot decode, or a Redis reply error. `retriable` is true only for the
 * server's transient refusals (loading, busy script, failover).
 */
export class OnlineStoreError extends RecstreamError {
  constructor(message: string, cause?: unknown, retriable = false) {
    super(message, { code: 'ONLINE_STORE_FAILED', cause, retriable });
  }
}

/**
 * The online store cannot answer for some keys now: no namespace is active
 * yet, or (in-process) the task holding them stayed closed longer than the
 * read may wait. Retriable; `bundle` reports it per partition instead.
 */
export class OnlineStoreUnavailableError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'ONLINE_STORE_UNAVAILABLE', retriable: true });
  }
}

/** A producer was used after `close()`, or given a record it can never buffer (the message says which). */
export class ProducerError extends RecstreamError {
  constructor(message: string, code = 'PRODUCER_USAGE') {
    super(message, { code });
  }
}

/** A producer's bounded buffer is full and the caller asked not to wait; retry after the buffer drains. */
export class BufferFullError extends RecstreamError {
  constructor(message: string) {
    super(message, { code: 'BUFFER_FULL', retriable: true });
  }
}

/**
 * A producer kept failing to append a batch for longer than its delivery
 * timeout; `cause` is the last error. The batch may or may not be in the log
 * (the last attempt's outcome is unknown), so a resend can duplicate it:
 * readers drop duplicates by event id.
 */
export class DeliveryTimeoutError extends RecstreamError {
  constructor(message: string, cause: unknown) {
    super(message, { code: 'DELIVERY_TIMEOUT', cause, retriable: true });
  }
}

/** True when retrying the same call may succeed. Reads only the `retriable` flag. */
export function isRetriable(err: unknown): boolean {
  return err instanceof RecstreamError && err.retriable;
}

/**
 * Translates a Node.js file-system error into a StorageError whose message
 * tells the operator what is wrong with the data dir.
 */
export function storageErrorFrom(err: unknown, what: string): RecstreamError {
  if (err instanceof RecstreamError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOSPC':
      return new StorageError(
        `${what}: no space left on device; free space in the data dir or point RECSTREAM_DATA_DIR elsewhere`,
        err,
      );
    case 'EROFS':
      return new StorageError(
        `${what}: the data dir is on a read-only file system; set RECSTREAM_DATA_DIR to a writable directory`,
        err,
      );
    case 'EACCES':
    case 'EPERM':
      return new StorageError(
        `${what}: permission denied; make the data dir writable by this user or set RECSTREAM_DATA_DIR`,
        err,
      );
    case 'EDQUOT':
      return new StorageError(`${what}: disk quota exceeded`, err);
    case 'EMFILE':
    case 'ENFILE':
      return new StorageError(
        `${what}: too many open files; raise the file descriptor limit (ulimit -n)`,
        err,
        true,
      );
    default:
      return new StorageError(`${what}: ${(err as Error | undefined)?.message ?? String(err)}`, err);
  }
}

/**
 * True when an error is about the environment (disk, state engine, network,
 * broker), not about the record being processed. Such an error is retried or
 * stops the process; it never sends the record to the dead-letter topic.
 */
export function isInfrastructureError(err: unknown): boolean {
  return (
    (err instanceof RecstreamError && err.retriable) ||
    err instanceof StorageError ||
    err instanceof StateStoreError ||
    err instanceof ConnectionError ||
    err instanceof BrokerError
  );
}
