/**
 * The commit side of a StreamRunner (Kafka Streams' RecordCollector and
 * the commit half of its TaskManager): collects dead letters beside the
 * tasks' outputs and commits them in the order the runner's contract gives
 * (outputs and dead letters appended, then each task's state with its
 * offsets, then the group's offsets). One commit may be in flight while
 * processing goes on; its failure surfaces at the next check.
 */
import type { Logger } from 'pino';
import type { EventLog, LogConsumer, TopicPartitionOffset } from '../../log/log.js';
import { type DeadLetter, type DeadLetterSerializer, DLQ_TOPIC } from '../../processor/dead-letter.js';
import {
  groupByTopic,
  type PendingOutput,
  type ResolvedOutput,
} from '../../processor/internals/pending-output.js';
import type { RunnerMetrics } from './runner-metrics.js';
import type { TaskManager } from './task-manager.js';

export interface CommitPipelineOptions {
  readonly log: EventLog;
  readonly deadLetters: DeadLetterSerializer;
  readonly logger: Logger;
  /** Topics this topology reads itself: written even while outputs are muted. */
  readonly internal: ReadonlySet<string>;
  readonly outputsMuted?: () => boolean;
}

export class CommitPipeline {
  private letters: DeadLetter[] = [];
  /** The commit started in the background and still writing. */
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;
  /** Records processed since the last commit started. */
  private uncommittedRecords = 0;
  private lastCommitAt = Date.now();
  private lastPositions: readonly TopicPartitionOffset[] = [];
  private commitCount = 0;
  private deadLetterCount = 0;
  /**
   * The group offsets `groupConsumer` has committed, by topic and partition:
   * a commit sends only the positions that moved since, as Kafka Streams
   * commits only tasks that need it, so an idle application sends the
   * broker no OffsetCommit at all.
   */
  private groupOffsets = new Map<string, number>();
  private groupConsumer: LogConsumer | null = null;

  constructor(
    private readonly options: CommitPipelineOptions,
    private readonly tasks: TaskManager,
    private readonly metrics: RunnerMetrics,
  ) {}

  /** Commits completed. */
  get commits(): number {
    return this.commitCount;
  }

  /** Dead letters appended. */
  get deadLetters(): number {
    return this.deadLetterCount;
  }

  get uncommitted(): number {
    return this.uncommittedRecords;
  }

  /** When the last commit completed (epoch ms; the pipeline's creation before any). */
  get lastCommit(): number {
    return this.lastCommitAt;
  }

  /** The source positions of the last completed commit. */
  get committed(): readonly TopicPartitionOffset[] {
    return this.lastPositions;
  }

  get inProgress(): boolean {
    return this.inFlight !== null;
  }

  processed(records: number): void {
    this.uncommittedRecords += records;
  }

  addDeadLetter(letter: DeadLetter): void {
    this.letters.push(letter);
  }

  /** Outputs and dead letters not yet handed to a commit. */
  pending(): number {
    return this.letters.length + this.tasks.pendingOutputs();
  }

  /** Waits for the commit in flight, if any, to settle. */
  async settled(): Promise<void> {
    if (this.inFlight) await this.inFlight;
  }

  /** Rethrows, once, the failure of a commit that ran in the background. */
  throwIfFailed(): void {
    if (this.failure === null) return;
    const error = this.failure;
    this.failure = null;
    throw error;
  }

  /** Starts a commit that runs while processing goes on; see `throwIfFailed`. */
  startInBackground(): void {
    this.inFlight = this.start().then(
      () => {
        this.inFlight = null;
      },
      (error: unknown) => {
        this.inFlight = null;
        this.failure = error;
      },
    );
  }

  /** Waits for the commit in flight, then commits everything processed since. */
  async commit(): Promise<void> {
    await this.settled();
    this.throwIfFailed();
    await this.start();
  }

  /** Drops every output and dead letter not committed yet, once the commit in flight has settled. */
  async discard(): Promise<void> {
    this.tasks.dropOutputs();
    this.letters = [];
    await this.settled();
    this.failure = null;
    this.uncommittedRecords = 0;
  }

  /**
   * Takes a snapshot of every task's outputs, dead letters, pending store
   * writes and input offsets synchronously, then writes them in order:
   * outputs first, then each task's state (which waits for the outputs).
   * Processing may continue while the returned promise is pending; what it
   * does belongs to the next commit.
   */
  private start(): Promise<void> {
    const started = process.hrtime.bigint();
    this.uncommittedRecords = 0;
    const outputs: PendingOutput[] = [];
    const muted = this.options.outputsMuted?.() ?? false;
    for (const slot of this.tasks.slots.values()) {
      for (const out of slot.task.outputs)
        if (!muted || this.options.internal.has(out.topic)) outputs.push(out);
      slot.task.outputs.length = 0;
    }
    const letters = muted ? [] : this.letters;
    this.letters = [];
    const written = this.appendOutputs(outputs, letters);
    // Each commit snapshots its store writes and offsets now, and writes them once `written` resolves.
    const commits = [...this.tasks.slots.values()].map((slot) =>
      slot.state.commit(slot.task.committablePositions(slot.offsets), written),
    );
    const positions = this.tasks.positions();
    return Promise.all([written, ...commits]).then(() => this.afterCommit(positions, started));
  }

  private async afterCommit(positions: TopicPartitionOffset[], started: bigint): Promise<void> {
    try {
      await this.commitGroupOffsets(positions);
    } catch (error) {
      // Group offsets only feed lag dashboards; state carries the real positions.
      this.options.logger.warn({ err: error }, 'consumer group commit failed; lag metrics may be stale');
    }
    this.commitCount++;
    this.lastPositions = positions;
    this.lastCommitAt = Date.now();
    await this.metrics.committed(started, this.tasks, this.lastCommitAt);
  }

  /** Commits the positions that moved since this consumer's last group commit; a new consumer (a reopen) commits them all. */
  private async commitGroupOffsets(positions: readonly TopicPartitionOffset[]): Promise<void> {
    const consumer = this.tasks.consumer;
    if (consumer !== this.groupConsumer) {
      this.groupOffsets = new Map();
      this.groupConsumer = consumer;
    }
    const moved = positions.filter((p) => this.groupOffsets.get(partitionKey(p)) !== p.offset);
    if (moved.length === 0) return;
    await consumer.commit(moved);
    for (const p of moved) this.groupOffsets.set(partitionKey(p), p.offset);
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
        this.metrics.deadLettered(letter);
      }
      byTopic.set(DLQ_TOPIC, list);
      this.deadLetterCount += letters.length;
    }
    for (const [topic, records] of byTopic) {
      await this.options.log.append(topic, records);
      this.metrics.appended(topic, records.length);
    }
  }
}

/** A topic name holds no ':' (Kafka allows letters, digits, '.', '_' and '-'). */
function partitionKey(p: TopicPartitionOffset): string {
  return `${p.topic}:${p.partition}`;
}
