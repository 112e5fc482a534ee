/**
 * The embedded event log: durable, crash-safe topic-partitions in a local
 * directory, behind the same `EventLog` port as the Kafka back-end.
 *
 * Layout under the log directory:
 * ```
 * LOCK                                   pid of the process that has it open
 * appends/                               appends from other processes (append-spool.ts)
 * topics/<topic>/topic.json              partitions, compaction, retention (atomic replace)
 * topics/<topic>/<partition>/<base>.log  segment files of record batches (see format.ts)
 * groups/<base64url(group)>.json         committed offsets (atomic replace)
 * deleted/<topic>.<time>.<pid>/          a deleted topic being removed (gone at the next open)
 * ```
 *
 * The process that opens it for writing holds it through a LogWriter
 * (log-writer.ts); opened with `readOnly`, a LogFollower (log-follower.ts)
 * takes no lock and follows the files the writing process changes (see
 * follow.ts). This class is the `EventLog` over either: reads the same way,
 * changes through the writer only.
 */
import { LogUsageError, OffsetOutOfRangeError } from '../../errors.js';
import type {
  AppendAck,
  ConsumerOptions,
  EventLog,
  LogConsumer,
  LogRecord,
  OutgoingRecord,
  PartitionOffsets,
  TopicInfo,
  TopicPartitionOffset,
  TopicSpec,
} from '../log.js';
import { topicInfo } from '../topic-spec.js';
import { AppendSpool, appendThroughSpool, commitThroughSpool } from './append-spool.js';
import type { CompactionResult } from './compaction.js';
import { EmbeddedConsumer } from './consumer.js';
import type { EncodedBatch } from './encode.js';
import { LogFollower } from './log-follower.js';
import type { LogSide, RecoveryWarning } from './log-side.js';
import { LogWriter } from './log-writer.js';
import { type EmbeddedLogOptions, resolveOptions } from './options.js';
import type { PartitionReader } from './partition-reader.js';

export type { RecoveryWarning } from './log-side.js';

/**
 * The embedded `EventLog` back-end. One process opens a directory for
 * writing at a time (a lock file enforces it); any number of others may open
 * it with `readOnly` beside it. An acknowledged append has been written to
 * the OS, so it survives kill -9; `fsync` adds power-loss safety (see `FsyncMode`).
 *
 * Compaction of `compacted` topics runs in the background after a segment
 * rolls and when kept tombstones expire (every `maintenanceIntervalMs`),
 * together with retention; `compact`, `enforceRetention` and `roll` run them
 * on demand.
 *
 * @example
 * ```ts
 * const log = await EmbeddedLog.open(join(dataDir, 'log'), { fsync: 1000 });
 * await log.ensureTopic({ name: 'rec.interactions', partitions: 4 });
 * const [ack] = await log.append('rec.interactions', [{ key: 'u1', value: bytes }]);
 * const records = await log.read('rec.interactions', ack!.partition, ack!.baseOffset, 100);
 * await log.close();
 * ```
 */
export class EmbeddedLog implements EventLog {
  readonly kind = 'embedded' as const;
  readonly dir: string;
  /** Opened with `readOnly`: follows another process's writes and changes nothing. */
  readonly readOnly: boolean;
  /** What `open` repaired (torn tails cut off) or found corrupt; each was also logged. */
  readonly warnings: RecoveryWarning[];

  private constructor(
    private readonly side: LogWriter | LogFollower,
    private readonly spool: AppendSpool | undefined,
    private readonly appendThroughOwner: boolean,
  ) {
    this.dir = side.dir;
    this.readOnly = side instanceof LogFollower;
    this.warnings = side.warnings;
  }

  /**
   * Opens (creating if needed) the log in `dir`, recovering from a crash:
   * torn batches at the end of a partition are cut off and reported in
   * `warnings`. Fails with StorageError if the directory is not writable or
   * another live process has it open.
   *
   * With `readOnly: true` it opens beside a writer instead: no lock, nothing
   * created or repaired (a missing directory is a log without topics yet),
   * and bytes past the last complete batch count as not written yet.
   */
  static async open(dir: string, options: EmbeddedLogOptions = {}): Promise<EmbeddedLog> {
    const resolved = resolveOptions(options);
    if (resolved.readOnly)
      return new EmbeddedLog(await LogFollower.open(dir, resolved), undefined, resolved.appendThroughOwner);
    const writer = await LogWriter.open(dir, resolved);
    const spool = AppendSpool.serve(dir, writer, resolved.logger);
    return new EmbeddedLog(writer, spool, false);
  }

  /** The writer, for a change; a read-only log refuses it. */
  private writer(action: string): LogWriter {
    this.side.assertOpen();
    if (this.side instanceof LogFollower) throw this.side.readOnlyError(action);
    return this.side;
  }

  // ---- topics -------------------------------------------------------------

  ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    return this.side.ensureTopic(spec);
  }

  async deleteTopics(names: readonly string[]): Promise<void> {
    await this.writer(`delete topics ${names.join(', ')}`).deleteTopics(names);
  }

  async topics(): Promise<TopicInfo[]> {
    return (await this.side.allTopics()).map((t) => topicInfo(t.spec));
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.side.assertOpen();
    const t = await this.side.lookup(name);
    return t && topicInfo(t.spec);
  }

  // ---- append / read ---------------------------------------------------------

  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    if (this.appendThroughOwner) {
      this.side.assertOpen();
      return appendThroughSpool(this.dir, topic, records);
    }
    return this.writer(`append to ${topic}`).append(topic, records);
  }

  /**
   * Appends batches a stream thread encoded with `encodeBatches` (each
   * buffer a batch less its header): the writer gives them offsets and
   * writes them, so the thread holding the writer does not encode what
   * every stream thread appends. `partitions`: the count the records were
   * placed by (see `LogWriter.appendEncoded`).
   */
  async appendEncoded(
    topic: string,
    partitions: number,
    batches: readonly EncodedBatch[],
  ): Promise<AppendAck[]> {
    return this.writer(`append to ${topic}`).appendEncoded(topic, partitions, batches);
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const t = await this.side.topic(topic);
    for (const p of t.parts) p.refresh();
    return t.parts.map((p) => ({ partition: p.index, start: p.start, end: p.end }));
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    await this.side.lookup(topic);
    const part = this.side.partitionOrThrow(topic, partition);
    part.refresh();
    return part.offsetForTimestamp(timestamp);
  }

  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]> {
    await this.side.lookup(topic);
    const part = this.side.partitionOrThrow(topic, partition);
    // A read-only log's end is what it saw last; the writer may have gone further.
    if (offset > part.end) part.refresh();
    if (!Number.isSafeInteger(offset) || offset < part.start || offset > part.end) {
      throw new OffsetOutOfRangeError(
        `${topic}-${partition}: offset ${offset} is outside [${part.start}, ${part.end}]`,
      );
    }
    const out: LogRecord[] = [];
    if (maxRecords > 0) await part.readInto(offset, maxRecords, out);
    return out;
  }

  // ---- consumers and groups -------------------------------------------------

  /**
   * A single-member consumer over all partitions of `topics` (or those in
   * `partitions`). Without `from` it starts at the group's committed offsets
   * when it has a group, else at the earliest offset (Kafka Streams' default).
   */
  async consumer(options: ConsumerOptions): Promise<LogConsumer> {
    const side: LogSide = this.side;
    side.assertOpen();
    const group = options.group;
    const from = options.from ?? (group !== undefined ? 'committed' : 'earliest');
    if (from === 'committed' && group === undefined)
      throw new LogUsageError("from: 'committed' needs a consumer group");
    const parts: PartitionReader[] = [];
    for (const topic of options.topics) {
      const t = await side.topic(topic);
      for (const p of options.partitions ?? t.parts.map((_, i) => i))
        parts.push(side.partitionOrThrow(topic, p));
    }
    for (const part of parts) part.refresh();
    if (group !== undefined) await side.reloadGroup(group);
    const positions: number[] = [];
    for (const part of parts) {
      if (from === 'earliest') positions.push(part.start);
      else if (from === 'latest') positions.push(part.end);
      else if (from === 'committed') {
        const committed = side.groups.committed(group!, part.topic).get(part.index);
        positions.push(
          committed === undefined ? part.start : Math.min(Math.max(committed, part.start), part.end),
        );
      } else positions.push(await part.offsetForTimestamp(from.timestamp));
    }
    return new EmbeddedConsumer(
      {
        signal: side.signal,
        assertOpen: () => side.assertOpen(),
        isOpen: () => side.isOpen,
        recheckMs: side.recheckMs,
        commitOffsets: (g, offsets) => this.commitOffsets(g, offsets),
        warn: (fields, message) => side.logger.warn(fields, message),
      },
      group,
      parts,
      positions,
    );
  }

  async commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.appendThroughOwner) {
      this.side.assertOpen();
      return commitThroughSpool(this.dir, group, offsets);
    }
    await this.writer(`commit offsets of group ${group}`).commitOffsets(group, offsets);
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    this.side.assertOpen();
    await this.side.reloadGroup(group);
    return this.side.groups.committed(group, topic);
  }

  // ---- maintenance ----------------------------------------------------------

  /** Closes the active segment of every partition of `topic` that holds data (it becomes eligible for compaction and retention). */
  async roll(topic: string): Promise<void> {
    await this.writer(`roll ${topic}`).roll(topic);
  }

  /**
   * Compacts the closed segments of a compacted topic now: the last record per
   * key stays at its offset, expired tombstones go. The active segment is
   * never compacted; `roll` first to include it.
   */
  async compact(topic: string): Promise<CompactionResult> {
    return this.writer(`compact ${topic}`).compact(topic);
  }

  /** Applies the topic's retention now; returns how many records were deleted. */
  async enforceRetention(topic: string): Promise<number> {
    return this.writer(`apply retention to ${topic}`).enforceRetention(topic);
  }

  /** fdatasyncs every partition written since the last sync. */
  sync(): Promise<void> {
    return this.side.sync();
  }

  /** Waits for in-flight appends and maintenance, fsyncs (unless `fsync: 'never'`), closes files and releases the lock. */
  async close(): Promise<void> {
    await this.spool?.close();
    await this.side.close();
  }
}
