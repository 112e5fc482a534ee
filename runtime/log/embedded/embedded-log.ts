/**
 * The embedded event log: durable, crash-safe topic-partitions in a local
 * directory, behind the same `EventLog` port as the Kafka back-end.
 *
 * Layout under the log directory:
 * ```
 * LOCK                                   pid of the process that has it open
 * topics/<topic>/topic.json              partitions, compaction, retention (atomic replace)
 * topics/<topic>/<partition>/<base>.log  segment files of record batches (see format.ts)
 * groups/<base64url(group)>.json         committed offsets (atomic replace)
 * deleted/<topic>.<time>.<pid>/          a deleted topic being removed (gone at the next open)
 * ```
 *
 * Opened with `readOnly`, the log takes no lock and follows the files the
 * writing process changes (see follow.ts).
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CorruptDataError,
  LogUsageError,
  OffsetOutOfRangeError,
  storageErrorFrom,
  TopicError,
} from '../../errors.js';
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
import { topicInfo, type ValidTopicSpec, validateTopicSpec } from '../topic-spec.js';
import { writeFileAtomic } from './atomic-file.js';
import { type CompactionResult, compactPartition } from './compaction.js';
import { EmbeddedConsumer } from './consumer.js';
import { type EncodeTarget, encodeBatches } from './encode.js';
import { GroupOffsetStore } from './groups.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { type EmbeddedLogOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Partition, type PartitionProblem, type PartitionSettings } from './partition.js';
import { AppendSignal } from './signal.js';

/**
 * How often a read-only consumer waiting in `poll` looks for appends: the
 * writer is another process, so no in-process signal announces them.
 */
const FOLLOW_RECHECK_MS = 50;

/** Something `open` found and repaired or will report on read. */
export interface RecoveryWarning extends PartitionProblem {
  readonly topic: string;
  readonly partition: number;
}

interface TopicState extends EncodeTarget {
  spec: ValidTopicSpec;
  readonly parts: Partition[];
}

/** Each partition is a directory of segment files; more would be a mistake, not a design. */
const MAX_PARTITIONS = 10_000;

function validateSpec(spec: TopicSpec): ValidTopicSpec {
  return validateTopicSpec(spec, { maxPartitions: MAX_PARTITIONS });
}

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
  readonly warnings: RecoveryWarning[] = [];

  private readonly options: ResolvedOptions;
  private readonly settings: PartitionSettings;
  /** Undefined when read-only. */
  private readonly lock: DirLock | undefined;
  private readonly topicMap = new Map<string, TopicState>();
  private readonly signal = new AppendSignal();
  private groups!: GroupOffsetStore;
  private topicChanges: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private maintaining = false;
  private closed = false;

  private constructor(dir: string, options: ResolvedOptions, lock: DirLock | undefined) {
    this.dir = dir;
    this.readOnly = options.readOnly;
    this.options = options;
    this.lock = lock;
    this.settings = {
      segmentBytes: options.segmentBytes,
      segmentMs: options.segmentMs,
      indexIntervalBytes: options.indexIntervalBytes,
      syncEachWrite: !options.readOnly && options.fsync === 'always',
      durable: !options.readOnly && options.fsync !== 'never',
    };
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
    if (resolved.readOnly) {
      const log = new EmbeddedLog(dir, resolved, undefined);
      log.groups = GroupOffsetStore.readOnly(join(dir, 'groups'));
      try {
        await log.discover();
      } catch (err) {
        await log.closePartitions();
        throw storageErrorFrom(err, `cannot open the embedded log in ${dir} read-only`);
      }
      return log;
    }
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw storageErrorFrom(err, `cannot create the embedded log dir ${dir}`);
    }
    const lock = acquireDirLock(dir);
    const log = new EmbeddedLog(dir, resolved, lock);
    try {
      await log.load();
    } catch (err) {
      await log.closePartitions();
      lock.release();
      throw storageErrorFrom(err, `cannot open the embedded log in ${dir}`);
    }
    log.startTimers();
    return log;
  }

  private async closePartitions(): Promise<void> {
    for (const t of this.topicMap.values()) for (const p of t.parts) await p.close().catch(() => undefined);
  }

  private get topicsDir(): string {
    return join(this.dir, 'topics');
  }

  private events(topic: () => TopicState) {
    return {
      appended: () => this.signal.notify(),
      rolled: (part: Partition) => {
        const t = topic();
        if (
          this.options.maintenanceIntervalMs > 0 &&
          (t.spec.compacted || t.spec.retentionMs !== undefined || t.spec.retentionBytes !== undefined)
        ) {
          setImmediate(() => void this.maintainPartition(t, part));
        }
      },
    };
  }

  private newTopicState(spec: ValidTopicSpec): TopicState {
    return {
      spec,
      name: spec.name,
      partitions: spec.partitions,
      compacted: spec.compacted,
      roundRobin: 0,
      parts: [],
    };
  }

  private warn(topic: string, partition: number, problem: PartitionProblem): void {
    const warning: RecoveryWarning = { topic, partition, ...problem };
    this.warnings.push(warning);
    this.options.logger.warn(
      { ...warning },
      problem.kind === 'torn'
        ? 'truncated a torn batch at the end of a partition (an unacknowledged write cut short by a crash)'
        : 'corrupt batch in a segment; reading it will fail',
    );
  }

  private openPartitions(spec: ValidTopicSpec): TopicState {
    const state = this.newTopicState(spec);
    for (let p = 0; p < spec.partitions; p++) {
      const problems: PartitionProblem[] = [];
      state.parts.push(
        Partition.open(
          spec.name,
          p,
          join(this.topicsDir, spec.name, String(p)),
          this.settings,
          this.events(() => state),
          problems,
        ),
      );
      for (const problem of problems) this.warn(spec.name, p, problem);
    }
    return state;
  }

  /** Read-only: the topic's partitions as the writer left them; undefined while one has no segment yet (being created). */
  private followPartitions(spec: ValidTopicSpec): TopicState | undefined {
    const state = this.newTopicState(spec);
    for (let p = 0; p < spec.partitions; p++) {
      const part = Partition.follow(
        spec.name,
        p,
        join(this.topicsDir, spec.name, String(p)),
        this.settings,
        this.events(() => state),
        (problem) => this.warn(spec.name, p, problem),
      );
      if (part === undefined) {
        for (const opened of state.parts) void opened.close();
        return undefined;
      }
      state.parts.push(part);
    }
    return state;
  }

  /** A topic's stored spec; undefined when the directory has no spec (a creation not finished, or interrupted by a crash). */
  private async readSpec(name: string): Promise<ValidTopicSpec | undefined> {
    const path = join(this.topicsDir, name, 'topic.json');
    try {
      return validateSpec(JSON.parse(await readFile(path, 'utf8')) as TopicSpec);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CorruptDataError(`topic spec ${path} is unreadable`, err);
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

  /** Read-only: picks up topics the writer created since the last look. Serialized with other topic changes. */
  private discover(): Promise<void> {
    const run = this.topicChanges.then(() => this.discoverNow());
    this.topicChanges = run.catch(() => undefined);
    return run;
  }

  private async discoverNow(): Promise<void> {
    this.assertOpen();
    const what = `cannot read the topics of the embedded log in ${this.dir}`;
    let names: string[];
    try {
      names = await readdir(this.topicsDir);
    } catch (err) {
      // No topics directory yet: no writer has opened this log.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw storageErrorFrom(err, what);
    }
    try {
      for (const name of names.sort()) {
        if (this.topicMap.has(name)) continue;
        const spec = await this.readSpec(name);
        const state = spec && this.followPartitions(spec);
        if (state) this.topicMap.set(name, state);
      }
    } catch (err) {
      throw storageErrorFrom(err, what);
    }
  }

  /** Read-only: the topic, looking for it on disk when it is not known yet. */
  private async followedTopic(name: string): Promise<TopicState> {
    if (!this.topicMap.has(name)) await this.discover();
    return this.topicOrThrow(name);
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

  private assertOpen(): void {
    if (this.closed) throw new LogUsageError(`the embedded log in ${this.dir} is closed`);
  }

  private assertWritable(action: string): void {
    this.assertOpen();
    if (this.readOnly)
      throw new LogUsageError(
        `cannot ${action}: the embedded log in ${this.dir} was opened read-only; only the process that opened it for writing may change it`,
      );
  }

  private topicOrThrow(name: string): TopicState {
    this.assertOpen();
    const t = this.topicMap.get(name);
    if (!t)
      throw new TopicError(
        `topic ${name} does not exist in the embedded log at ${this.dir}; create it with ensureTopic`,
        'UNKNOWN_TOPIC',
      );
    return t;
  }

  private partitionOrThrow(topic: string, partition: number): Partition {
    const t = this.topicOrThrow(topic);
    const part = Number.isInteger(partition) ? t.parts[partition] : undefined;
    if (!part)
      throw new TopicError(
        `partition ${partition} does not exist in topic ${topic} (${t.partitions} partitions)`,
        'UNKNOWN_PARTITION',
      );
    return part;
  }

  // ---- topics -------------------------------------------------------------

  ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    const run = this.topicChanges.then(() => this.ensureTopicNow(spec));
    this.topicChanges = run.catch(() => undefined);
    return run;
  }

  private async ensureTopicNow(spec: TopicSpec): Promise<TopicInfo> {
    this.assertOpen();
    const wanted = validateSpec(spec);
    if (this.readOnly && !this.topicMap.has(wanted.name)) await this.discoverNow();
    const existing = this.topicMap.get(wanted.name);
    const specPath = join(this.topicsDir, wanted.name, 'topic.json');
    if (existing) {
      const have = existing.spec;
      if (have.partitions !== wanted.partitions || have.compacted !== wanted.compacted) {
        throw new TopicError(
          `topic ${wanted.name} exists with ${have.partitions} partitions${have.compacted ? ', compacted' : ''}; asked for ${wanted.partitions}${wanted.compacted ? ', compacted' : ''}`,
          'TOPIC_MISMATCH',
        );
      }
      if (have.retentionMs !== wanted.retentionMs || have.retentionBytes !== wanted.retentionBytes) {
        this.assertWritable(`change the retention of topic ${wanted.name}`);
        try {
          await writeFileAtomic(specPath, `${JSON.stringify(wanted)}\n`, true);
        } catch (err) {
          throw storageErrorFrom(err, `cannot update topic ${wanted.name}`);
        }
        existing.spec = wanted;
      }
      return topicInfo(existing.spec);
    }
    this.assertWritable(`create topic ${wanted.name}`);
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
    const run = this.topicChanges.then(() => this.deleteTopicsNow(names));
    this.topicChanges = run.catch(() => undefined);
    return run;
  }

  private async deleteTopicsNow(names: readonly string[]): Promise<void> {
    this.assertWritable(`delete topics ${names.join(', ')}`);
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

  async topics(): Promise<TopicInfo[]> {
    this.assertOpen();
    if (this.readOnly) await this.discover();
    return [...this.topicMap.values()].map((t) => topicInfo(t.spec));
  }

  async describeTopic(name: string): Promise<TopicInfo | undefined> {
    this.assertOpen();
    if (this.readOnly && !this.topicMap.has(name)) await this.discover();
    const t = this.topicMap.get(name);
    return t && topicInfo(t.spec);
  }

  // ---- append / read ---------------------------------------------------------

  async append(topic: string, records: readonly OutgoingRecord[]): Promise<AppendAck[]> {
    if (this.readOnly) this.assertWritable(`append to ${topic}`);
    const t = this.topicOrThrow(topic);
    if (records.length === 0) return [];
    const batches = encodeBatches(t, records, Date.now());
    if (batches.length === 1) return [await t.parts[batches[0]!.partition]!.enqueue(batches[0]!)];
    return Promise.all(batches.map((b) => t.parts[b.partition]!.enqueue(b)));
  }

  async offsets(topic: string): Promise<PartitionOffsets[]> {
    const t = this.readOnly ? await this.followedTopic(topic) : this.topicOrThrow(topic);
    if (this.readOnly) for (const p of t.parts) p.refresh();
    return t.parts.map((p) => ({ partition: p.index, start: p.start, end: p.end }));
  }

  async offsetForTimestamp(topic: string, partition: number, timestamp: number): Promise<number> {
    if (this.readOnly) await this.followedTopic(topic);
    const part = this.partitionOrThrow(topic, partition);
    part.refresh();
    return part.offsetForTimestamp(timestamp);
  }

  async read(topic: string, partition: number, offset: number, maxRecords: number): Promise<LogRecord[]> {
    if (this.readOnly) await this.followedTopic(topic);
    const part = this.partitionOrThrow(topic, partition);
    // A read-only log's end is what it saw last; the writer may have gone further.
    if (part.follower && offset > part.end) part.refresh();
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
    this.assertOpen();
    const group = options.group;
    const from = options.from ?? (group !== undefined ? 'committed' : 'earliest');
    if (from === 'committed' && group === undefined)
      throw new LogUsageError("from: 'committed' needs a consumer group");
    const parts: Partition[] = [];
    for (const topic of options.topics) {
      const t = this.readOnly ? await this.followedTopic(topic) : this.topicOrThrow(topic);
      for (const p of options.partitions ?? t.parts.map((_, i) => i))
        parts.push(this.partitionOrThrow(topic, p));
    }
    if (this.readOnly) {
      for (const part of parts) part.refresh();
      if (group !== undefined) await this.groups.reload(group);
    }
    const positions: number[] = [];
    for (const part of parts) {
      if (from === 'earliest') positions.push(part.start);
      else if (from === 'latest') positions.push(part.end);
      else if (from === 'committed') {
        const committed = this.groups.committed(group!, part.topic).get(part.index);
        positions.push(
          committed === undefined ? part.start : Math.min(Math.max(committed, part.start), part.end),
        );
      } else positions.push(await part.offsetForTimestamp(from.timestamp));
    }
    return new EmbeddedConsumer(
      {
        signal: this.signal,
        assertOpen: () => this.assertOpen(),
        isOpen: () => !this.closed,
        recheckMs: this.readOnly ? FOLLOW_RECHECK_MS : Number.POSITIVE_INFINITY,
        commitOffsets: (g, offsets) => this.commitOffsets(g, offsets),
        warn: (fields, message) => this.options.logger.warn(fields, message),
      },
      group,
      parts,
      positions,
    );
  }

  async commitOffsets(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (this.readOnly) this.assertWritable(`commit offsets of group ${group}`);
    for (const o of offsets) this.partitionOrThrow(o.topic, o.partition);
    await this.groups.commit(group, offsets);
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, number>> {
    this.assertOpen();
    if (this.readOnly) await this.groups.reload(group);
    return this.groups.committed(group, topic);
  }

  // ---- maintenance ----------------------------------------------------------

  /** Closes the active segment of every partition of `topic` that holds data (it becomes eligible for compaction and retention). */
  async roll(topic: string): Promise<void> {
    this.assertWritable(`roll ${topic}`);
    await Promise.all(this.topicOrThrow(topic).parts.map((p) => p.roll()));
  }

  /**
   * Compacts the closed segments of a compacted topic now: the last record per
   * key stays at its offset, expired tombstones go. The active segment is
   * never compacted; `roll` first to include it.
   */
  async compact(topic: string): Promise<CompactionResult> {
    this.assertWritable(`compact ${topic}`);
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
    this.assertWritable(`apply retention to ${topic}`);
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

  private compactionSettings() {
    return {
      now: Date.now(),
      deleteRetentionMs: this.options.deleteRetentionMs,
      segmentBytes: this.options.segmentBytes,
      indexIntervalBytes: this.options.indexIntervalBytes,
      durable: this.settings.durable,
    };
  }

  private async maintainPartition(t: TopicState, part: Partition): Promise<void> {
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

  /** Waits for in-flight appends and maintenance, fsyncs (unless `fsync: 'never'`), closes files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.signal.wakeAll();
    try {
      // Discovery may be opening a topic right now; let it finish so its files close too.
      await this.topicChanges;
      for (const t of this.topicMap.values()) for (const p of t.parts) await p.close();
      await this.groups.flush();
    } finally {
      this.lock?.release();
    }
  }
}
