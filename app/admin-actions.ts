/**
 * The admin API's actions over the real components, the same ones the
 * commands run:
 *
 * - `retrain`: one `Trainer` round, as `recstream train --once` (so
 *   `up-to-date` when no new snapshot arrived, and the gate's off-policy
 *   step run when it is handed in), started in the background
 *   and logged when it ends. At most one at a time in this process: another
 *   request meanwhile gets RetrainRunningError (409 `RETRAIN_RUNNING`). The
 *   engine is a child process, but gathering the training set runs on this
 *   event loop, so a retrain slows the responder while it reads.
 * - `reindex`: `Indexer.indexOnce()`, as `recstream index build`.
 * - `rollback`: `rollbackModel`, as `recstream models rollback`.
 * - `promote`: `promoteModel`, as `recstream models promote`.
 * - the experiments: `startExperiment`, `stopExperiment`, `readExperiment`
 *   and the registry's list, as `recstream experiments …`; given the
 *   responder's online store, `readFigures` too (`readExperimentFigures`).
 *
 * Reindex, rollback, promote and starting or stopping an experiment run
 * one after the other, never side by side: each reads a registry, then
 * publishes the next version or state, and two at once would publish from
 * the same stale read (two overlapping experiments would both pass).
 *
 * @example
 * ```ts
 * const actions = platformAdminActions(platform, artifactStore(platform.config.dataDir), online);
 * await app.register(adminRoutes, { auth, actions });
 * // on shutdown, before platform.close():
 * await actions.close();
 * ```
 */
import { Indexer } from '../indexer/indexer.js';
import {
  readExperiment,
  startExperiment,
  stopExperiment,
} from '../registry/experiments/experiment-actions.js';
import { readExperimentFigures } from '../registry/experiments/experiment-figures.js';
import { ExperimentRegistry } from '../registry/experiments/experiment-registry.js';
import type { ArtifactStore } from '../registry/model-store.js';
import { promoteModel } from '../registry/promote.js';
import { rollbackModel } from '../registry/rollback.js';
import { RetrainRunningError } from '../responders/errors.js';
import type { AdminActions } from '../responders/routes/admin.js';
import type { ExperimentAdminActions } from '../responders/routes/admin-experiments.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import type { Platform } from '../runtime/platform.js';
import type { OffPolicyStepRunner } from '../trainer/gate-off-policy.js';
import { Trainer } from '../trainer/trainer.js';

export interface PlatformAdminActions extends AdminActions, ExperimentAdminActions {
  /** Aborts a running retrain (its engine process is killed) and waits until it has stopped. */
  close(): Promise<void>;
}

export function platformAdminActions(
  platform: Platform,
  store: ArtifactStore,
  online?: OnlineStore,
  /** The gate's off-policy step a retrain runs (evaluation/off-policy/gate-step.ts, a layer above this one). */
  offPolicyStep?: OffPolicyStepRunner,
): PlatformAdminActions {
  const { logger } = platform;
  const model = platform.config.modelName;
  const stop = new AbortController();
  let retraining: { readonly startedTs: number; readonly done: Promise<void> } | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    async retrain() {
      if (retraining) throw new RetrainRunningError(retraining.startedTs);
      const startedTs = Date.now();
      const trainer = new Trainer({ platform, store, offPolicyStep, signal: stop.signal });
      logger.info({ model }, 'retrain started by the admin API');
      const done = trainer
        .trainOnce()
        .then(
          (outcome) =>
            logger.info(
              outcome.kind === 'published'
                ? {
                    model,
                    outcome: outcome.kind,
                    version: outcome.version.version,
                    status: outcome.version.status,
                    reason: outcome.version.reason,
                  }
                : { model, outcome: outcome.kind, detail: outcome.detail },
              'retrain finished',
            ),
          (err: unknown) => logger.error({ model, err, aborted: stop.signal.aborted }, 'retrain failed'),
        )
        .finally(() => {
          retraining = undefined;
        });
      retraining = { startedTs, done };
      return { accepted: true, model, started_ts: startedTs };
    },

    reindex: () => oneAtATime(() => new Indexer({ platform, store }).indexOnce()),

    rollback: (reason?: string) =>
      oneAtATime(async () => {
        const result = await rollbackModel(platform, store, {
          reason: reason ?? 'rolled back through the admin API',
        });
        return {
          model: result.model,
          rolled_back_version: result.rolledBack.version,
          promoted_version: result.promoted.version,
          reason: result.promoted.reason,
        };
      }),

    promote: (version: number, reason?: string) =>
      oneAtATime(async () => {
        const result = await promoteModel(platform, store, {
          version,
          reason: reason ?? 'promoted through the admin API',
        });
        return {
          model: result.model,
          promoted_version: result.promoted.version,
          previous_version: result.previousVersion,
          already_promoted: result.alreadyPromoted,
          reason: result.promoted.reason,
        };
      }),

    listExperiments: async () => (await ExperimentRegistry.load(platform.log, platform.serde)).all(),

    readExperiment: (id: string) => readExperiment(platform, id),

    ...(online === undefined
      ? {}
      : { readFigures: (experiment) => readExperimentFigures(online, experiment.id, experiment) }),

    startExperiment: (json: unknown) =>
      oneAtATime(async () => {
        const result = await startExperiment(platform, json);
        logger.info({ experiment: result.experiment.id }, 'experiment started through the admin API');
        return result;
      }),

    stopExperiment: (id: string, reason?: string) =>
      oneAtATime(() => stopExperiment(platform, id, reason ?? 'stopped through the admin API')),

    async close() {
      stop.abort();
      await retraining?.done;
      await queue;
    },
  };
}
