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
 * 3. the consumer group's offsets are committed, for lag monitoring only.
 *
 * On start every task resumes from the offsets stored *with its state*,
 * never from the group's offsets, which is what makes state effectively-once.
 *
 * @example
 * ```ts
 * const runner = await StreamRunner.start({ topology, log, stateDir, engine: 'rocksdb', deadLetters, logger });
 * process.once('SIGTERM', () => runner.stop());
 * await runner.run();          // or: await runner.runUntilCaughtUp();
 * ```
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isRetriable, TopologyError } from '../errors.js';
import type { EventLog, LogConsumer, LogRecord, TopicPartitionOffset } from '../log/log.js';
import type { RuntimeMetrics } from '../observability/metrics.js';
import { TaskState } from '../state/task-state.js';
import { type DeadLetter, type DeadLetterSerializer, DLQ_TOPIC, deadLetterFor } from './dead-letter.js';
import { GlobalTables } from './global-tables.js';
import { internalTopics } from './namespace.js';
import { prepareTopics } from './prepare-topics.js';
import { type ReplayFrom, resetOffsets, rewrittenTopics } from './reset.js';
import { groupByTopic, type PendingOutput, type ResolvedOutput, Task } from './task.js';
import type { Topology } from './topology.js';

export interface RunnerOptions {
  readonly topology: Topology;
  readonly log: EventLog;
  /** Directory for this application's task state (`<dataDir>/state/<applicationId>`). */
  readonly stateDir: string;
  readonly engine: 'rocksdb' | 'memory';
  readonly deadLetters: DeadLetterSerializer;
  readonly logger: Logger;
  readonly commitIntervalMs?: number;
  /**
   * In `run()`, a commit starts early once the input has been idle this
   * long with processed records not yet committed, so a view is visible a
   * few milliseconds after a lone event instead of up to a commit interval
   * later; under steady input the interval alone paces commits. 0 disables.
   * Default 10.
   */
  readonly commitIdleMs?: number;
  /** Records per poll. */
  readonly maxPollRecords?: number;
  /** Only run the tasks of these partitions (scale-out by partition sets); default all. */
  readonly partitions?: readonly number[];
  /** Where a task with no committed state starts. Default earliest (Kafka Streams' default). */
  readonly resetTo?: 'earliest' | 'latest';
  readonly metrics?: RuntimeMetrics;
  /** Progress of changelog restores, per store. */
  readonly onRestore?: (store: string, partition: number, restored: number, total: number) => void;
  /**
   * The state namespace this instance runs in (namespace.ts); the topology
   * and state dir given are already that namespace's. Names the consumer
   * group `<applicationId>@<namespace>`, so the group offsets of a blue and
   * a green instance stay apart.
   */
  readonly namespace?: string;
  /**
   * While it returns true, outputs to topics this topology does not read
   * itself (training examples, dead letters) are dropped at commit: a
   * green instance rebuilding history must not emit it again. Asked at each
   * commit. Internal topics are always written.
   */
  readonly outputsMuted?: () => boolean;
}

export interface RunStats {
  readonly processed: number;
  readonly deadLetters: number;
  readonly commits: number;
}

interface TaskSlot {
  readonly task: Task;
  readonly state: TaskState;
  readonly offsets: Map<string, number>;
}

const BACKOFF_MS = [100, 250, 500, 1000, 2000, 5000];
/** How long `run()` waits in a poll when nothing awaits a commit (it also bounds how late `stop()` is seen). */
const IDLE_POLL_MS = 100;

export class StreamRunner {
  private tasks = new Map<number, TaskSlot>();
  private consumer!: LogConsumer;
  private letters: DeadLetter[] = [];
  private stopping = false;
  private stats = { processed: 0, deadLetters: 0, commits: 0 };
  private lastCommit = Date.now();
  /** The commit started by the loop and still writing; processing goes on meanwhile. */
  private inFlight: Promise<void> | null = null;
  private inFlightError: unknown = null;
  private readonly prefetchStores: readonly string[];
  private lastLagCheck = 0;
  private readonly commitIntervalMs: number;
  private readonly commitIdleMs: number;
  /** Records processed since the last commit started. */
  private uncommitted = 0;
  private readonly labels: { application: string; namespace: string };
  private readonly internal: ReadonlySet<string>;
  private running = false;
  private committed: readonly TopicPartitionOffset[] = [];
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
    this.commitIntervalMs = options.commitIntervalMs ?? 100;
    this.commitIdleMs = options.commitIdleMs ?? 10;
    this.prefetchStores = options.topology.stores.filter((s) => s.keyedByRecordKey).map((s) => s.name);
    this.labels = { application: options.topology.applicationId, namespace: options.namespace ?? 'default' };
    this.internal = internalTopics(options.topology);
  }

  /** Validates topics, creates internal ones, restores state, and positions the consumer. */
  static async start(options: RunnerOptions): Promise<StreamRunner> {
    const partitions = await prepareTopics(options.topology, options.log);
    // Global tables are read to their end before any task processes a record.
    const globals = await GlobalTables.open(options.topology.globalTables, options.log, options.logger);
    const runner = new StreamRunner(options, partitions, globals);
    try {
      await runner.openTasks();
    } catch (error) {
      await globals.close();
      throw error;
    }
    return runner;
  }

  /** Processes until stop() is called (SIGTERM), then drains, commits and closes. */
  async run(): Promise<RunStats> {
    let failures = 0;
    this.running = true;
    while (!this.stopping) {
      try {
        if (this.pendingReset) await this.takeReset();
        await this.step(this.pollTimeoutMs(), this.commitIdleMs > 0);
        failures = 0;
      } catch (error) {
        if (!isRetriable(error)) {
          this.running = false;
          this.removeGauges();
          await this.closeTasks(false);
          await this.globals.close();
          throw error;
        }
        const delay = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]!;
        this.options.logger.warn(
          { err: error, delayMs: delay },
          'retriable failure; resuming from the last commit',
        );
        await sleep(delay);
        await this.reopenTasks();
      }
    }
    this.running = false;
    this.pendingReset?.reject(new TopologyError('the runner stopped before the requested reset'));
    this.pendingReset = null;
    await this.commit();
    this.removeGauges();
    await this.closeTasks(true);
    await this.globals.close();
    return { ...this.stats };
  }

  /**
   * Resets every task of this runner for a replay: uncommitted work is
   * dropped, each task's state is wiped durably (changelog tombstones and a
   * `wipe` marker, see TaskState.wipe) and its inputs are repositioned to
   * `from` (the topics in `rewritten` to their end, default this topology's
   * own sink topics: see reset.ts). While `run()` is
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
    return this.consumer
      .assignment()
      .map((tp) => ({ ...tp, offset: this.consumer.position(tp.topic, tp.partition) }));
  }

  /**
   * Whether, at this moment, every output is appended and every source
   * partition of this runner, internal topics included, is read to its end:
   * what a replay beside the running loop waits for before reporting done.
   */
  async drained(): Promise<boolean> {
    // Outputs first: once none is pending, the internal topics' ends read below include them.
    if (this.pendingOutputs() > 0 || this.inFlight !== null) return false;
    for (const topic of this.options.topology.sourceTopics()) {
      for (const p of await this.options.log.offsets(topic)) {
        if (this.tasks.has(p.partition) && this.consumer.position(topic, p.partition) < p.end) return false;
      }
    }
    return true;
  }

  /**
   * The source positions of the last completed commit: every output of the
   * records before them is appended. Unlike `drained`, reachable under
   * steady input (a blue/green handover under live traffic).
   */
  committedPositions(): readonly TopicPartitionOffset[] {
    return this.committed;
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
    const partitions = [...this.tasks.keys()];
    for (const slot of this.tasks.values()) slot.task.outputs.length = 0;
    this.letters = [];
    await this.closeTasks(false);
    this.inFlightError = null;
    for (const partition of partitions) {
      const state = await this.openState(partition);
      try {
        await state.wipe();
        await state.commit(
          await resetOffsets(this.options.topology, this.options.log, partition, from, rewritten),
        );
      } finally {
        await state.close();
      }
    }
    this.options.logger.info({ partitions, from }, 'tasks reset for a replay');
    await this.openTasks();
  }

  /**
   * Processes everything available now (including what this topology
   * writes to its own internal topics), commits and closes: `--once`.
   */
  async runUntilCaughtUp(): Promise<RunStats> {
    try {
      while (!this.stopping) {
        const polled = await this.step(0, false);
        if (polled === 0 && (await this.caughtUp())) break;
      }
      await this.commit();
      // The lag gauge is refreshed every few seconds only; a finished run reports where it ended.
      if (this.options.metrics) await this.updateLag(this.options.metrics);
    } finally {
      await this.closeTasks(true);
      await this.globals.close();
    }
    return { ...this.stats };
  }

  /** Records processed, dead-lettered and commits made so far. */
  progress(): RunStats {
    return { ...this.stats };
  }

  /**
   * The open state of the task for `partition`; undefined while the task is
   * (re)opening or when this runner does not run that partition. For
   * interactive queries (the in-process online store), which read committed
   * values only.
   */
  taskState(partition: number): TaskState | undefined {
    return this.tasks.get(partition)?.state;
  }

  /** Asks the loop to finish its current batch, commit and exit. */
  stop(): void {
    this.stopping = true;
  }

  /** Closes every task without processing further (after `start`, for inspection such as `digest`). */
  async close(): Promise<void> {
    this.removeGauges();
    await this.closeTasks(false);
    await this.globals.close();
  }

  /**
   * A stopped runner's last lag and store sizes would otherwise stay on the
   * dashboards (a retired blue instance). `runUntilCaughtUp` keeps them: a
   * finished catch-up reports where it ended.
   */
  private removeGauges(): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    for (const partition of this.tasks.keys()) {
      for (const store of this.options.topology.stores)
        metrics.storeEntries.remove({ ...this.labels, store: store.name, partition: String(partition) });
      for (const topic of this.options.topology.sourceTopics())
        metrics.lag.remove({ ...this.labels, topic, partition: String(partition) });
    }
  }

  /** Stable sha256 per store and task: `recstream state digest`. */
  async digest(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [partition, slot] of [...this.tasks].sort((a, b) => a[0] - b[0])) {
      for (const [store, hash] of Object.entries(await slot.state.digest()))
        out[`${store}/${partition}`] = hash;
    }
    return out;
  }

  /**
   * With records awaiting a commit, a poll waits no longer than until the
   * commit is due, nor than the idle time that lets it start early: a poll
   * blocked for the full 100 ms would hold a processed record back that long.
   */
  private pollTimeoutMs(): number {
    if (this.uncommitted === 0) return IDLE_POLL_MS;
    const idle = this.commitIdleMs > 0 ? this.commitIdleMs : IDLE_POLL_MS;
    // No commit can start before the one in flight ends: a zero timeout would only spin.
    if (this.inFlight !== null) return idle;
    const due = this.lastCommit + this.commitIntervalMs - Date.now();
    return Math.max(0, Math.min(due, idle));
  }

  /** One poll and its batch; `commitWhenIdle`: an empty poll with uncommitted records starts a commit. */
  private async step(timeoutMs: number, commitWhenIdle: boolean): Promise<number> {
    await this.globals.catchUp();
    const records = await this.consumer.poll({ maxRecords: this.options.maxPollRecords ?? 2000, timeoutMs });
    if (records.length > 0) await this.processBatch(records);
    const idle = commitWhenIdle && records.length === 0 && this.uncommitted > 0;
    const now = Date.now();
    for (const slot of this.tasks.values()) await slot.task.punctuateWallClock(now);
    if (this.inFlightError !== null) {
      const error = this.inFlightError;
      this.inFlightError = null;
      throw error;
    }
    if (this.pendingOutputs() > 50_000 && this.inFlight) await this.inFlight;
    if (
      this.inFlight === null &&
      (idle || now - this.lastCommit >= this.commitIntervalMs || this.pendingOutputs() > 50_000)
    ) {
      this.inFlight = this.startCommit().then(
        () => {
          this.inFlight = null;
        },
        (error: unknown) => {
          this.inFlight = null;
          this.inFlightError = error;
        },
      );
    }
    return records.length;
  }

  private async processBatch(records: LogRecord[]): Promise<void> {
    const started = process.hrtime.bigint();
    const metrics = this.options.metrics;
    if (this.prefetchStores.length > 0) await this.prefetch(records);
    for (const record of records) {
      const slot = this.tasks.get(record.partition);
      if (slot === undefined) continue;
      const failure = await slot.task.process(record);
      if (failure !== undefined) {
        this.letters.push(deadLetterFor(record, failure.error, failure.node));
        this.options.logger.warn(
          {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            node: failure.node,
            err: failure.error,
          },
          'record sent to the dead-letter topic',
        );
      }
      slot.offsets.set(record.topic, record.offset + 1);
    }
    this.stats.processed += records.length;
    this.uncommitted += records.length;
    if (metrics) {
      metrics.processLatency.observe(
        { ...this.labels, processor: 'all' },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      countByTopic(records, (topic, n) => metrics.recordsIn.inc({ ...this.labels, topic }, n));
    }
  }

  /** One engine read per task for the batch's uncached keys, instead of one per miss during processing. */
  private async prefetch(records: readonly LogRecord[]): Promise<void> {
    const keys = new Map<number, string[]>();
    for (const r of records) {
      if (r.key === null) continue;
      let list = keys.get(r.partition);
      if (!list) {
        list = [];
        keys.set(r.partition, list);
      }
      list.push(r.key);
    }
    await Promise.all(
      [...keys].map(([partition, list]) =>
        this.tasks.get(partition)?.state.prefetch(list, this.prefetchStores),
      ),
    );
  }

  private pendingOutputs(): number {
    let n = this.letters.length;
    for (const slot of this.tasks.values()) n += slot.task.outputs.length;
    return n;
  }

  /** Waits for the loop's commit in flight, then commits everything processed since. */
  private async commit(): Promise<void> {
    if (this.inFlight) await this.inFlight;
    if (this.inFlightError !== null) {
      const error = this.inFlightError;
      this.inFlightError = null;
      throw error;
    }
    await this.startCommit();
  }

  /**
   * Takes a snapshot of every task's outputs, dead letters, pending store
   * writes and input offsets synchronously, then writes them in order:
   * outputs first, then each task's state (which waits for the outputs).
   * Processing may continue while the returned promise is pending; what it
   * does belongs to the next commit.
   */
  private startCommit(): Promise<void> {
    const started = process.hrtime.bigint();
    this.uncommitted = 0;
    const outputs: PendingOutput[] = [];
    const muted = this.options.outputsMuted?.() ?? false;
    for (const slot of this.tasks.values()) {
      for (const out of slot.task.outputs) if (!muted || this.internal.has(out.topic)) outputs.push(out);
      slot.task.outputs.length = 0;
    }
    const letters = muted ? [] : this.letters;
    this.letters = [];
    const written = this.appendOutputs(outputs, letters);
    // Each commit snapshots its store writes and offsets now, and writes them once `written` resolves.
    const commits = [...this.tasks.values()].map((slot) =>
      slot.state.commit(slot.task.committablePositions(slot.offsets), written),
    );
    const positions = this.consumer
      .assignment()
      .map((tp) => ({ ...tp, offset: this.consumer.position(tp.topic, tp.partition) }));
    return Promise.all([written, ...commits]).then(() => this.afterCommit(positions, started));
  }

  private async afterCommit(positions: TopicPartitionOffset[], started: bigint): Promise<void> {
    try {
      await this.consumer.commit(positions);
    } catch (error) {
      // Group offsets only feed lag dashboards; state carries the real positions.
      this.options.logger.warn({ err: error }, 'consumer group commit failed; lag metrics may be stale');
    }
    this.stats.commits++;
    this.committed = positions;
    this.lastCommit = Date.now();
    const metrics = this.options.metrics;
    if (!metrics) return;
    metrics.commits.inc(this.labels);
    metrics.commitLatency.observe(this.labels, Number(process.hrtime.bigint() - started) / 1e9);
    for (const [partition, slot] of this.tasks) {
      for (const store of this.options.topology.stores) {
        const count = slot.state.approximateCount(store.name);
        metrics.storeEntries.set({ ...this.labels, store: store.name, partition: String(partition) }, count);
      }
    }
    if (this.lastCommit - this.lastLagCheck > 5000) await this.updateLag(metrics);
  }

  private async appendOutputs(
    outputs: readonly PendingOutput[],
    letters: readonly DeadLetter[],
  ): Promise<void> {
    const byTopic = new Map<string, ResolvedOutput[]>();
    await groupByTopic(outputs, byTopic);
    if (letters.length > 0) {
      const list: ResolvedOutput[] = [];
      for (const letter of letters) {
        const value = await this.options.deadLetters.serialize(letter, DLQ_TOPIC);
        list.push({
          key: letter.source_topic,
          value,
          timestamp: letter.failed_ts,
          headers: undefined,
          partition: undefined,
        });
        this.options.metrics?.deadLetters.inc({
          ...this.labels,
          topic: letter.source_topic,
          code: letter.error_code,
        });
      }
      byTopic.set(DLQ_TOPIC, list);
      this.stats.deadLetters += letters.length;
    }
    for (const [topic, records] of byTopic) {
      await this.options.log.append(topic, records);
      this.options.metrics?.recordsOut.inc({ ...this.labels, topic }, records.length);
    }
  }

  private async updateLag(metrics: RuntimeMetrics): Promise<void> {
    this.lastLagCheck = Date.now();
    for (const topic of this.options.topology.sourceTopics()) {
      for (const p of await this.options.log.offsets(topic)) {
        if (!this.tasks.has(p.partition)) continue;
        const lag = Math.max(0, p.end - this.consumer.position(topic, p.partition));
        metrics.lag.set({ ...this.labels, topic, partition: String(p.partition) }, lag);
      }
    }
  }

  private async caughtUp(): Promise<boolean> {
    // A commit in flight may still be appending outputs to topics this topology reads.
    if (this.inFlight) await this.inFlight;
    for (const topic of this.options.topology.sourceTopics()) {
      for (const p of await this.options.log.offsets(topic)) {
        if (this.tasks.has(p.partition) && this.consumer.position(topic, p.partition) < p.end) return false;
      }
    }
    // Outputs to internal topics read by this topology only become visible once appended.
    if (this.pendingOutputs() > 0) {
      await this.commit();
      return this.caughtUp();
    }
    return true;
  }

  private async openTasks(): Promise<void> {
    const { topology, log, logger } = this.options;
    const wanted = this.options.partitions ?? Array.from({ length: this.partitionCount }, (_, i) => i);
    for (const partition of wanted) {
      if (partition < 0 || partition >= this.partitionCount) {
        throw new TopologyError(
          `partition ${partition} does not exist: source topics have ${this.partitionCount} partitions`,
        );
      }
      const state = await this.openState(partition);
      const task = new Task(topology, partition, (name) => state.store(name), logger, {
        partitionCount: this.partitionCount,
        globalTable: (name) => this.globals.view(name),
      });
      await task.init();
      this.tasks.set(partition, { task, state, offsets: new Map(state.committedInputOffsets()) });
    }
    this.consumer = await log.consumer({
      topics: topology.sourceTopics(),
      group:
        this.options.namespace === undefined
          ? topology.applicationId
          : `${topology.applicationId}@${this.options.namespace}`,
      from: this.options.resetTo ?? 'earliest',
      partitions: wanted,
    });
    for (const [partition, slot] of this.tasks) {
      for (const [topic, offset] of slot.offsets) this.consumer.seek(topic, partition, offset);
    }
  }

  private openState(partition: number): Promise<TaskState> {
    const { topology, log, logger } = this.options;
    const counted = new Map<string, number>();
    return TaskState.open({
      dir: join(this.options.stateDir, String(partition)),
      engine: this.options.engine,
      log,
      applicationId: topology.applicationId,
      partition,
      stores: topology.stores.map((s) => ({
        name: s.name,
        codec: s.codec,
        changelogTopic: s.changelogTopic,
        cacheEntries: s.cacheEntries,
      })),
      logger,
      onRestoreProgress: (store, restored, total) => {
        // Progress is cumulative per store; the counter takes what this report adds.
        const added = restored - (counted.get(store) ?? 0);
        counted.set(store, restored);
        if (added > 0) this.options.metrics?.restoredRecords.inc({ ...this.labels, store }, added);
        this.options.onRestore?.(store, partition, restored, total);
      },
    });
  }

  private async closeTasks(clean: boolean): Promise<void> {
    // A commit still writing must settle before its state is closed under it.
    if (this.inFlight) await this.inFlight;
    for (const slot of this.tasks.values()) {
      await slot.task.close();
      await slot.state.close();
    }
    this.tasks.clear();
    this.uncommitted = 0;
    if (this.consumer) await this.consumer.close();
    if (clean) this.options.logger.info({ ...this.stats, namespace: this.labels.namespace }, 'runner closed');
  }

  /** Drops uncommitted work and resumes every task from its last commit. */
  private async reopenTasks(): Promise<void> {
    for (const slot of this.tasks.values()) slot.task.outputs.length = 0;
    this.letters = [];
    await this.closeTasks(false);
    this.inFlightError = null;
    await this.openTasks();
  }
}

function countByTopic(records: readonly LogRecord[], report: (topic: string, n: number) => void): void {
  let topic = records[0]!.topic;
  let n = 0;
  for (const r of records) {
    if (r.topic !== topic) {
      report(topic, n);
      topic = r.topic;
      n = 0;
    }
    n++;
  }
  report(topic, n);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
