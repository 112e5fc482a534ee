/**
 * An embedded log as a stream thread uses it: records are read from the
 * log's files by this thread (a read-only `EmbeddedLog`, which takes no
 * lock), and everything else — appends, topic changes, ends, commits and
 * committed offsets — goes to the one writer through a {@link PortLog}.
 * A record read crosses no port and is never cloned, so the process's
 * main thread, which owns the writer, no longer serves every read of
 * every stream thread (docs/decisions.md §53). Appends are encoded into
 * the log's batch format here too, and their buffers moved to the writer,
 * which only gives them offsets and writes them: a record's bytes are
 * built once, on the thread that made it, and never cloned.
 *
 * What stays exact: `offsets` and `committedOffsets` are the writer's, so
 * a catch-up knows every partition's true end; a read that reaches the
 * end this thread saw looks at the files again (the writer has handed an
 * acknowledged append to the kernel, so it is there to read), so a record
 * the writer has acknowledged is always read.
 *
 * @example
 * ```ts
 * const reads = await EmbeddedLog.open(join(dataDir, 'log'), { readOnly: true });
 * const log = new SplitLog(reads, new PortLog(workerData.port, 'embedded'));
 * ```
 */
import { LogUsageError, TopicError } from '../../errors.js';
import type { EmbeddedLog } from '../embedded/embedded-log.js';
import { type EncodeTarget, encodeBatches } from '../embedded/encode.js';
import type {
  AppendAck,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogRecord,
  OutgoingRecord,
  PartitionOffsets,
  PollOptions,
  TopicInfo,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
} from '../log.js';
import type { PortLog } from './port-log.js';

export class SplitLog implements EventLog {
  readonly kind = 'embedded';
  /** What encoding a topic's batches needs, per topic appended to. */
  private readonly targets = new Map<string, EncodeTarget>();

  constructor(
    private readonly reads: EmbeddedLog,
    private readonly writes: PortLog,
  ) {}

  ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    return this.writes.ensureTopic(spec);
  }

  topics(): Promise<TopicInfo[]> {
    return this.writes.topics();
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    for (const name of names) this.targets.delete(name);
    return this.writes.deleteTopics(names);
  }

  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.writes.describeTopic(name);
  }

  /**
   * Encodes the records here and hands the writer the batches. Records
   * with neither key nor partition go to the writer as records, since it
   * deals them round-robin over the partitions, a count kept there; so do
   * records for a topic whose partition count changed since this thread
   * looked (deleted and made again), which it looks up afresh.
   */
  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    const target = await this.target(topic);
    if (target === undefined || (target.partitions > 1 && records.some(dealtByWriter)))
      return this.writes.append(topic, records);
    if (records.length === 0) return [];
    try {
      const batches = encodeBatches(target, records, Date.now());
      return await this.writes.appendEncoded(topic, target.partitions, batches);
    } catch (error) {
      if (!(error instanceof TopicError && error.code === 'PARTITION_COUNT_CHANGED')) throw error;
      this.targets.delete(topic);
      return this.writes.append(topic, records);
    }
  }

  /** The topic's encoding target, undefined while the topic does not exist (the writer says so). */
  private async target(topic: string): Promise<EncodeTarget | undefined> {
    const known = this.targets.get(topic);
    if (known !== undefined) return known;
    const info = await this.reads.describeTopic(topic);
    if (info === undefined) return undefined;
    const target = { name: info.name, partitions: info.partitions, compacted: info.compacted, roundRobin: 0 };
    this.targets.set(topic, target);
    return target;
  }

  offsets(topic: string): Promise<PartitionOffsets[]> {
    return this.writes.offsets(topic);
  }

  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    return this.writes.offsetForTimestamp(topic, partition, timestamp);
  }

  read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]> {
    return this.reads.read(topic, partition, offset, maxRecords);
  }

  async consumer(options: ConsumerOptions): Promise<LogConsumer> {
    return new SplitConsumer(await this.reads.consumer(options), options.group, this.writes);
  }

  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    return this.writes.commitOffsets(group, offsets);
  }

  committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    return this.writes.committedOffsets(group, topic);
  }

  /** Closes the reader and this end of the port; the writer stays open with its owner. */
  async close(): Promise<void> {
    await this.reads.close();
    await this.writes.close();
  }
}

/** A record the writer places: no key to hash and no partition given. */
function dealtByWriter(record: OutgoingRecord): boolean {
  return record.key === null && record.partition === undefined;
}

/** The reader's consumer, whose commits go to the writer. */
class SplitConsumer implements LogConsumer {
  private closed = false;

  constructor(
    private readonly reading: LogConsumer,
    private readonly group: string | undefined,
    private readonly writes: PortLog,
  ) {}

  assignment(): readonly TopicPartition[] {
    return this.reading.assignment();
  }

  position(topic: string, partition: number): number {
    return this.reading.position(topic, partition);
  }

  seek(topic: string, partition: number, offset: number): void {
    this.reading.seek(topic, partition, offset);
  }

  poll(options?: PollOptions): Promise<LogRecord[]> {
    return this.reading.poll(options);
  }

  async commit(offsets?: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.closed) throw new LogUsageError('consumer is closed');
    if (this.group === undefined) return this.reading.commit(offsets);
    const positions =
      offsets ??
      this.reading.assignment().map(({ topic, partition }) => ({
        topic,
        partition,
        offset: this.reading.position(topic, partition),
      }));
    await this.writes.commitOffsets(this.group, positions);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.reading.close();
  }
}
