/**
 * The running experiments as a responder sees them: `rec.experiments`
 * followed from its start into an `ExperimentRegistry`, so a started or
 * stopped experiment reaches every replica within a poll, without a
 * restart. Each request asks `assign` for the user's experiment and
 * variant (a pure hash, ../../registry/experiments/assignment.ts), so a
 * stopped experiment's users are back on the promoted model from the first
 * request after its event is folded. After each change the model versions
 * the running variants name (`<model>@<version>`, shadow variants too) are
 * handed to `onModels`, which loads their pairs in the background.
 *
 * @example
 * ```ts
 * const experiments = await ServingExperiments.start({ log, serde, logger, onModels: (v) => bundles.want(v) });
 * experiments.assign('u42'); // { experiment, variant } or undefined
 * await experiments.close();
 * ```
 */
import { type Assignment, assignVariant } from '../../registry/experiments/assignment.js';
import { ExperimentRegistry } from '../../registry/experiments/experiment-registry.js';
import type { EventLog, LogRecord } from '../../runtime/log/log.js';
import type { Logger } from '../../runtime/observability/logger.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { EXPERIMENTS_TOPIC } from '../../schemas/topics.js';
import { TopicFollower } from './topic-follower.js';

export interface ServingExperimentsOptions {
  readonly log: EventLog;
  readonly serde: Serde;
  readonly logger: Logger;
  /** Told the model versions running variants name, after every change. */
  readonly onModels?: (labels: readonly string[]) => void;
  readonly pollMs?: number;
}

/** The variants' models that are not a model version of their own. */
const NOT_A_VERSION = new Set(['promoted', 'popularity']);

export class ServingExperiments {
  private readonly registry = new ExperimentRegistry();
  private follower: TopicFollower | undefined;

  private constructor(private readonly options: ServingExperimentsOptions) {}

  /** Resolves once every experiment the topic held at start is folded. */
  static async start(options: ServingExperimentsOptions): Promise<ServingExperiments> {
    const experiments = new ServingExperiments(options);
    experiments.follower = TopicFollower.start({
      log: options.log,
      topic: EXPERIMENTS_TOPIC,
      logger: options.logger,
      pollMs: options.pollMs,
      onRecords: (records) => experiments.fold(records),
    });
    await experiments.follower.ready;
    return experiments;
  }

  /** The user's running experiment and variant; undefined outside every experiment. */
  assign(userId: string): Assignment | undefined {
    return assignVariant(this.registry.running(), userId);
  }

  /** A running experiment by id. */
  running(id: string): Experiment | undefined {
    const experiment = this.registry.get(id);
    return experiment?.status === 'running' ? experiment : undefined;
  }

  /** Every running experiment. */
  all(): readonly Experiment[] {
    return this.registry.running();
  }

  async close(): Promise<void> {
    await this.follower?.close();
  }

  private async fold(records: readonly LogRecord[]): Promise<void> {
    for (const record of records) {
      try {
        await this.registry.applyRecord(this.options.serde, record);
      } catch (error) {
        // One unreadable event must not stop the others: it is skipped, loudly.
        this.options.logger.error(
          { err: error, topic: EXPERIMENTS_TOPIC, partition: record.partition, offset: record.offset },
          'skipped an experiment event that does not decode',
        );
      }
    }
    this.options.onModels?.(modelVersions(this.registry.running()));
  }
}

/** The `<model>@<version>` models of the experiments' variants, each once. */
export function modelVersions(experiments: readonly Experiment[]): string[] {
  const labels = new Set<string>();
  for (const experiment of experiments)
    for (const variant of experiment.variants)
      if (!NOT_A_VERSION.has(variant.model)) labels.add(variant.model);
  return [...labels].sort();
}
