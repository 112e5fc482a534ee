/**
 * The trainer: turns training snapshots into model versions.
 *
 * One round: fold `rec.model-versions`; if the snapshots on
 * `rec.training-snapshots` (in the window) are not the ones the newest
 * version was trained on, add enough new examples, and the newest version
 * is old enough (RECSTREAM_TRAIN_MIN_NEW_EXAMPLES, …_MIN_INTERVAL_MS),
 * gather them into a training set, run the engine,
 * store the artifacts, decide promotion by the gate, and publish one
 * `ModelVersion` (`promoted` or `rejected`, with lineage, metrics, params,
 * engine and device; `candidate` with a canary started when
 * RECSTREAM_GATE_CANARY_PCT says so, ./gate-canary.ts; `candidate` awaiting
 * the off-policy step when RECSTREAM_GATE_OFF_POLICY says so,
 * ./gate-off-policy.ts). A round that finds a candidate awaiting that step
 * runs the step (once the candidate's index is there) instead of training.
 *
 * Crash safety comes from ordering: the published event is the commit
 * point. Everything before it (the work dir, the stored artifacts of a
 * version number nobody published) is redone by the next round, which sees
 * no version for these snapshots and trains again; the work dir and the
 * version dir are replaced whole. A round that fails because the data is
 * bad (the engine reports an error) publishes a `rejected` version naming
 * the error, so the same snapshots are not retried in a loop; a round that
 * fails for any other reason (the engine killed, the disk full) publishes
 * nothing and is retried.
 *
 * @example
 * ```ts
 * const trainer = new Trainer({ platform, store: new FileArtifactStore(join(dataDir, 'artifacts')) });
 * const outcome = await trainer.trainOnce();
 * if (outcome.kind === 'published') console.log(outcome.version.status, outcome.version.metrics);
 * ```
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MODEL_ARTIFACTS } from '../features/feature-service.js';
import { ModelRegistry, publishModelVersion } from '../registry/model-registry.js';
import type { ArtifactStore } from '../registry/model-store.js';
import { OFF_POLICY_STEP, pendingGateStep } from '../registry/pending-gate-step.js';
import { inSpan } from '../runtime/observability/tracing.js';
import type { Platform } from '../runtime/platform.js';
import { createProducer } from '../runtime/producer/producer.js';
import type { ModelVersion, OffsetRange, TrainingSnapshot } from '../schemas/generated/types.js';
import { TRAINING_EXAMPLES_TOPIC } from '../schemas/topics.js';
import { writeDataset } from './dataset-writer.js';
import { type EngineEvent, findPython, runEngine } from './engine.js';
import { TrainingError } from './errors.js';
import { comparedVersion, gate } from './gate.js';
import { passedStatus, startGateCanary } from './gate-canary.js';
import { awaitingOffPolicy, type OffPolicyStepRunner, takesOffPolicyStep } from './gate-off-policy.js';
import { trainerMetrics } from './trainer-metrics.js';
import { gatherTrainingSet, readSnapshots } from './training-set.js';

export interface TrainerOptions {
  readonly platform: Platform;
  readonly store: ArtifactStore;
  /** Engine progress lines, as they arrive (the CLI draws a progress line from them). */
  readonly onEngineEvent?: (event: EngineEvent) => void;
  /** Gathering progress: examples read of the snapshots' total. */
  readonly onGather?: (read: number, total: number) => void;
  /** Engine settings under RECSTREAM_TRAIN_CONFIG's (the demo trains fewer epochs). */
  readonly engineDefaults?: Readonly<Record<string, unknown>>;
  /**
   * Runs the gate's off-policy step (evaluation/off-policy/gate-step.ts); without it, a candidate
   * awaiting the step waits for a trainer that has one (`recstream train`, `up` and the demo do).
   */
  readonly offPolicyStep?: OffPolicyStepRunner;
  readonly signal?: AbortSignal;
}

export type TrainOutcome =
  | { readonly kind: 'published'; readonly version: ModelVersion }
  | {
      readonly kind:
        | 'up-to-date'
        | 'no-snapshots'
        | 'too-few-new-examples'
        | 'too-soon'
        | 'empty'
        | 'awaiting-off-policy-step';
      readonly detail: string;
    };

/** The id of a training set: a hash of its snapshot ids, so the same snapshots always name the same set. */
export function trainingSetId(snapshots: readonly TrainingSnapshot[]): string {
  const ids = snapshots.map((s) => s.snapshot_id).sort();
  return `set-${createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 32)}`;
}

const rangeKey = (r: OffsetRange) => `${r.topic}/${r.partition}/${r.start_offset}/${r.end_offset}`;

function finiteMetrics(metrics: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number') out[k] = v;
  return out;
}

export class Trainer {
  constructor(private readonly options: TrainerOptions) {}

  /**
   * One round; see the module comment. `force` trains even when the newest
   * version was trained on the same snapshots (a retrain of the same lineage).
   */
  trainOnce(options: { force?: boolean } = {}): Promise<TrainOutcome> {
    // With tracing on, a round is one span; the model version it publishes carries its traceparent.
    return inSpan(
      'train round',
      { attributes: { 'recstream.model': this.options.platform.config.modelName } },
      undefined,
      async (span) => {
        const outcome = await this.round(options);
        span?.setAttributes({
          'recstream.outcome': outcome.kind,
          ...(outcome.kind === 'published'
            ? { 'recstream.version': outcome.version.version, 'recstream.status': outcome.version.status }
            : {}),
        });
        return outcome;
      },
    );
  }

  private async round(options: { force?: boolean }): Promise<TrainOutcome> {
    const { platform, store } = this.options;
    const { config, log, serde, logger } = platform;
    const model = config.modelName;
    const python = await findPython(config.python);
    const registry = await ModelRegistry.load(log, serde);
    const pending = pendingGateStep(registry, model, OFF_POLICY_STEP);
    if (pending !== undefined) return this.settleOffPolicyStep(registry, pending);
    const snapshots = await readSnapshots(log, serde);
    if (snapshots.length === 0)
      return { kind: 'no-snapshots', detail: 'no training snapshot has been published yet' };
    const latest = registry.versions(model).at(-1);
    const setId = trainingSetId(snapshots);
    if (latest?.snapshot_id === setId && !options.force)
      return {
        kind: 'up-to-date',
        detail: `version ${latest.version} was trained on these ${snapshots.length} snapshots`,
      };
    const trained = new Set(latest?.lineage.map(rangeKey) ?? []);
    const fresh = snapshots.filter((s) => !s.ranges.every((r) => trained.has(rangeKey(r))));
    const newExamples = fresh.reduce((n, s) => n + s.example_count, 0);
    if (latest && !options.force && newExamples < config.trainMinNewExamples)
      return {
        kind: 'too-few-new-examples',
        detail: `${newExamples} new examples, RECSTREAM_TRAIN_MIN_NEW_EXAMPLES=${config.trainMinNewExamples}`,
      };
    if (latest && !options.force && Date.now() < latest.created_ts + config.trainMinIntervalMs)
      return {
        kind: 'too-soon',
        detail: `version ${latest.version} was made at ${new Date(latest.created_ts).toISOString()}, RECSTREAM_TRAIN_MIN_INTERVAL_MS=${config.trainMinIntervalMs}`,
      };
    const started = Date.now();
    const metrics = trainerMetrics(platform.metrics);
    const set = await gatherTrainingSet({
      log,
      serde,
      windowDays: config.trainWindowDays,
      onProgress: this.options.onGather,
      onUndecodable: (partition, offset, error) =>
        logger.warn(
          { topic: TRAINING_EXAMPLES_TOPIC, partition, offset, err: error.message },
          'undecodable training example left out',
        ),
    });
    logger.info(
      { model, training_set: setId, snapshots: set.snapshots.length, ...set.stats },
      'training set gathered',
    );
    const version = registry.nextVersion(model);
    const lineage = set.snapshots.flatMap((s) => s.ranges);
    const promoted = registry.promoted(model);
    const base = {
      model,
      version,
      snapshot_id: setId,
      lineage,
      created_ts: started,
      parent_version: promoted?.version ?? null,
    };
    if (set.stats.examples === 0) {
      metrics.runs.inc({ outcome: 'empty' });
      return {
        kind: 'empty',
        detail: `the ${set.snapshots.length} snapshots hold no example to train on (${set.stats.optedOut} of opted-out users, ${set.stats.outsideWindow} outside the window)`,
      };
    }
    const work = join(config.dataDir, 'trainer', 'work', setId);
    await rm(work, { recursive: true, force: true });
    const dataset = join(work, 'dataset');
    const out = join(work, 'out');
    await writeDataset(set, dataset);
    const previous = await this.previousArtifacts(promoted);
    const previousDir = previous?.dir;
    const params: Record<string, string> = {
      python: python.python,
      torch: python.torch,
      examples: String(set.stats.examples),
      examples_read: String(set.stats.read),
      duplicates_dropped: String(set.stats.duplicates),
      opted_out_dropped: String(set.stats.optedOut),
      outside_window: String(set.stats.outsideWindow),
      undecodable: String(set.stats.undecodable),
      snapshots: set.snapshots.map((s) => s.snapshot_id).join(','),
      window_days: String(config.trainWindowDays),
      previous_compared: 'none',
    };
    const producer = createProducer({ log, serde, createTopics: { partitions: config.partitions } });
    try {
      let result: Awaited<ReturnType<typeof runEngine>>;
      try {
        result = await runEngine({
          python: python.python,
          dataset,
          out,
          config: { ...this.options.engineDefaults, ...config.trainConfig },
          previous: previousDir,
          previousSha256: previousDir === undefined ? undefined : previous?.sha256,
          device: config.device,
          onEvent: (event) => {
            if (event.event === 'epoch' && typeof event.seconds === 'number')
              metrics.epochSeconds.set({ model }, event.seconds);
            if (typeof event.examples_per_s === 'number')
              metrics.examplesPerSecond.set({ model }, event.examples_per_s);
            logger.debug({ model, version, ...event }, 'engine');
            this.options.onEngineEvent?.(event);
          },
          signal: this.options.signal,
        });
      } catch (error) {
        if (!(error instanceof TrainingError) || error.retriable) {
          metrics.runs.inc({ outcome: 'failed' });
          throw error;
        }
        const rejected: ModelVersion = {
          ...base,
          artifacts: [],
          metrics: {},
          status: 'rejected',
          status_ts: Date.now(),
          reason: error.message,
          engine: 'recstream_models',
          device: 'none',
          params,
        };
        await publishModelVersion(producer, rejected);
        metrics.runs.inc({ outcome: 'rejected' });
        logger.warn(
          { model, version, reason: error.message },
          'model version rejected: the engine refused the training set',
        );
        return { kind: 'published', version: rejected };
      }
      const engineParams = JSON.parse(await readFile(join(out, MODEL_ARTIFACTS.params), 'utf8')) as Record<
        string,
        unknown
      >;
      for (const [k, v] of Object.entries(engineParams))
        params[`engine.${k}`] = typeof v === 'string' ? v : JSON.stringify(v);
      const artifacts = await store.put('models', model, version, out);
      const modelMetrics = finiteMetrics(result.metrics);
      modelMetrics.train_seconds = (Date.now() - started) / 1000;
      params.previous_compared = comparedVersion(
        previousDir === undefined ? undefined : promoted?.version,
        modelMetrics,
      );
      const engineError = engineParams.previous_error;
      const decision = gate(
        modelMetrics,
        {
          popularityMargin: config.gatePopularityMargin,
          previousMargin: config.gatePreviousMargin,
        },
        {
          promotedVersion: promoted?.version,
          unverified: previous?.unverified,
          engineError: typeof engineError === 'string' ? engineError : undefined,
          allowUncompared: config.gateAllowUncompared === 'true',
        },
      );
      if (decision.override !== undefined) params.gate_override = decision.override;
      const passed = passedStatus(config, promoted);
      const offPolicy = decision.promote && takesOffPolicyStep(config, promoted);
      const awaiting = offPolicy ? awaitingOffPolicy(decision.reason, params) : undefined;
      const event: ModelVersion = {
        ...base,
        artifacts,
        metrics: modelMetrics,
        status: !decision.promote ? 'rejected' : offPolicy ? 'candidate' : passed,
        status_ts: Date.now(),
        reason:
          awaiting?.reason ??
          (decision.promote && passed === 'candidate'
            ? `${decision.reason}; canary at ${config.gateCanaryPct} %`
            : decision.reason),
        engine: String(result.start?.engine ?? 'recstream_models'),
        device: String(result.start?.device ?? 'cpu'),
        params: awaiting?.params ?? params,
      };
      await publishModelVersion(producer, event);
      if (event.status === 'candidate' && !offPolicy) await startGateCanary(platform, event);
      await rm(work, { recursive: true, force: true });
      metrics.runs.inc({ outcome: event.status });
      metrics.lastSeconds.set({ model }, modelMetrics.train_seconds);
      logger.info(
        {
          model,
          version,
          status: event.status,
          reason: decision.reason,
          recall_at_20: modelMetrics.recall_at_20,
        },
        `model version ${version} ${event.status}`,
      );
      return { kind: 'published', version: event };
    } finally {
      await producer.close();
    }
  }

  /** Runs the off-policy step of a candidate awaiting it, or says why it still waits. */
  private async settleOffPolicyStep(registry: ModelRegistry, pending: ModelVersion): Promise<TrainOutcome> {
    const { platform, offPolicyStep } = this.options;
    const label = `${pending.model} v${pending.version}`;
    if (offPolicyStep === undefined)
      return {
        kind: 'awaiting-off-policy-step',
        detail: `${label} awaits the off-policy step, which this process does not run (recstream train, up, demo and the admin API of serve do)`,
      };
    const step = await offPolicyStep(pending, registry.promoted(pending.model));
    if ('waiting' in step) return { kind: 'awaiting-off-policy-step', detail: step.waiting };
    const producer = createProducer({ log: platform.log, serde: platform.serde });
    try {
      await publishModelVersion(producer, step.event);
    } finally {
      await producer.close();
    }
    if (step.event.status === 'candidate') await startGateCanary(platform, step.event);
    trainerMetrics(platform.metrics).runs.inc({ outcome: step.event.status });
    platform.logger.info(
      {
        model: pending.model,
        version: pending.version,
        status: step.event.status,
        reason: step.event.reason,
      },
      `model version ${pending.version} ${step.event.status} after the off-policy step`,
    );
    return { kind: 'published', version: step.event };
  }

  /**
   * The promoted version's artifact dir and its files' sha256 (the engine
   * checks each file as it reads it) when its files still hash right;
   * otherwise why not, for the gate, which then refuses to promote without
   * the comparison. Undefined when no version is promoted.
   */
  private async previousArtifacts(
    promoted: ModelVersion | undefined,
  ): Promise<
    | { readonly dir: string; readonly sha256: Record<string, string>; readonly unverified?: undefined }
    | { readonly dir?: undefined; readonly unverified: string }
    | undefined
  > {
    if (!promoted) return undefined;
    if (promoted.artifacts.length === 0) return { unverified: 'it has no artifacts' };
    try {
      await this.options.store.verify(promoted.artifacts);
      return {
        dir: dirname(this.options.store.localPath(promoted.artifacts[0]!.uri)),
        sha256: Object.fromEntries(promoted.artifacts.map((a) => [a.name, a.sha256])),
      };
    } catch (error) {
      this.options.platform.logger.warn(
        { model: promoted.model, version: promoted.version, err: (error as Error).message },
        'the promoted model cannot be compared on the new holdout: its artifacts do not verify',
      );
      return { unverified: (error as Error).message };
    }
  }
}
