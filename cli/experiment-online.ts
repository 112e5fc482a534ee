/**
 * Where `recstream experiments show` reads an experiment's online figures,
 * like `recstream online get`: from Redis when RECSTREAM_REDIS_URL is set
 * (what `materialize` keeps), otherwise from the `experiment-metrics`
 * application's stores on disk, opened with a runner that restores them and
 * is closed again. The stores on disk are held by a running `recstream
 * process` or `up`; then the figures are unavailable here and the answer
 * says where to read them instead (and says so too where the application
 * never ran).
 *
 * @example
 * ```ts
 * const { report, unavailable } = await readOnlineFigures(config, experiment);
 * if (report === undefined) console.log(unavailable ?? 'no figures yet');
 * ```
 */
import { activeNamespaceOf, activeRunnerOptions, selectTopologies, withPlatform } from '../app/platform.js';
import type { ExperimentReport } from '../processors/experiment-metrics/report.js';
import { readExperimentFigures } from '../registry/experiments/experiment-figures.js';
import type { Config } from '../runtime/config.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { OnlineStoreUnavailableError, StorageError, TopologyError } from '../runtime/errors.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import { openOnlineStore } from '../runtime/online/open.js';
import type { Experiment } from '../schemas/generated/types.js';
import { onlineViews } from '../topologies/online-views.js';

const APPLICATION = 'experiment-metrics';

export interface OnlineFigures {
  /** The report; undefined when nothing was counted for the experiment yet, or the store could not be read. */
  readonly report: ExperimentReport | undefined;
  /** Why the store could not be read, and where to read the figures instead. */
  readonly unavailable?: string;
}

function notRunYet(why: string): OnlineFigures {
  return { report: undefined, unavailable: `no figures: ${APPLICATION} has not run here yet (${why})` };
}

/** The experiment's report from the online store, as responders and `online get` read it. */
export async function readOnlineFigures(config: Config, experiment: Experiment): Promise<OnlineFigures> {
  const fromRedis = config.redisUrl !== undefined;
  try {
    return await withPlatform(
      config,
      async (platform) => {
        // Read-only, the schemas of applications that never ran here cannot be registered: skip their views.
        const views = await onlineViews(platform.serde, {
          namespaceOf: activeNamespaceOf(config.dataDir),
          skipNotRun: fromRedis,
        });
        if (views.notRun.includes(APPLICATION)) return notRunYet(`its schemas are not registered`);
        const runners = new Map<string, StreamRunner>();
        if (!fromRedis) {
          const [topology] = await selectTopologies(platform, APPLICATION);
          runners.set(APPLICATION, await StreamRunner.start(await activeRunnerOptions(platform, topology!)));
        }
        const store = await openOnlineStore(config, views, platform.logger, runnersLookup(runners));
        try {
          return { report: await readExperimentFigures(store, experiment.id, experiment) };
        } finally {
          await store.close();
          for (const runner of runners.values()) await runner.close();
        }
      },
      // Redis is read beside the running roles; the stores on disk need the log and state to themselves.
      { readOnly: fromRedis },
    );
  } catch (error) {
    // Its source topics missing: the application never ran on this data dir, so nothing was counted.
    if (error instanceof TopologyError)
      return {
        report: undefined,
        unavailable: `no figures: ${APPLICATION} has not run here yet (${error.message})`,
      };
    if (!(error instanceof StorageError || error instanceof OnlineStoreUnavailableError)) throw error;
    return {
      report: undefined,
      unavailable:
        `figures unavailable here: ${error.message} — read them from GET /admin/experiments/${experiment.id} ` +
        'of the running responder, or from Redis (RECSTREAM_REDIS_URL, kept by `recstream materialize`)',
    };
  }
}
