/**
 * The online copy following a blue/green swap: every view is materialized
 * from its application's active changelogs into a new online-store
 * namespace (named like the state namespace), which is then activated, and
 * the old one dropped. Readers keep the old namespace until the activation.
 *
 * @example
 * ```ts
 * await followInOnlineStore(platform, { withStore: (p, fn) => fn(redisStore, sources) }, 'g2', report);
 * ```
 */
import { ConfigError } from '../errors.js';
import { type MaterializedSource, Materializer, type MaterializeStats } from '../online/materializer.js';
import type { OnlineStore, OnlineWriter } from '../online/online-store.js';
import type { Platform } from '../platform.js';
import type { BlueGreenReport, ProgressSink } from './blue-green-rebuild.js';

/** An online store with namespaces of its own, written by a materializer. */
export type FollowingStore = OnlineWriter & Pick<OnlineStore, 'activate' | 'activeNamespace' | 'drop'>;

/** The online store that follows the swap, when it lives outside the processes (Redis). */
export interface FollowedOnlineStore {
  /**
   * Runs `fn` on the store (closed after) with the changelogs its views
   * read, in their applications' active namespaces, on `platform`'s log.
   */
  withStore<T>(
    platform: Platform,
    fn: (store: FollowingStore, sources: readonly MaterializedSource[]) => Promise<T>,
  ): Promise<T>;
}

/** Materializes the views into `namespace` of the store, activates it and drops the one it replaces. */
export async function followInOnlineStore(
  platform: Platform,
  online: FollowedOnlineStore,
  namespace: string,
  report: BlueGreenReport,
): Promise<void> {
  await online.withStore(platform, async (store, sources) => {
    const old = await store.activeNamespace();
    if (old === namespace)
      throw new ConfigError(`Redis namespace ${namespace} is already active; name a new namespace`);
    let progress: ProgressSink | undefined;
    const materializer = await Materializer.start({
      log: platform.log,
      store,
      namespace,
      sources,
      from: 'earliest',
      logger: platform.logger,
      onBatch: (s) => progress?.update(s.records),
    });
    progress = report.progress(`materialize ${namespace}`, await materializer.lag());
    let stats: MaterializeStats;
    try {
      stats = await materializer.runUntilCaughtUp();
    } finally {
      await materializer.close();
    }
    progress.done({ applied: stats.applied });
    await store.activate(namespace);
    if (old !== undefined) await store.drop(old);
    report.info(
      `online store (Redis): namespace ${namespace} materialized (${stats.applied} values) and active${old === undefined ? '' : `; ${old} dropped`}`,
    );
  });
}
