/**
 * Turns kafkajs errors into recstream's error classes. Callers retry on
 * `isRetriable(err)` alone, so the mapping decides retriability once, here:
 * an unreachable or timed-out broker, or an answer kafkajs could not decode,
 * is a retriable `ConnectionError`, a missing topic a `TopicError`, anything
 * else the broker said a `BrokerError` carrying the broker's own retriable
 * verdict.
 *
 * @example
 * ```ts
 * try { await producer.send(request); }
 * catch (err) { throw kafkaError(err, `append to ${topic}`); }
 * ```
 */
import {
  BrokerError,
  ConnectionError,
  OffsetOutOfRangeError,
  RecstreamError,
  TopicError,
} from '../../errors.js';

/** kafkajs error names that mean the broker could not be reached or did not answer in time. */
const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

/** Node socket errors that reach us unwrapped from kafkajs' connection layer. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface KafkaJSLike {
  name?: string;
  message?: string;
  type?: string;
  code?: unknown;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/** kafkajs wraps the error that made it give up (retries exceeded, non-retriable wrapper); the root says what happened. */
function rootCause(err: unknown): unknown {
  let current = err;
  for (let depth = 0; depth < 8; depth++) {
    const e = current as KafkaJSLike | undefined;
    if (!e || typeof e !== 'object') return current;
    const next =
      e.cause ??
      e.originalError ??
      (Array.isArray(e.errors) && e.errors.length > 0 ? e.errors[0] : undefined);
    if (next === undefined || next === current) return current;
    current = next;
  }
  return current;
}

/** The broker's protocol error name (`UNKNOWN_MEMBER_ID`, …) anywhere in the cause chain, if any. */
export function brokerErrorType(err: unknown): string | undefined {
  let current = err;
  for (let depth = 0; depth < 8 && current && typeof current === 'object'; depth++) {
    const e = current as KafkaJSLike;
    if (typeof e.type === 'string') return e.type;
    current = e.cause ?? e.originalError ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
  }
  return undefined;
}

/** True when kafkajs reports that the broker lacks the API a request needs (a mock or an old broker). */
export function isUnsupportedApi(err: unknown): boolean {
  const root = rootCause(err) as KafkaJSLike | undefined;
  return (
    root?.name === 'KafkaJSServerDoesNotSupportApiKey' ||
    (err as KafkaJSLike | undefined)?.name === 'KafkaJSServerDoesNotSupportApiKey'
  );
}

/** A stack frame in kafkajs' `Decoder`, which every read of a broker's response goes through. */
const DECODER_FRAME = /[\\/]kafkajs[\\/]src[\\/]protocol[\\/]decoder\.js:/;

/**
 * Whether kafkajs' protocol decoder failed on a response: a plain error
 * (reading past the response's end, an impossible array length, a field it
 * expected and found null) thrown inside its `Decoder`, not one of kafkajs'
 * own errors. The request was fine; its answer could not be read, as if the
 * connection had broken mid-answer, and another request may read it
 * (go-mokapi now and then answers a fetch with a record batch torn by a
 * concurrent read of the same records).
 */
function isUndecodableResponse(root: unknown): boolean {
  return root instanceof Error && !root.name.startsWith('KafkaJS') && DECODER_FRAME.test(root.stack ?? '');
}

/**
 * Maps any error thrown by kafkajs to a `RecstreamError`; `what` says which
 * operation failed and leads the message. Errors that already are
 * `RecstreamError`s pass through unchanged.
 */
export function kafkaError(err: unknown, what: string): RecstreamError {
  if (err instanceof RecstreamError) return err;
  const root = rootCause(err) as KafkaJSLike | undefined;
  const type = brokerErrorType(err);
  const message = `${what}: ${root?.message ?? (err as Error | undefined)?.message ?? String(err)}`;
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return new TopicError(message, 'TOPIC_NOT_FOUND');
  if (type === 'OFFSET_OUT_OF_RANGE' || root?.name === 'KafkaJSOffsetOutOfRange')
    return new OffsetOutOfRangeError(message);
  if (type !== undefined) return new BrokerError(message, type, root?.retriable === true, err);
  const socketCode = typeof root?.code === 'string' ? root.code : undefined;
  if (
    (root?.name !== undefined && CONNECTION_ERRORS.has(root.name)) ||
    (socketCode !== undefined && SOCKET_CODES.has(socketCode)) ||
    /broker pool|no brokers/i.test(root?.message ?? '')
  ) {
    return new ConnectionError(message, err);
  }
  if (isUndecodableResponse(root))
    return new ConnectionError(`${what}: a broker response did not decode: ${root?.message}`, err);
  const name = root?.name ?? 'Error';
  return new BrokerError(message, name, root?.retriable === true, err);
}
