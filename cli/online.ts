/**
 * Opens the Redis online store for one command and always closes it. The
 * namespace commands need Redis: in-process namespaces live inside the
 * process that serves them.
 *
 * @example
 * ```ts
 * await withRedisOnlineStore(config, new ViewRegistry([]), (store) => store.activate('green'));
 * ```
 */
import type { Config } from '../runtime/config.js';
import { ConfigError } from '../runtime/errors.js';
import { createLogger } from '../runtime/observability/logger.js';
import { RedisOnlineStore } from '../runtime/online/redis/redis-online-store.js';
import type { ViewRegistry } from '../runtime/online/views.js';

export async function withRedisOnlineStore<T>(
  config: Config,
  views: ViewRegistry,
  fn: (store: RedisOnlineStore) => Promise<T>,
  why = 'online-store namespaces live in Redis',
): Promise<T> {
  if (config.redisUrl === undefined)
    throw new ConfigError(
      `${why}: set RECSTREAM_REDIS_URL (without it the online store is the processors' own stores, inside the process that runs them)`,
    );
  const store = await RedisOnlineStore.open({
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    views,
    logger: createLogger({ level: config.logLevel }),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
