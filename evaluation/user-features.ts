/**
 * Users' features as a responder reads them: the `user` view of the online
 * store (in-process over the features stores, or Redis) with the events
 * still waiting for the watermark folded in (`servingFeatures`), and the
 * newest profile from `rec.users`.
 *
 * @example
 * ```ts
 * await withUserFeatures(platform, async (read) => {
 *   const [features] = await read(['u0'], Date.now());
 * });
 * ```
 */

import { activeNamespaceOf, activeRunnerOptions, selectTopologies } from '../app/platform.js';
import type { CatalogAttributes, ProfileVersion } from '../features/views/attributes.js';
import { servingFeatures } from '../features/views/serving.js';
import type { UserView } from '../features/views/user-view.js';
import { readCatalog } from '../registry/catalog.js';
import { readTopic } from '../registry/topic-reader.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import { openOnlineStore } from '../runtime/online/open.js';
import type { Platform } from '../runtime/platform.js';
import type { UserFeatures } from '../schemas/generated/types.js';
import { onlineViews } from '../topologies/online-views.js';
import { type ServeTime, serveTimeOf } from './serve-time.js';

/** The features of `userIds` as of `now`: one time for all of them, or each user's own. */
export type ReadUserFeatures = (userIds: readonly string[], now: ServeTime) => Promise<UserFeatures[]>;

async function profiles(platform: Platform): Promise<Map<string, ProfileVersion>> {
  const decoder = await platform.serde.decoder('rec.users-value');
  const out = new Map<string, ProfileVersion & { updated_ts: number }>();
  for await (const record of readTopic(platform.log, 'rec.users')) {
    if (record.key === null || record.value === null) continue;
    const user = await decoder.decode(record.value);
    if ((out.get(record.key)?.updated_ts ?? Number.NEGATIVE_INFINITY) <= user.updated_ts)
      out.set(record.key, user);
  }
  return out;
}

export async function withUserFeatures<T>(
  platform: Platform,
  fn: (read: ReadUserFeatures) => Promise<T>,
): Promise<T> {
  const { config } = platform;
  const resolved = await onlineViews(platform.serde, { namespaceOf: activeNamespaceOf(config.dataDir) });
  const runners = new Map<string, StreamRunner>();
  if (config.redisUrl === undefined) {
    const [features] = await selectTopologies(platform, 'features');
    runners.set('features', await StreamRunner.start(await activeRunnerOptions(platform, features!)));
  }
  const store = await openOnlineStore(config, resolved, platform.logger, runnersLookup(runners));
  const catalog = await readCatalog(platform.log, platform.serde);
  const byUser = await profiles(platform);
  const attributes = (itemId: string): CatalogAttributes | undefined => catalog.get(itemId);
  try {
    return await fn(async (userIds, now) => {
      const views = await store.getMany<UserView>('user', userIds);
      return userIds.map((id, i) =>
        servingFeatures(views[i], serveTimeOf(now, id), byUser.get(id), attributes),
      );
    });
  } finally {
    await store.close();
    for (const runner of runners.values()) await runner.close();
  }
}
