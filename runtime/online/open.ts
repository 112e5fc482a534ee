/**
 * Opens the online store the configuration selects: Redis
 * when RECSTREAM_REDIS_URL is set, otherwise the processors' own stores in
 * this process. Responders and tools get an `OnlineStore` and never know
 * which back-end runs under them.
 *
 * @example
 * ```ts
 * const resolved = resolveViews(ONLINE_VIEWS, topologies);
 * const store = await openOnlineStore(platform.config, resolved, platform.logger, runnersLookup(runners));
 * const bundle = await store.bundle('u0', { items: candidates });
 * ```
 */
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { InProcessOnlineStore } from './in-process/in-process-store.js';
import type { TaskLookup } from './in-process/task-lookup.js';
import type { OnlineStore } from './online-store.js';
import { RedisOnlineStore } from './redis/redis-online-store.js';
import type { ResolvedViews } from './view-spec.js';

/** The namespace the in-process back-end serves the running tasks under. */
export const IN_PROCESS_NAMESPACE = 'default';

/**
 * Redis: connects (a retriable ConnectionError if it cannot). In-process:
 * serves the tasks `lookup` finds as the active namespace; without a lookup
 * nothing is attached yet and bundles report `unavailable: ['namespace']`.
 */
export async function openOnlineStore(
  config: Pick<Config, 'redisUrl' | 'redisKeyPrefix'>,
  resolved: ResolvedViews,
  logger: Logger,
  lookup?: TaskLookup,
): Promise<OnlineStore> {
  if (config.redisUrl !== undefined) {
    return RedisOnlineStore.open({
      url: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      views: resolved.views,
      logger,
    });
  }
  const store = new InProcessOnlineStore({ bindings: resolved.bindings });
  if (lookup !== undefined) {
    store.attach(IN_PROCESS_NAMESPACE, lookup);
    await store.activate(IN_PROCESS_NAMESPACE);
  }
  return store;
}
