/**
 * One turn of a StreamRunner's loop (Kafka Streams' StreamThread.runOnce):
 * poll, process the batch (a record its task refuses becomes a dead
 * letter), fire wall-clock punctuations, and start a commit in the
 * background when one is due. The runner's lifecycle — retries, resets,
 * shutdown — is the runner's; this is the per-record path, so it allocates
 * nothing per record beyond what the tasks do.
 */
import type { Logger } from 'pino';
import type { LogRecord } from '../../log/log.js';
import { deadLetterFor, describeFailure } from '../../processor/dead-letter.js';
import type { GlobalTables } from '../../processor/internals/global-tables.js';
import type { Topology } from '../../processor/topology.js';
import type { TopicCatalogue } from '../../topics/topic-catalogue.js';
import type { Pacing } from '../runner-options.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { RunnerMetrics } from './runner-metrics.js';
import type { TaskManager } from './task-manager.js';

/** How long a poll waits when nothing awaits a commit (it also bounds how late `stop()` is seen). */
const IDLE_POLL_MS = 100;
/** Outputs held in memory past which processing waits for the commit in flight and starts the next one. */
const MAX_PENDING_OUTPUTS = 50_000;

export interface PollCycleOptions {
  readonly topology: Topology;
  /** Names the topics of a dead letter's message (a key on a user-keyed topic is hashed). */
  readonly topics: TopicCatalogue;
  readonly logger: Logger;
}

export class PollCycle {
  private processedCount = 0;
  /** Stores keyed like their input: their values for a whole batch are read ahead in one go. */
  private readonly prefetchStores: readonly string[];

  constructor(
    private readonly options: PollCycleOptions,
    private readonly pacing: Pacing,
    private readonly tasks: TaskManager,
    private readonly commits: CommitPipeline,
    private readonly globals: GlobalTables,
    private readonly metrics: RunnerMetrics,
  ) {
    this.prefetchStores = options.topology.stores.filter((s) => s.keyedByRecordKey).map((s) => s.name);
  }

  /** Records processed since the runner started. */
  get processed(): number {
    return this.processedCount;
  }

  /**
   * With records awaiting a commit, a poll waits no longer than until the
   * commit is due, nor than the idle time that lets it start early: a poll
   * blocked for the full 100 ms would hold a processed record back that long.
   */
  pollTimeoutMs(): number {
    if (this.commits.uncommitted === 0) return IDLE_POLL_MS;
    const idle = this.pacing.commitIdleMs > 0 ? this.pacing.commitIdleMs : IDLE_POLL_MS;
    // No commit can start before the one in flight ends: a zero timeout would only spin.
    if (this.commits.inProgress) return idle;
    const due = this.commits.lastCommit + this.pacing.commitIntervalMs - Date.now();
    return Math.max(0, Math.min(due, idle));
  }

  /**
   * One poll and its batch; returns the records polled. `commitWhenIdle`:
   * an empty poll with uncommitted records starts a commit.
   */
  async step(timeoutMs: number, commitWhenIdle: boolean): Promise<number> {
    await this.globals.catchUp();
    const records = await this.tasks.consumer.poll({ maxRecords: this.pacing.maxPollRecords, timeoutMs });
    if (records.length > 0) await this.processBatch(records);
    const idle = commitWhenIdle && records.length === 0 && this.commits.uncommitted > 0;
    const now = Date.now();
    for (const slot of this.tasks.slots.values()) await slot.task.punctuateWallClock(now);
    this.commits.throwIfFailed();
    if (this.commits.pending() > MAX_PENDING_OUTPUTS) await this.commits.settled();
    if (
      !this.commits.inProgress &&
      (idle ||
        now - this.commits.lastCommit >= this.pacing.commitIntervalMs ||
        this.commits.pending() > MAX_PENDING_OUTPUTS)
    ) {
      this.commits.startInBackground();
    }
    return records.length;
  }

  private async processBatch(records: LogRecord[]): Promise<void> {
    const started = process.hrtime.bigint();
    if (this.prefetchStores.length > 0) await this.tasks.prefetch(records, this.prefetchStores);
    for (const record of records) {
      const slot = this.tasks.slots.get(record.partition);
      if (slot === undefined) continue;
      const failure = await slot.task.process(record);
      if (failure !== undefined) {
        this.commits.addDeadLetter(deadLetterFor(record, failure.error, failure.node, this.options.topics));
        this.options.logger.warn(
          {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            node: failure.node,
            err: describeFailure(record, failure.error, this.options.topics),
          },
          'record sent to the dead-letter topic',
        );
      }
      slot.offsets.set(record.topic, record.offset + 1);
    }
    this.processedCount += records.length;
    this.commits.processed(records.length);
    this.metrics.batchProcessed(records, started);
  }
}
