/**
 * The online store `recstream serve` (and the demo's responder) reads: Redis
 * when RECSTREAM_REDIS_URL is set; otherwise the `features` application's
 * own stores (and the `co-visitation` application's when
 * RECSTREAM_SERVE_CO_VISITATION is on), which means running those
 * applications in this process (the embedded default has one writer per
 * data dir, and in-process reads are reads of a running task's state). Events posted to `/v1/events` then flow
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
import type { OffPolicyStepRunner } from '../trainer/gate-off-policy.js';
import { activeNamespaceOf, activeRunnerOptions, ensureInputTopics, selectTopologies } from './platform.js';
import { type RunningResponder, startResponder } from './responder.js';

export interface ServingStore {
  readonly online: OnlineStore;
  /** The features application when it runs here (in-process store), else undefined. */
  readonly runner?: StreamRunner;
  /** Every application run here for the in-process store, by application id. */
  readonly runners?: ReadonlyMap<string, StreamRunner>;
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
  const apps = config.serveCoVisitation > 0 ? 'features,co-visitation' : 'features';
  const started = new Map<string, StreamRunner>();
  const running: Promise<unknown>[] = [];
  const stop = async () => {
    for (const runner of started.values()) runner.stop();
    await Promise.all(running.map((run) => run.catch(() => {})));
  };
  try {
    for (const topology of await selectTopologies(platform, apps)) {
      const runner = await StreamRunner.start({
        ...(await activeRunnerOptions(platform, topology)),
        metrics: runtimeMetrics(platform.metrics),
      });
      started.set(topology.applicationId, runner);
      const run = runner.run();
      run.catch((error) => logger.error({ err: error }, `the ${topology.applicationId} application stopped`));
      running.push(run);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const online = await openOnlineStore(config, views, logger, runnersLookup(started));
  return {
    online,
    runner: started.get('features'),
    runners: started,
    close: async () => {
      await online.close();
      await stop();
    },
  };
}

/** What `recstream serve` runs: the responder over the serving store. `close` stops both. */
export interface Serving {
  readonly responder: RunningResponder;
  close(): Promise<void>;
}

/**
 * Opens the serving store and starts the responder over it; nothing stays open when the start
 * fails. `offPolicyStep`, given the store, is the gate's step `POST /admin/retrain` runs.
 */
export async function startServing(
  platform: Platform,
  offPolicyStep?: (online: OnlineStore) => OffPolicyStepRunner,
): Promise<Serving> {
  const serving = await openServingStore(platform);
  let responder: RunningResponder;
  try {
    responder = await startResponder(platform, {
      online: serving.online,
      offPolicyStep: offPolicyStep?.(serving.online),
    });
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
