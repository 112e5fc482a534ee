/**
 * Runs a topology over the event log: one task per source partition, each
 * with its own state (RocksDB directory + changelogs). The loop polls,
 * processes, and every `commitIntervalMs` commits in this order:
 *
 * 1. sink outputs and dead letters are appended (they may repeat after a
 *    crash; they carry deterministic ids so readers can drop duplicates);
 * 2. each task commits its stores together with the input offsets they
 *    reflect (TaskState: changelog batch with a commit marker, then one
 *    atomic engine write);
 * 3. the consumer group's offsets are committed, for lag monitoring only
 *    (the partitions whose position moved since the last group commit).
 *
 * On start every task resumes from the offsets stored *with its state*,
 * never from the group's offsets, which is what makes state effectively-once.
 *
 * One turn of the loop (poll, process, punctuate, start a due commit) is
 * internals/poll-cycle.ts; this file holds the lifecycle around it:
 * restoring, retrying and resuming from the last commit, replay resets,
 * and shutting down.
 *
 * @example
 * ```ts
 * const runner = await StreamRunner.start({ topology, log, stateDir, engine: 'rocksdb', deadLetters, logger });
 * process.once('SIGTERM', () => runner.stop());
 * await runner.run();          // or: await runner.runUntilCaughtUp();
 * ```
 */
import { isRetriable, TopologyError } from '../errors.js';
import type { TopicPartitionOffset } from '../log/log.js';
import { GlobalTables } from '../processor/internals/global-tables.js';
import { Backoff, sleep } from '../retry.js';
import type { TaskState } from '../state/task-state.js';
import { CommitPipeline } from './internals/commit-pipeline.js';
import { PollCycle } from './internals/poll-cycle.js';
import { prepareTopics } from './internals/prepare-topics.js';
import { type ReplayFrom, rewrittenTopics } from './internals/reset.js';
import { RunnerMetrics } from './internals/runner-metrics.js';
import { TaskManager } from './internals/task-manager.js';
import { internalTopics } from './namespace.js';
import { type Pacing, pacingOf, type RunnerOptions, type RunStats } from './runner-options.js';

export type { RunnerOptions, RunStats } from './runner-options.js';

/**
 * Runs one application's topology over the log (Kafka Streams'
 * KafkaStreams): `start` restores every task's state, `run` loops until
 * `stop()`, `runUntilCaughtUp` processes what is there and returns.
 *
 * @example
 * ```ts
 * const runner = await StreamRunner.start({ topology, log, stateDir, engine: 'rocksdb', deadLetters, logger });
 * process.once('SIGTERM', () => runner.stop());
 * const stats = await runner.run(); // { processed, deadLetters, commits }
 * ```
 */
export class StreamRunner {
  private readonly tasks: TaskManager;
  private readonly commits: CommitPipeline;
  private readonly metrics: RunnerMetrics;
  private readonly cycle: PollCycle;
  private readonly pacing: Pacing;
  private stopping = false;
  private running = false;
  private pendingReset: {
    from: ReplayFrom;
    rewritten: ReadonlySet<string>;
    resolve: () => void;
    reject: (error: unknown) => void;
  } | null = null;

  private constructor(
    private readonly options: RunnerOptions,
    /** Partitions of the source topics (tasks of the whole application, over every instance). */
    readonly partitionCount: number,
    private readonly globals: GlobalTables,
  ) {
    this.pacing = pacingOf(options);
    this.metrics = new RunnerMetrics(
      options.metrics,
      { application: options.topology.applicationId, namespace: options.namespace ?? 'default' },
      options.topology,
    );
    this.tasks = new TaskManager(options, partitionCount, globals, this.metrics);
    this.commits = new CommitPipeline(
      { ...options, internal: internalTopics(options.topology) },
      this.tasks,
      this.metrics,
    );
    this.cycle = new PollCycle(options, this.pacing, this.tasks, this.commits, globals, this.metrics);
  }

  /** Validates topics, creates internal ones, restores state, and positions the consumer. */
  static async start(options: RunnerOptions): Promise<StreamRunner> {
    const partitions = await prepareTopics(options.topology, options.log, options.topics);
    // Global tables are read to their end before any task processes a record.
    const globals = await GlobalTables.open(options.topology.globalTables, options.log, options.logger);
    const runner = new StreamRunner(options, partitions, globals);
    try {
      await runner.tasks.open();
    } catch (error) {
      await globals.close();
      throw error;
    }
    return runner;
  }

  /** Processes until stop() is called (SIGTERM), then drains, commits and closes. */
  async run(): Promise<RunStats> {
    const backoff = new Backoff();
    // Set by a retriable failure: the tasks reopen from the last commit inside the loop, so a
    // failure while reopening (the broker still away) is retried like any other.
    let resume = false;
    this.running = true;
    while (!this.stopping) {
      try {
        if (resume) {
          await this.commits.discard();
          await this.tasks.close();
          await this.tasks.open();
          await this.globals.reopen();
          resume = false;
        }
        if (this.pendingReset) await this.takeReset();
        await this.cycle.step(this.cycle.pollTimeoutMs(), this.pacing.commitIdleMs > 0);
        backoff.reset();
      } catch (error) {
        if (!isRetriable(error)) {
          this.running = false;
          await this.shutDown({ clean: false, keepGauges: false });
          throw error;
        }
        const delay = backoff.next();
        this.options.logger.warn(
          { err: error, delayMs: delay },
          'retriable failure; resuming from the last commit',
        );
        await sleep(delay);
        resume = true;
      }
    }
    this.running = false;
    this.pendingReset?.reject(new TopologyError('the runner stopped before the requested reset'));
    this.pendingReset = null;
    // Stopped before the tasks reopened: the failed batch's work and positions are dropped, not committed.
    if (resume) await this.commits.discard();
    else await this.commits.commit();
    await this.shutDown({ clean: true, keepGauges: false });
    return this.progress();
  }

  /**
   * Resets every task of this runner for a replay: uncommitted work is
   * dropped, each task's state is wiped durably (changelog tombstones and a
   * `wipe` marker, see TaskState.wipe) and its inputs are repositioned to
   * `from` (the topics in `rewritten` to their end, default this topology's
   * own sink topics: see internals/reset.ts). While `run()` is
   * looping, the reset happens between two batches and the returned promise
   * settles once the tasks are open again; the loop then rebuilds.
   */
  reset(
    from: ReplayFrom,
    rewritten: ReadonlySet<string> = rewrittenTopics([this.options.topology]),
  ): Promise<void> {
    if (!this.running) return this.resetTasks(from, rewritten);
    if (this.pendingReset) return Promise.reject(new TopologyError('a reset is already pending'));
    return new Promise((resolve, reject) => {
      this.pendingReset = { from, rewritten, resolve, reject };
    });
  }

  /** The consumer's next offset per assigned source partition (replay progress). */
  positions(): TopicPartitionOffset[] {
    return this.tasks.positions();
  }

  /**
   * Whether, at this moment, every output is appended and every source
   * partition of this runner, internal topics included, is read to its end:
   * what a replay beside the running loop waits for before reporting done.
   * Unlike `runUntilCaughtUp`'s check, it only looks: it waits for no commit.
   */
  async drained(): Promise<boolean> {
    // Outputs first: once none is pending, the internal topics' ends read below include them.
    if (this.commits.pending() > 0 || this.commits.inProgress) return false;
    return this.tasks.readToEnd();
  }

  /**
   * The source positions of the last completed commit: every output of the
   * records before them is appended. Unlike `drained`, reachable under
   * steady input (a blue/green handover under live traffic).
   */
  committedPositions(): readonly TopicPartitionOffset[] {
    return this.commits.committed;
  }

  /**
   * Processes everything available now (including what this topology
   * writes to its own internal topics), commits and closes: `--once`.
   *
   * `endOfInput`: the input is bounded and ends here (a finite import
   * evaluated as a whole). Once caught up, the processors are told so
   * (`Processor.endOfInput`) stage by stage, readers of an internal topic
   * after its writers (internals/end-of-input-stages.ts); what they forward
   * is processed before the next round, and a stage ends when a round of it
   * forwards nothing. The state that results is committed like any other.
   * A later run on more input goes on from there: what was closed stays
   * closed.
   */
  async runUntilCaughtUp(options: { readonly endOfInput?: boolean } = {}): Promise<RunStats> {
    try {
      await this.catchUp(options);
    } finally {
      // A finished catch-up keeps its gauges: they report where it ended.
      await this.shutDown({ clean: true, keepGauges: true });
    }
    return this.progress();
  }

  /**
   * `runUntilCaughtUp` without the close: processes everything available
   * now and commits, and the runner stays open for another round. Stream
   * threads run rounds until one processes nothing on every thread, since
   * a thread's internal topics are also written by the other threads'
   * tasks. Returns what this round did.
   */
  async catchUp(options: { readonly endOfInput?: boolean } = {}): Promise<RunStats> {
    const before = this.progress();
    const stages = options.endOfInput === true ? this.tasks.endOfInputStages() : 0;
    let stage = 0;
    while (!this.stopping) {
      const polled = await this.cycle.step(0, false);
      if (polled === 0 && (await this.caughtUp())) {
        if (stage >= stages) break;
        if ((await this.tasks.endOfInput(stage)) === 0) stage++;
      }
    }
    await this.commits.commit();
    // The lag gauge is refreshed every few seconds only; a finished run reports where it ended.
    await this.metrics.updateLag(this.tasks);
    const after = this.progress();
    return {
      processed: after.processed - before.processed,
      deadLetters: after.deadLetters - before.deadLetters,
      commits: after.commits - before.commits,
    };
  }

  /** Records processed, dead-lettered and commits made so far. */
  progress(): RunStats {
    return {
      processed: this.cycle.processed,
      deadLetters: this.commits.deadLetters,
      commits: this.commits.commits,
    };
  }

  /**
   * The open state of the task for `partition`; undefined while the task is
   * (re)opening or when this runner does not run that partition. For
   * interactive queries (the in-process online store), which read committed
   * values only.
   */
  taskState(partition: number): TaskState | undefined {
    return this.tasks.slots.get(partition)?.state;
  }

  /** Asks the loop to finish its current batch, commit and exit. */
  stop(): void {
    this.stopping = true;
  }

  /** Closes every task without processing further (after `start`, for inspection such as `digest`). */
  async close(): Promise<void> {
    await this.shutDown({ clean: false, keepGauges: false });
  }

  /** Stable sha256 per store and task: `recstream state digest`. */
  async digest(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [partition, slot] of [...this.tasks.slots].sort((a, b) => a[0] - b[0])) {
      for (const [store, hash] of Object.entries(await slot.state.digest()))
        out[`${store}/${partition}`] = hash;
    }
    return out;
  }

  /**
   * Every way out of the runner: gauges removed (unless a finished catch-up
   * reports where it ended), the commit in flight settled before the state
   * under it closes, tasks, consumer and global tables closed.
   */
  private async shutDown(how: { clean: boolean; keepGauges: boolean }): Promise<void> {
    if (!how.keepGauges) this.metrics.removeGauges(this.tasks.slots.keys());
    await this.commits.settled();
    await this.tasks.close();
    if (how.clean) {
      this.options.logger.info(
        { ...this.progress(), namespace: this.metrics.labels.namespace },
        'runner closed',
      );
    }
    await this.globals.close();
  }

  private async takeReset(): Promise<void> {
    const request = this.pendingReset!;
    this.pendingReset = null;
    try {
      await this.resetTasks(request.from, request.rewritten);
      request.resolve();
    } catch (error) {
      request.reject(error);
      throw error;
    }
  }

  private async resetTasks(from: ReplayFrom, rewritten: ReadonlySet<string>): Promise<void> {
    await this.commits.discard();
    await this.tasks.reset(from, rewritten);
  }

  /**
   * Whether everything is processed and appended, committing to get there:
   * a commit in flight may still be appending outputs to topics this
   * topology reads, and pending outputs to its internal topics only become
   * visible once appended.
   */
  private async caughtUp(): Promise<boolean> {
    await this.commits.settled();
    if (!(await this.tasks.readToEnd())) return false;
    if (this.commits.pending() > 0) {
      await this.commits.commit();
      return this.caughtUp();
    }
    return true;
  }
}
