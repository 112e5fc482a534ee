/**
 * The ioredis client of the online store, set up to fail fast and recover
 * quietly: commands issued while Redis is unreachable fail at once with a
 * retriable ConnectionError (no unbounded offline queue, no request that
 * hangs), the client reconnects in the background with backoff capped at
 * 5 s, and the log gets one line when the connection is lost and one when
 * it is back, not one per attempt.
 *
 * @example
 * ```ts
 * const client = await connectRedis({ url: 'redis://127.0.0.1:6379', logger });
 * try { await client.ping(); } catch (err) { throw fromRedisError(err, 'ping'); }
 * ```
 */
import { Redis } from 'ioredis';
import { ConnectionError, OnlineStoreError, RecstreamError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';

export interface RedisConnectionOptions {
  readonly url: string;
  readonly logger: Logger;
  /** A command without an answer after this long fails with a ConnectionError. Default 2000. */
  readonly commandTimeoutMs?: number;
  /** Default 2000. */
  readonly connectTimeoutMs?: number;
}

const MAX_BACKOFF_MS = 5000;

/** Connects, or throws a ConnectionError naming the server (never its password). */
export async function connectRedis(options: RedisConnectionOptions): Promise<Redis> {
  const where = describeUrl(options.url);
  const logger = options.logger.child({ redis: where });
  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), MAX_BACKOFF_MS),
  });
  let healthy = false;
  client.on('ready', () => {
    if (!healthy) logger.info('redis connection ready');
    healthy = true;
  });
  // A peer that just hangs up gives 'close' without 'error'; either one, once, is the news.
  const lost = (err?: Error) => {
    if (!healthy || closing.has(client)) return;
    healthy = false;
    logger.warn(
      { err, maxBackoffMs: MAX_BACKOFF_MS },
      'redis connection lost; reconnecting in the background, online-store calls fail until it is back',
    );
  };
  client.on('error', lost);
  client.on('close', () => lost());
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new ConnectionError(
      `cannot reach Redis at ${where} (RECSTREAM_REDIS_URL): ${(err as Error).message}`,
      err,
    );
  }
  return client;
}

const closing = new WeakSet<Redis>();

/** Closes a client from `connectRedis` without logging it as a lost connection. */
export async function closeRedis(client: Redis): Promise<void> {
  closing.add(client);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/**
 * Maps an ioredis failure to a recstream error: a reply error (the server
 * refused) is an OnlineStoreError, retriable when the refusal is transient;
 * anything else (refused connection, reset, timeout, closed stream) is a
 * retriable ConnectionError.
 */
export function fromRedisError(err: unknown, what: string): RecstreamError {
  if (err instanceof RecstreamError) return err;
  const error = err as Error | undefined;
  if (error?.name === 'ReplyError') {
    const transient = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|MOVED|ASK|OOM)\b/.test(
      error.message,
    );
    return new OnlineStoreError(`${what}: Redis refused: ${error.message}`, err, transient);
  }
  return new ConnectionError(`${what}: Redis unreachable: ${error?.message ?? String(err)}`, err);
}

/** host:port/db of a Redis URL, without credentials, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  } catch {
    return '(invalid RECSTREAM_REDIS_URL)';
  }
}
