/**
 * Every role of the platform in one process (`recstream up`, and the
 * demo once its first model is there): each processor application, the
 * trainer following the training snapshots, the indexer following model
 * promotions and catalog changes, and the responder — over whatever the
 * configuration names (embedded log or Kafka; in-process online store or
 * Redis). `stop()` (or the signal) drains and closes them, responder first
 * so no request meets a closed store.
 *
 * @example
 * ```ts
 * const roles = await startRoles(platform, { signal: controller.signal });
 * console.log(roles.responder.url);
 * await roles.finished;
 * ```
 */
import { Indexer, type IndexOutcome } from '../indexer/indexer.js';
import { artifactStore } from '../registry/model-store.js';
import { StreamRunner } from '../runtime/engine/runner.js';
import { runtimeMetrics } from '../runtime/observability/metrics.js';
import { runnersLookup } from '../runtime/online/in-process/task-lookup.js';
import type { OnlineStore } from '../runtime/online/online-store.js';
import type { Platform } from '../runtime/platform.js';
import { followRounds } from '../trainer/follow.js';
import type { OffPolicyStepRunner } from '../trainer/gate-off-policy.js';
import { Trainer, type TrainOutcome } from '../trainer/trainer.js';
import { experimentGauges } from './experiment-gauges.js';
import { describeIndexOutcome, describeTrainOutcome } from './outcomes.js';
import { activeRunnerOptions, ensureInputTopics, selectTopologies } from './platform.js';
import { type RunningResponder, startResponder } from './responder.js';
import { openServingStore } from './serving-store.js';

export interface RolesOptions {
  /** Aborting it stops every role. */
  readonly signal: AbortSignal;
  /** Pause between trainer rounds; default 2 s. */
  readonly trainPollMs?: number;
  /** Pause between indexer rounds; default 2 s. */
  readonly indexPollMs?: number;
  /** Engine settings under RECSTREAM_TRAIN_CONFIG (the demo trains few epochs). */
  readonly engineDefaults?: Readonly<Record<string, unknown>>;
  /**
   * The gate's off-policy step over the responder's online store, which the trainer runs
   * (evaluation/off-policy/gate-step.ts, a layer above this one).
   */
  readonly offPolicyStep?: (online: OnlineStore) => OffPolicyStepRunner;
  readonly onTrain?: (outcome: TrainOutcome) => void;
  readonly onIndex?: (outcome: IndexOutcome) => void;
}

export interface RunningRoles {
  readonly responder: RunningResponder;
  readonly runners: readonly StreamRunner[];
  /** The online store the responder reads: every online view, the experiments' figures too. */
  readonly online: OnlineStore;
  /** Settles once every role has stopped; rejects with the first role that failed for good. */
  readonly finished: Promise<void>;
}

export async function startRoles(platform: Platform, options: RolesOptions): Promise<RunningRoles> {
  const { logger, config } = platform;
  const metrics = runtimeMetrics(platform.metrics);
  const runners = new Map<string, StreamRunner>();
  const runs: Promise<unknown>[] = [];
  await ensureInputTopics(platform);
  for (const topology of await selectTopologies(platform, 'all')) {
    const runner = await StreamRunner.start({ ...(await activeRunnerOptions(platform, topology)), metrics });
    runners.set(topology.applicationId, runner);
    runs.push(runner.run());
  }
  experimentGauges(platform.metrics, runnersLookup(runners));
  const stopRunners = () => {
    for (const runner of runners.values()) runner.stop();
  };
  const serving = await openServingStore(platform, runners);
  const offPolicyStep = options.offPolicyStep?.(serving.online);
  let responder: RunningResponder;
  try {
    responder = await startResponder(platform, { online: serving.online, offPolicyStep });
  } catch (error) {
    stopRunners();
    await Promise.allSettled(runs);
    await serving.close();
    throw error;
  }
  // Aborted by the caller's signal, or when a processor application fails for good.
  const local = new AbortController();
  options.signal.addEventListener('abort', () => local.abort(), { once: true });
  if (options.signal.aborted) local.abort();
  const signal = local.signal;
  const store = artifactStore(config.dataDir);
  const trainer = new Trainer({
    platform,
    store,
    engineDefaults: options.engineDefaults,
    offPolicyStep,
    signal,
  });
  const indexer = new Indexer({ platform, store });
  // A trainer or indexer that fails for good (no Python with torch) is logged and stops alone:
  // processing and serving go on without it.
  const role = (name: string, round: Promise<void>) =>
    round.catch((error) =>
      logger.error({ err: error, role: name }, `the ${name} stopped: ${(error as Error).message}`),
    );
  const rounds = [
    role(
      'trainer',
      followRounds(() => trainer.trainOnce(), {
        pollMs: options.trainPollMs ?? 2000,
        signal,
        logger,
        describe: describeTrainOutcome,
        onOutcome: options.onTrain,
      }),
    ),
    role(
      'indexer',
      followRounds(() => indexer.indexOnce(), {
        pollMs: options.indexPollMs ?? 2000,
        signal,
        logger,
        describe: describeIndexOutcome,
        onOutcome: options.onIndex,
      }),
    ),
  ];
  const stopped = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const finished = (async () => {
    // A processor application that fails for good stops every role rather than serving stale views.
    await Promise.race([
      stopped,
      ...runs.map((r) =>
        r.then(
          () => stopped,
          () => undefined,
        ),
      ),
    ]);
    local.abort();
    await responder.close();
    stopRunners();
    const settled = await Promise.allSettled([...rounds, ...runs]);
    await serving.close();
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed && !options.signal.aborted) throw failed.reason;
  })();
  return { responder, runners: [...runners.values()], online: serving.online, finished };
}
