/**
 * What the two sides of an embedded log share: the log that writes a
 * directory (log-writer.ts) and the read-only one that follows it from
 * another process (log-follower.ts) both hold its topics and their
 * partitions, look them up the same way and report what they found wrong
 * on disk the same way. `EmbeddedLog` (embedded-log.ts) reads through
 * either and writes through the writer only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptDataError, LogUsageError, TopicError } from '../../errors.js';
import type { TopicInfo, TopicSpec } from '../log.js';
import { type ValidTopicSpec, validateTopicSpec } from '../topic-spec.js';
import type { EncodeTarget } from './encode.js';
import type { GroupOffsetStore } from './groups.js';
import type { LogWarnSink, ResolvedOptions } from './options.js';
import type { PartitionReader, PartitionSettings } from './partition-reader.js';
import type { PartitionProblem } from './partition-writer.js';
import { AppendSignal } from './signal.js';

/** Something `open` found and repaired or will report on read. */
export interface RecoveryWarning extends PartitionProblem {
  readonly topic: string;
  readonly partition: number;
}

/** A topic as a side of the log holds it, with partitions of that side's kind. */
export interface TopicState<P extends PartitionReader = PartitionReader> extends EncodeTarget {
  spec: ValidTopicSpec;
  readonly parts: P[];
}

/** Each partition is a directory of segment files; more would be a mistake, not a design. */
const MAX_PARTITIONS = 10_000;

export function validateSpec(spec: TopicSpec): ValidTopicSpec {
  return validateTopicSpec(spec, { maxPartitions: MAX_PARTITIONS });
}

/**
 * The topics of one embedded log directory, as one side holds them.
 *
 * @example
 * ```ts
 * const part = side.partitionOrThrow('rec.interactions', 0);
 * ```
 */
export abstract class LogSide<P extends PartitionReader = PartitionReader> {
  /** What `open` repaired (torn tails cut off) or found corrupt; each was also logged. */
  readonly warnings: RecoveryWarning[] = [];
  /** How often a consumer waiting in `poll` looks for appends no in-process signal announces. */
  abstract readonly recheckMs: number;
  /** Wakes consumers waiting in `poll` when this process appends. */
  readonly signal = new AppendSignal();
  protected readonly topicMap = new Map<string, TopicState<P>>();
  protected readonly settings: PartitionSettings;
  protected closed = false;
  private topicChanges: Promise<unknown> = Promise.resolve();

  /** Committed offsets: loaded by the writer, re-read by a follower when asked for. */
  groups!: GroupOffsetStore;

  protected constructor(
    readonly dir: string,
    protected readonly options: ResolvedOptions,
  ) {
    this.settings = {
      segmentBytes: options.segmentBytes,
      segmentMs: options.segmentMs,
      indexIntervalBytes: options.indexIntervalBytes,
      syncEachWrite: !options.readOnly && options.fsync === 'always',
      durable: !options.readOnly && options.fsync !== 'never',
    };
  }

  /** The topic `name`, or undefined without it (a follower looks on disk first for one it does not know). */
  abstract lookup(name: string): Promise<TopicState<P> | undefined>;
  /** Every topic (a follower looks for new ones on disk first). */
  abstract allTopics(): Promise<TopicState<P>[]>;
  /** Creates the topic, or checks the one there against `spec`. */
  abstract ensureTopic(spec: TopicSpec): Promise<TopicInfo>;
  /** Takes in the offsets another process committed for `group` (the writer holds them already). */
  abstract reloadGroup(group: string): Promise<void>;
  /** fdatasyncs what was written since the last sync. */
  abstract sync(): Promise<void>;
  /** Closes every partition; the side is unusable after. */
  abstract close(): Promise<void>;

  /** The topic `name`, throwing UNKNOWN_TOPIC without it. */
  async topic(name: string): Promise<TopicState<P>> {
    await this.lookup(name);
    return this.topicOrThrow(name);
  }

  /** Where warnings about the log go. */
  get logger(): LogWarnSink {
    return this.options.logger;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  assertOpen(): void {
    if (this.closed) throw new LogUsageError(`the embedded log in ${this.dir} is closed`);
  }

  topicOrThrow(name: string): TopicState<P> {
    this.assertOpen();
    const t = this.topicMap.get(name);
    if (!t)
      throw new TopicError(
        `topic ${name} does not exist in the embedded log at ${this.dir}; create it with ensureTopic`,
        'UNKNOWN_TOPIC',
      );
    return t;
  }

  partitionOrThrow(topic: string, partition: number): P {
    const t = this.topicOrThrow(topic);
    const part = Number.isInteger(partition) ? t.parts[partition] : undefined;
    if (!part)
      throw new TopicError(
        `partition ${partition} does not exist in topic ${topic} (${t.partitions} partitions)`,
        'UNKNOWN_PARTITION',
      );
    return part;
  }

  /** Runs topic creations, deletions and discoveries one at a time. */
  protected serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.topicChanges.then(fn);
    this.topicChanges = run.catch(() => undefined);
    return run;
  }

  /** Resolves once the topic changes already asked for are done. */
  protected settled(): Promise<unknown> {
    return this.topicChanges;
  }

  protected get topicsDir(): string {
    return join(this.dir, 'topics');
  }

  protected newTopicState(spec: ValidTopicSpec): TopicState<P> {
    return {
      spec,
      name: spec.name,
      partitions: spec.partitions,
      compacted: spec.compacted,
      roundRobin: 0,
      parts: [],
    };
  }

  /** A topic's stored spec; undefined when the directory has no spec (a creation not finished, or interrupted by a crash). */
  protected async readSpec(name: string): Promise<ValidTopicSpec | undefined> {
    const path = join(this.topicsDir, name, 'topic.json');
    try {
      return validateSpec(JSON.parse(await readFile(path, 'utf8')) as TopicSpec);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CorruptDataError(`topic spec ${path} is unreadable`, err);
    }
  }

  /** Refuses `wanted` when the topic there has other partitions or compaction. */
  protected checkShape(have: ValidTopicSpec, wanted: ValidTopicSpec): void {
    if (have.partitions !== wanted.partitions || have.compacted !== wanted.compacted) {
      throw new TopicError(
        `topic ${wanted.name} exists with ${have.partitions} partitions${have.compacted ? ', compacted' : ''}; asked for ${wanted.partitions}${wanted.compacted ? ', compacted' : ''}`,
        'TOPIC_MISMATCH',
      );
    }
  }

  protected warn(topic: string, partition: number, problem: PartitionProblem): void {
    const warning: RecoveryWarning = { topic, partition, ...problem };
    this.warnings.push(warning);
    this.options.logger.warn(
      { ...warning },
      problem.kind === 'torn'
        ? 'truncated a torn batch at the end of a partition (an unacknowledged write cut short by a crash)'
        : 'corrupt batch in a segment; reading it will fail',
    );
  }
}
