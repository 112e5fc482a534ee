/**
 * The online store `recstream serve` (and the demo's responder) reads: Redis
 * when RECSTREAM_REDIS_URL is set; otherwise the `features` application's
 * own stores, which means running that application in this process (the
 * embedded default has one writer per data dir, and in-process reads are
 * reads of a running task's state). Events posted to `/v1/events` then flow
 * through `features` in the same process and reach the user's view within
 * a commit interval.
 *
 * @example
 * ```ts
 * const serving = await openServingStore(platform);
 * const responder = await startResponder(platform, { online: serving.online });
 * await responder.close();
 * await serving.close();
 * ```
 */

import { StreamRunner } from '../runtime/engine/runner.js';
import { runtimeMetrics } from '../runtime/observability/metrics.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import { openOnlineStore } from '../runtime/online/open.js';
import type { Platform } from '../runtime/platform.js';
import { onlineViews } from '../topologies/online-views.js';
import { activeNamespaceOf, activeRunnerOptions, ensureInputTopics, selectTopologies } from './platform.js';
import { type RunningResponder, startResponder } from './responder.js';

export interface ServingStore {
  readonly online: OnlineStore;
  /** The features application when it runs here (in-process store), else undefined. */
  readonly runner?: StreamRunner;
  close(): Promise<void>;
}

/**
 * `runners`: the applications this process already runs (`recstream up`),
 * whose stores the in-process back-end reads instead of starting `features`.
 */
export async function openServingStore(
  platform: Platform,
  runners?: ReadonlyMap<string, StreamRunner>,
): Promise<ServingStore> {
  const { config, serde, logger } = platform;
  const views = await onlineViews(serde, { namespaceOf: activeNamespaceOf(config.dataDir) });
  if (config.redisUrl !== undefined) {
    const online = await openOnlineStore(config, views, logger);
    return { online, close: () => online.close() };
  }
  if (runners !== undefined) {
    const online = await openOnlineStore(config, views, logger, runnersLookup(runners));
    return { online, close: () => online.close() };
  }
  await ensureInputTopics(platform);
  const [features] = await selectTopologies(platform, 'features');
  const runner = await StreamRunner.start({
    ...(await activeRunnerOptions(platform, features!)),
    metrics: runtimeMetrics(platform.metrics),
  });
  const running = runner.run();
  running.catch((error) => logger.error({ err: error }, 'the features application stopped'));
  const online = await openOnlineStore(config, views, logger, runnersLookup(new Map([['features', runner]])));
  return {
    online,
    runner,
    close: async () => {
      await online.close();
      runner.stop();
      await running.catch(() => {});
    },
  };
}

/** What `recstream serve` runs: the responder over the serving store. `close` stops both. */
export interface Serving {
  readonly responder: RunningResponder;
  close(): Promise<void>;
}

/** Opens the serving store and starts the responder over it; nothing stays open when the start fails. */
export async function startServing(platform: Platform): Promise<Serving> {
  const serving = await openServingStore(platform);
  let responder: RunningResponder;
  try {
    responder = await startResponder(platform, { online: serving.online });
  } catch (error) {
    await serving.close();
    throw error;
  }
  return {
    responder,
    close: async () => {
      await responder.close();
      await serving.close();
    },
  };
}
