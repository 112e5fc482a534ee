/**
 * The experiment registry is the compacted `rec.experiments` topic: each
 * event is an experiment's whole new state, keyed by its id, and the
 * registry is those events folded in log order, the newest per id winning
 * and a tombstone forgetting the id. Responders fold the same events with
 * a topic follower, so a started or stopped experiment reaches every
 * replica within a poll.
 *
 * @example
 * ```ts
 * const registry = await ExperimentRegistry.load(log, serde);
 * registry.running().map((e) => e.id);
 * await publishExperiments(platform, [{ ...registry.get('ab-1')!, status: 'stopped', updated_ts: Date.now() }]);
 * ```
 */
import type { EventLog, LogRecord } from '../../runtime/log/log.js';
import type { Platform } from '../../runtime/platform.js';
import type { Serde } from '../../runtime/serde/serde.js';
import type { Experiment } from '../../schemas/generated/types.js';
import { EXPERIMENTS_TOPIC } from '../../schemas/topics.js';
import { publishInOrder } from '../publish-in-order.js';
import { readTopic } from '../topic-reader.js';

const SUBJECT = 'rec.experiments-value';

export class ExperimentRegistry {
  private readonly byId = new Map<string, Experiment>();
  private runningCache: Experiment[] | undefined;

  /** Folds the whole topic as it is now. */
  static async load(log: EventLog, serde: Serde): Promise<ExperimentRegistry> {
    const registry = new ExperimentRegistry();
    for await (const record of readTopic(log, EXPERIMENTS_TOPIC)) await registry.applyRecord(serde, record);
    return registry;
  }

  /** Folds one record of the topic in: a value is the experiment's new state, a tombstone forgets its key. */
  async applyRecord(serde: Serde, record: LogRecord): Promise<void> {
    if (record.value === null) {
      if (record.key !== null) this.forget(record.key);
      return;
    }
    this.apply(await serde.deserialize(SUBJECT, record.value));
  }

  /** Folds one experiment state in. */
  apply(experiment: Experiment): void {
    this.byId.set(experiment.id, experiment);
    this.runningCache = undefined;
  }

  /** Forgets an experiment (its tombstone). */
  forget(id: string): void {
    this.byId.delete(id);
    this.runningCache = undefined;
  }

  get(id: string): Experiment | undefined {
    return this.byId.get(id);
  }

  /** Every experiment's newest state, by id. */
  all(): Experiment[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The running experiments, by id (the same array until the next change, for the request path). */
  running(): readonly Experiment[] {
    this.runningCache ??= this.all().filter((e) => e.status === 'running');
    return this.runningCache;
  }
}

/**
 * Publishes experiment states in order (the CLI, the admin API) and waits
 * until the log acknowledged each one.
 */
export async function publishExperiments(
  platform: Platform,
  experiments: readonly Experiment[],
): Promise<void> {
  await publishInOrder(platform, EXPERIMENTS_TOPIC, experiments);
}
