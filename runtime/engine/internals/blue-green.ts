/**
 * Blue/green rebuild of an application's state: a green instance (a new
 * state namespace, namespace.ts) rebuilds from earliest while the blue one
 * keeps processing and serving, then takes over. Green's external outputs
 * (training examples, dead letters) are muted while it rebuilds: history is
 * not emitted a second time. So that no output is lost at the cut, green is
 * unmuted at a position `P` and blue is retired only once it has processed
 * every external input below `P` *and* what those inputs produced on its
 * internal topics: every output muted in green was then emitted by blue.
 * Inputs blue processed beyond `P` are processed again by green, unmuted:
 * those outputs may appear twice, with the same deterministic ids (outputs are
 * at-least-once).
 *
 * @example
 * ```ts
 * const building = await GreenBuild.start(greenOptions);          // muted, from earliest
 * const greenRun = building.runner.run();
 * await building.caughtUp((done, total) => progress.update(done)); // committed past the inputs' end at start
 * await handover(blueRunner, blueOptions, building);                // unmuted; blue covered everything muted
 * // now flip the active namespace, then blueRunner.stop(); once no reader is left, deleteNamespaceTopics
 * ```
 */
import { TopologyError } from '../../errors.js';
import type { EventLog, TopicPartitionOffset } from '../../log/log.js';
import type { Topology } from '../../processor/topology.js';
import { sleep } from '../../retry.js';
import { internalTopics, namespaceTopics } from '../namespace.js';
import { type RunnerOptions, type RunStats, StreamRunner } from '../runner.js';
import { ReplayProgress, replayTargets } from './reset.js';

const POLL_MS = 100;

/** Reports records rebuilt of the external inputs' end offsets when the build began. */
export type BuildProgress = (done: number, total: number) => void;

/** A green instance: its runner, muted until `unmute`. */
export class GreenBuild {
  private muted = true;
  private constructor(
    readonly runner: StreamRunner,
    readonly options: RunnerOptions,
    private readonly progress: ReplayProgress,
    private readonly targets: readonly TopicPartitionOffset[],
  ) {}

  /** Opens green's tasks (resuming its namespace's state if a previous attempt left some) with outputs muted. */
  static async start(options: RunnerOptions): Promise<GreenBuild> {
    let build: GreenBuild | undefined;
    const runner = await StreamRunner.start({ ...options, outputsMuted: () => build?.muted ?? true });
    try {
      const partitions = [...new Set(runner.positions().map((p) => p.partition))];
      const targets = await replayTargets(
        options.topology,
        options.log,
        partitions,
        internalTopics(options.topology),
      );
      build = new GreenBuild(
        runner,
        options,
        new ReplayProgress(targets, runner.positions()),
        targets.map((t) => ({ topic: t.topic, partition: t.partition, offset: t.end })),
      );
      return build;
    } catch (error) {
      await runner.close();
      throw error;
    }
  }

  /** Input records to rebuild: from green's start to the external inputs' end when it started. */
  get total(): number {
    return this.progress.total;
  }

  /** Records rebuilt so far and whether every external input reached its end at start. */
  at(): { done: number; reached: boolean } {
    return this.progress.at(this.runner.positions());
  }

  /**
   * Resolves once green has committed past the inputs' end at start and
   * then past what those inputs produced on its internal topics, so its
   * committed state (what online reads see) covers every key blue had when
   * the build began: item views, built from the repartition topic,
   * included. `run()` must be looping.
   */
  async caughtUp(onProgress: BuildProgress, stopped: () => boolean = () => false): Promise<void> {
    const report = () => onProgress(this.at().done, this.total);
    await waitUntil(() => {
      report();
      return reachedAll(this.runner.committedPositions(), this.targets);
    }, stopped);
    const ends = await internalEnds(this.runner, this.options);
    await waitUntil(() => reachedAll(this.runner.committedPositions(), ends), stopped);
    report();
  }

  /** Lets outputs through from now on; returns green's position on its external inputs at this moment. */
  unmute(): TopicPartitionOffset[] {
    this.muted = false;
    const internal = internalTopics(this.options.topology);
    return this.runner.positions().filter((p) => !internal.has(p.topic));
  }
}

/**
 * Unmutes green, then waits until blue (looping in `run()`) has committed
 * past green's position on every external input, and then past what that
 * had produced on its internal topics: every output blue owes for inputs
 * below the cut is appended. Blue can then be stopped without losing one.
 */
export async function handover(
  blue: StreamRunner,
  blueOptions: RunnerOptions,
  green: GreenBuild,
  stopped: () => boolean = () => false,
): Promise<void> {
  const cut = green.unmute();
  // A commit covering the cut has appended blue's outputs of every input below it, internal ones included.
  await waitUntil(() => reachedAll(blue.committedPositions(), cut), stopped);
  const ends = await internalEnds(blue, blueOptions);
  await waitUntil(() => reachedAll(blue.committedPositions(), ends), stopped);
}

/**
 * With no process running the application: green rebuilds muted to the
 * inputs' end, then blue catches up to at least that end (emitting its
 * own outputs for what it had not processed yet), then both close. The
 * caller then flips the active namespace and removes blue's state.
 */
export async function blueGreenAlone(
  blue: RunnerOptions,
  green: RunnerOptions,
  onProgress: BuildProgress,
): Promise<{ records: number; green: RunStats; blue: RunStats }> {
  const build = await GreenBuild.start(green);
  let closing = false;
  const timer = setInterval(() => {
    if (!closing) onProgress(build.at().done, build.total);
  }, 500);
  const greenStats = await build.runner.runUntilCaughtUp().finally(() => {
    closing = true;
    clearInterval(timer);
  });
  onProgress(build.total, build.total);
  const blueStats = await (await StreamRunner.start(blue)).runUntilCaughtUp();
  return { records: build.total, green: greenStats, blue: blueStats };
}

/**
 * Deletes the log topics only `namespace` of the application used — its
 * changelogs and internal topics — as Kafka Streams' reset tool deletes an
 * application's internal topics. Only for a retired namespace that nothing
 * reads any more. Returns the topics that existed and are now deleted.
 *
 * @example
 * ```ts
 * await deleteNamespaceTopics(log, featuresTopology, 'g1'); // ['rec.user-features.user-view.g1.changelog', …]
 * ```
 */
export async function deleteNamespaceTopics(
  log: EventLog,
  topology: Topology,
  namespace: string | undefined,
): Promise<string[]> {
  const existing: string[] = [];
  for (const topic of namespaceTopics(topology, namespace))
    if (await log.describeTopic(topic)) existing.push(topic);
  await log.deleteTopics(existing);
  return existing;
}

/** The current end of `runner`'s internal topics, on the partitions it runs. */
async function internalEnds(
  runner: StreamRunner,
  options: Pick<RunnerOptions, 'topology' | 'log'>,
): Promise<TopicPartitionOffset[]> {
  const partitions = new Set(runner.positions().map((p) => p.partition));
  const ends: TopicPartitionOffset[] = [];
  for (const topic of internalTopics(options.topology))
    for (const p of await options.log.offsets(topic))
      if (partitions.has(p.partition)) ends.push({ topic, partition: p.partition, offset: p.end });
  return ends;
}

function reachedAll(
  positions: readonly TopicPartitionOffset[],
  targets: readonly TopicPartitionOffset[],
): boolean {
  const at = new Map(positions.map((p) => [`${p.topic}/${p.partition}`, p.offset]));
  return targets.every((t) => (at.get(`${t.topic}/${t.partition}`) ?? -1) >= t.offset);
}

async function waitUntil(condition: () => boolean, stopped: () => boolean): Promise<void> {
  while (!condition()) {
    if (stopped()) throw stoppedError();
    await sleep(POLL_MS);
  }
}

function stoppedError(): TopologyError {
  return new TopologyError('the application stopped before the blue/green rebuild finished');
}
