/**
 * The event log port. Processors, tools and producers talk only to this
 * interface; `embedded/` (files in the data dir) and `kafka/` (kafkajs) are
 * its back-ends and both pass `log.contract.ts`.
 *
 * Offsets are plain numbers (safe integers, 2^53 records per partition is
 * more than any partition will hold). Keys are UTF-8 strings; a null value
 * is a tombstone.
 *
 * @example
 * ```ts
 * const log = await openLog(config);
 * await log.ensureTopic({ name: 'rec.items', partitions: 4, compacted: true });
 * await log.append('rec.items', [{ key: 'i1', value: bytes }]);
 * const consumer = await log.consumer({ topics: ['rec.items'], from: 'earliest' });
 * const batch = await consumer.poll({ maxRecords: 500, timeoutMs: 100 });
 * ```
 */

/** How a topic is laid out and kept. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Keep only the last value per key (plus tombstones for a while), like `cleanup.policy=compact`. */
  readonly compacted?: boolean;
  /** Delete whole segments older than this (event-stream topics). Unset: keep forever. */
  readonly retentionMs?: number;
  /** Delete the oldest whole segments once a partition is larger than this. Unset: no size limit. */
  readonly retentionBytes?: number;
}

/** A topic as it exists in the log. */
export interface TopicInfo {
  readonly name: string;
  readonly partitions: number;
  readonly compacted: boolean;
}

/** String headers travel with a record (trace ids, changelog markers). */
export type RecordHeaders = Readonly<Record<string, string>>;

/** A record to append. */
export interface OutgoingRecord {
  readonly key: string | null;
  /** null is a tombstone. */
  readonly value: Buffer | null;
  /** Event time in epoch milliseconds; defaults to the append time. */
  readonly timestamp?: number;
  /** Explicit partition; otherwise Kafka's default partitioner on the key (murmur2), round-robin for null keys. */
  readonly partition?: number;
  readonly headers?: RecordHeaders;
}

/** A record read from the log. */
export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeaders | undefined;
}

/** What an acknowledged append wrote to one partition. */
export interface AppendAck {
  readonly partition: number;
  /** Offset of the first record written to this partition by the call. */
  readonly baseOffset: number;
  readonly count: number;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read (Kafka's committed-offset convention). */
  readonly offset: number;
}

/** The live range of a partition: `start` is the first readable offset, `end` the next offset to be written. */
export interface PartitionOffsets {
  readonly partition: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Where a consumer starts on a partition with no explicit seek:
 * - `earliest` / `latest`: the partition's start / end;
 * - `committed`: the group's committed offset, else `earliest`;
 * - `{ timestamp }`: the first record whose timestamp is >= it.
 */
export type StartPosition = 'earliest' | 'latest' | 'committed' | { readonly timestamp: number };

export interface ConsumerOptions {
  readonly topics: readonly string[];
  /** Consumer group; needed for `committed` and for `commit()`. */
  readonly group?: string;
  readonly from?: StartPosition;
  /** Only these partitions (of every topic); default all. */
  readonly partitions?: readonly number[];
}

export interface PollOptions {
  /** Upper bound on records returned. Default 1000. */
  readonly maxRecords?: number;
  /** How long to wait for new records when caught up (tail-following). Default 0: return at once. */
  readonly timeoutMs?: number;
}

/**
 * A pull consumer over a fixed assignment. `poll` returns records in offset
 * order per partition and follows the tail: when caught up it waits up to
 * `timeoutMs` for new appends.
 */
export interface LogConsumer {
  assignment(): readonly TopicPartition[];
  /** The next offset `poll` will return for a partition. */
  position(topic: string, partition: number): number;
  seek(topic: string, partition: number, offset: number): void;
  poll(options?: PollOptions): Promise<LogRecord[]>;
  /** Commits the group's offsets: the given ones, or the current positions. */
  commit(offsets?: readonly TopicPartitionOffset[]): Promise<void>;
  close(): Promise<void>;
}

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  /** Creates the topic if missing; an existing topic with another partition count is an error. */
  ensureTopic(spec: TopicSpec): Promise<TopicInfo>;
  topics(): Promise<TopicInfo[]>;
  /**
   * Deletes topics: their records, and every group's committed offsets of
   * them. Names that are not topics are skipped. A topic created again
   * under a deleted name starts empty, at offset 0. Nothing may still read
   * or write a topic being deleted (a blue/green rebuild deletes the old
   * namespace's topics only after the swap).
   *
   * @example
   * ```ts
   * await log.deleteTopics(['rec.user-features.user-view.g1.changelog']);
   * ```
   */
  deleteTopics(names: readonly string[]): Promise<void>;
  describeTopic(name: string): Promise<TopicInfo | undefined>;
  /**
   * Appends records. When the promise resolves the records are acknowledged:
   * they survive a kill -9 of this process. Records to one partition keep
   * their order and are written as one atomic batch (all or none after a crash).
   */
  append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]>;
  offsets(topic: string): Promise<PartitionOffsets[]>;
  /** First offset whose record timestamp is >= `timestamp`; the end offset if none. */
  offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number>;
  /**
   * Reads up to `maxRecords` records of one partition from `offset` without
   * any group (restores, replays, tools). Returns [] at the end.
   */
  read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]>;
  consumer(options: ConsumerOptions): Promise<LogConsumer>;
  commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** The group's committed offsets of a topic, by partition (absent: never committed). */
  committedOffsets(group: string, topic: string): Promise<Map<number, number>>;
  close(): Promise<void>;
}
