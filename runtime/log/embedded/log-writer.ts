/**
 * The writing side of an embedded log: the one process that holds the
 * directory's lock. It recovers the files at open, creates and deletes
 * topics, appends, commits offsets, and runs fsync, retention and
 * compaction in the background and on demand.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { storageErrorFrom, TopicError } from '../../errors.js';
import type { AppendAck, OutgoingRecord, TopicInfo, TopicPartitionOffset, TopicSpec } from '../log.js';
import { topicInfo, type ValidTopicSpec } from '../topic-spec.js';
import { writeFileAtomic } from './atomic-file.js';
import { type CompactionResult, compactPartition } from './compaction.js';
import { type EncodedBatch, encodeBatches } from './encode.js';
import { GroupOffsetStore } from './groups.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { LogSide, type TopicState, validateSpec } from './log-side.js';
import type { ResolvedOptions } from './options.js';
import { type PartitionProblem, PartitionWriter } from './partition-writer.js';

type WriterTopic = TopicState<PartitionWriter>;

/**
 * A log directory as the process that writes it holds it.
 *
 * @example
 * ```ts
 * const writer = await LogWriter.open(dir, resolveOptions({ fsync: 1000 }));
 * await writer.ensureTopic({ name: 'rec.interactions', partitions: 4 });
 * await writer.append('rec.interactions', [{ key: 'u1', value: bytes }]);
 * ```
 */
export class LogWriter extends LogSide<PartitionWriter> {
  /** Appends wake waiting consumers through the signal; no need to look. */
  readonly recheckMs = Number.POSITIVE_INFINITY;
  private timers: NodeJS.Timeout[] = [];
  private maintaining = false;

  private constructor(
    dir: string,
    options: ResolvedOptions,
    private readonly lock: DirLock,
  ) {
    super(dir, options);
  }

  /**
   * Opens (creating if needed) the log in `dir`, recovering from a crash:
   * torn batches at the end of a partition are cut off and reported in
   * `warnings`. Fails with StorageError if the directory is not writable or
   * another live process has it open.
   */
  static async open(dir: string, options: ResolvedOptions): Promise<LogWriter> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw storageErrorFrom(err, `cannot create the embedded log dir ${dir}`);
    }
    const lock = acquireDirLock(dir);
    const writer = new LogWriter(dir, options, lock);
    try {
      await writer.load();
    } catch (err) {
      await writer.closePartitions();
      lock.release();
      throw storageErrorFrom(err, `cannot open the embedded log in ${dir}`);
    }
    writer.startTimers();
    return writer;
  }

  lookup(name: string): Promise<WriterTopic | undefined> {
    return Promise.resolve(this.topicMap.get(name));
  }

  allTopics(): Promise<WriterTopic[]> {
    this.assertOpen();
    return Promise.resolve([...this.topicMap.values()]);
  }

  /** This process commits the offsets: they are current already. */
  reloadGroup(): Promise<void> {
    return Promise.resolve();
  }

  ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    return this.serialized(() => this.ensureTopicNow(spec));
  }

  private async ensureTopicNow(spec: TopicSpec): Promise<TopicInfo> {
    this.assertOpen();
    const wanted = validateSpec(spec);
    const existing = this.topicMap.get(wanted.name);
    const specPath = join(this.topicsDir, wanted.name, 'topic.json');
    if (existing) {
      const have = existing.spec;
      this.checkShape(have, wanted);
      if (have.retentionMs !== wanted.retentionMs || have.retentionBytes !== wanted.retentionBytes) {
        try {
          await writeFileAtomic(specPath, `${JSON.stringify(wanted)}\n`, true);
        } catch (err) {
          throw storageErrorFrom(err, `cannot update topic ${wanted.name}`);
        }
        existing.spec = wanted;
      }
      return topicInfo(existing.spec);
    }
    try {
      await mkdir(join(this.topicsDir, wanted.name), { recursive: true });
      const state = this.openPartitions(wanted);
      await writeFileAtomic(specPath, `${JSON.stringify(wanted)}\n`, true);
      this.topicMap.set(wanted.name, state);
    } catch (err) {
      throw storageErrorFrom(err, `cannot create topic ${wanted.name} in ${this.dir}`);
    }
    return topicInfo(wanted);
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    return this.serialized(() => this.deleteTopicsNow(names));
  }

  private async deleteTopicsNow(names: readonly string[]): Promise<void> {
    this.assertOpen();
    for (const name of names) {
      const t = this.topicMap.get(name);
      if (!t) continue;
      try {
        // Offsets first: a crash before the move below leaves the topic without committed offsets,
        // never a later topic of the same name with offsets that pointed into this one.
        await this.groups.forgetTopic(name);
        this.topicMap.delete(name);
        for (const part of t.parts) await part.close();
        // One rename takes the topic out of topics/ at once; a crash after it leaves only files to remove.
        await mkdir(this.deletedDir, { recursive: true });
        const trash = join(this.deletedDir, `${name}.${Date.now()}.${process.pid}`);
        await rename(join(this.topicsDir, name), trash);
        await rm(trash, { recursive: true, force: true });
      } catch (err) {
        throw storageErrorFrom(err, `cannot delete topic ${name} in ${this.dir}`);
      }
    }
  }

  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    const t = this.topicOrThrow(topic);
    if (records.length === 0) return [];
    return this.enqueueAll(t, encodeBatches(t, records, Date.now()));
  }

  /**
   * Appends batches another thread encoded (`encodeBatches`) for `topic`:
   * this writer only gives them their offsets and writes them, as it does
   * the batches of `append`. `partitions`: the topic's partition count the
   * records were placed by; a topic deleted and made again with another
   * count since is refused (`PARTITION_COUNT_CHANGED`), nothing written.
   */
  async appendEncoded(
    topic: string,
    partitions: number,
    batches: readonly EncodedBatch[],
  ): Promise<AppendAck[]> {
    const t = this.topicOrThrow(topic);
    if (t.parts.length !== partitions)
      throw new TopicError(
        `records for ${topic} were placed over ${partitions} partitions; it has ${t.parts.length}`,
        'PARTITION_COUNT_CHANGED',
      );
    for (const b of batches)
      if (!Number.isInteger(b.partition) || b.partition < 0 || b.partition >= t.parts.length)
        throw new TopicError(
          `partition ${b.partition} does not exist in topic ${topic} (${t.parts.length} partitions)`,
          'UNKNOWN_PARTITION',
        );
    return this.enqueueAll(t, batches);
  }

  private enqueueAll(t: WriterTopic, batches: readonly EncodedBatch[]): Promise<AppendAck[]> {
    if (batches.length === 1) return t.parts[batches[0]!.partition]!.enqueue(batches[0]!).then((a) => [a]);
    return Promise.all(batches.map((b) => t.parts[b.partition]!.enqueue(b)));
  }

  async commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) this.partitionOrThrow(o.topic, o.partition);
    await this.groups.commit(group, offsets);
  }

  /** Closes the active segment of every partition of `topic` that holds data (it becomes eligible for compaction and retention). */
  async roll(topic: string): Promise<void> {
    await Promise.all(this.topicOrThrow(topic).parts.map((p) => p.roll()));
  }

  /**
   * Compacts the closed segments of a compacted topic now: the last record per
   * key stays at its offset, expired tombstones go. The active segment is
   * never compacted; `roll` first to include it.
   */
  async compact(topic: string): Promise<CompactionResult> {
    const t = this.topicOrThrow(topic);
    if (!t.spec.compacted) throw new TopicError(`topic ${topic} is not compacted`, 'TOPIC_NOT_COMPACTED');
    let recordsBefore = 0;
    let recordsAfter = 0;
    for (const part of t.parts) {
      const r = await part.serialize(() => compactPartition(part, this.compactionSettings()));
      recordsBefore += r.recordsBefore;
      recordsAfter += r.recordsAfter;
    }
    return { recordsBefore, recordsAfter };
  }

  /** Applies the topic's retention now; returns how many records were deleted. */
  async enforceRetention(topic: string): Promise<number> {
    const t = this.topicOrThrow(topic);
    let deleted = 0;
    for (const part of t.parts)
      deleted += await part.applyRetention(t.spec.retentionMs, t.spec.retentionBytes, Date.now());
    return deleted;
  }

  /** fdatasyncs every partition written since the last sync. */
  async sync(): Promise<void> {
    for (const t of this.topicMap.values()) for (const p of t.parts) await p.sync();
  }

  /** Waits for in-flight appends and maintenance, fsyncs (unless `fsync: 'never'`), closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.signal.wakeAll();
    try {
      await this.settled();
      for (const t of this.topicMap.values()) for (const p of t.parts) await p.close();
      await this.groups.flush();
    } finally {
      this.lock.release();
    }
  }

  private get deletedDir(): string {
    return join(this.dir, 'deleted');
  }

  private async load(): Promise<void> {
    await mkdir(this.topicsDir, { recursive: true });
    // Topics a crash caught halfway through deleteTopics: already out of topics/, only their files remain.
    await rm(this.deletedDir, { recursive: true, force: true });
    for (const name of (await readdir(this.topicsDir)).sort()) {
      // A topic directory without its spec is a creation a crash interrupted: it holds no records.
      const spec = await this.readSpec(name);
      if (spec) this.topicMap.set(spec.name, this.openPartitions(spec));
    }
    this.groups = await GroupOffsetStore.load(join(this.dir, 'groups'), this.settings.durable);
  }

  private async closePartitions(): Promise<void> {
    for (const t of this.topicMap.values()) for (const p of t.parts) await p.close().catch(() => undefined);
  }

  private openPartitions(spec: ValidTopicSpec): WriterTopic {
    const state = this.newTopicState(spec);
    const events = {
      appended: () => this.signal.notify(),
      rolled: (part: PartitionWriter) => {
        if (
          this.options.maintenanceIntervalMs > 0 &&
          (state.spec.compacted ||
            state.spec.retentionMs !== undefined ||
            state.spec.retentionBytes !== undefined)
        ) {
          setImmediate(() => void this.maintainPartition(state, part));
        }
      },
    };
    for (let p = 0; p < spec.partitions; p++) {
      const problems: PartitionProblem[] = [];
      state.parts.push(
        PartitionWriter.open(
          spec.name,
          p,
          join(this.topicsDir, spec.name, String(p)),
          this.settings,
          events,
          problems,
        ),
      );
      for (const problem of problems) this.warn(spec.name, p, problem);
    }
    return state;
  }

  private startTimers(): void {
    const { fsync, maintenanceIntervalMs } = this.options;
    if (typeof fsync === 'number')
      this.timers.push(
        setInterval(() => void this.sync().catch((err) => this.warnFailure('periodic fsync', err)), fsync),
      );
    if (maintenanceIntervalMs > 0)
      this.timers.push(setInterval(() => void this.maintainAll(), maintenanceIntervalMs));
    for (const t of this.timers) t.unref();
  }

  private warnFailure(what: string, err: unknown): void {
    this.options.logger.warn(
      { dir: this.dir, err: (err as Error)?.message ?? String(err) },
      `embedded log ${what} failed`,
    );
  }

  private compactionSettings() {
    return {
      now: Date.now(),
      deleteRetentionMs: this.options.deleteRetentionMs,
      segmentBytes: this.options.segmentBytes,
      indexIntervalBytes: this.options.indexIntervalBytes,
      durable: this.settings.durable,
    };
  }

  private async maintainPartition(t: WriterTopic, part: PartitionWriter): Promise<void> {
    if (this.closed) return;
    try {
      const { retentionMs, retentionBytes, compacted } = t.spec;
      if (retentionMs !== undefined || retentionBytes !== undefined)
        await part.applyRetention(retentionMs, retentionBytes, Date.now());
      if (
        compacted &&
        (part.dirtyRatio() >= this.options.minCleanableDirtyRatio || Date.now() >= part.tombstoneExpiry)
      ) {
        await part.serialize(() => compactPartition(part, this.compactionSettings()));
      }
    } catch (err) {
      this.options.logger.warn(
        { topic: t.name, partition: part.index, err: (err as Error)?.message ?? String(err) },
        'background retention/compaction failed',
      );
    }
  }

  private async maintainAll(): Promise<void> {
    if (this.maintaining || this.closed) return;
    this.maintaining = true;
    try {
      for (const t of this.topicMap.values())
        for (const part of t.parts) await this.maintainPartition(t, part);
    } finally {
      this.maintaining = false;
    }
  }
}
