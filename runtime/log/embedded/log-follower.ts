/**
 * The read-only side of an embedded log: it takes no lock and follows the
 * files the writing process changes (see follow.ts). Topics the writer
 * creates later are discovered when asked for; nothing is created,
 * repaired or compacted here.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LogUsageError, storageErrorFrom } from '../../errors.js';
import type { TopicInfo, TopicSpec } from '../log.js';
import { topicInfo, type ValidTopicSpec } from '../topic-spec.js';
import { GroupOffsetStore } from './groups.js';
import { LogSide, type TopicState, validateSpec } from './log-side.js';
import type { ResolvedOptions } from './options.js';
import { PartitionFollower } from './partition-follower.js';

/**
 * How often a read-only consumer waiting in `poll` looks for appends: the
 * writer is another process, so no in-process signal announces them.
 */
const FOLLOW_RECHECK_MS = 50;

/**
 * A log directory as a reader beside its writer sees it.
 *
 * @example
 * ```ts
 * const follower = await LogFollower.open(dir, resolveOptions({ readOnly: true }));
 * const topic = await follower.topic('rec.interactions');
 * ```
 */
export class LogFollower extends LogSide<PartitionFollower> {
  readonly recheckMs = FOLLOW_RECHECK_MS;

  private constructor(dir: string, options: ResolvedOptions) {
    super(dir, options);
    this.groups = GroupOffsetStore.readOnly(join(dir, 'groups'));
  }

  /** Opens beside a writer: a missing directory is a log without topics yet. */
  static async open(dir: string, options: ResolvedOptions): Promise<LogFollower> {
    const follower = new LogFollower(dir, options);
    try {
      await follower.discover();
    } catch (err) {
      await follower.closePartitions();
      throw storageErrorFrom(err, `cannot open the embedded log in ${dir} read-only`);
    }
    return follower;
  }

  async lookup(name: string): Promise<TopicState<PartitionFollower> | undefined> {
    if (!this.topicMap.has(name)) await this.discover();
    return this.topicMap.get(name);
  }

  async allTopics(): Promise<TopicState<PartitionFollower>[]> {
    this.assertOpen();
    await this.discover();
    return [...this.topicMap.values()];
  }

  /** A topic the writer made as asked is fine; any other is refused, as nothing may change here. */
  ensureTopic(spec: TopicSpec): Promise<TopicInfo> {
    return this.serialized(async () => {
      this.assertOpen();
      const wanted = validateSpec(spec);
      if (!this.topicMap.has(wanted.name)) await this.discoverNow();
      const existing = this.topicMap.get(wanted.name);
      if (existing === undefined) throw this.readOnlyError(`create topic ${wanted.name}`);
      this.checkShape(existing.spec, wanted);
      if (
        existing.spec.retentionMs !== wanted.retentionMs ||
        existing.spec.retentionBytes !== wanted.retentionBytes
      )
        throw this.readOnlyError(`change the retention of topic ${wanted.name}`);
      return topicInfo(existing.spec);
    });
  }

  reloadGroup(group: string): Promise<void> {
    return this.groups.reload(group);
  }

  /** Nothing was written here. */
  sync(): Promise<void> {
    return Promise.resolve();
  }

  /** The error of every change asked of a read-only log. */
  readOnlyError(action: string): LogUsageError {
    return new LogUsageError(
      `cannot ${action}: the embedded log in ${this.dir} was opened read-only; only the process that opened it for writing may change it`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signal.wakeAll();
    // Discovery may be opening a topic right now; let it finish so its files close too.
    await this.settled();
    await this.closePartitions();
    await this.groups.flush();
  }

  private async closePartitions(): Promise<void> {
    for (const t of this.topicMap.values()) for (const p of t.parts) await p.close().catch(() => undefined);
  }

  /** Picks up topics the writer created since the last look. Serialized with other topic changes. */
  private discover(): Promise<void> {
    return this.serialized(() => this.discoverNow());
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

  /** The topic's partitions as the writer left them; undefined while one has no segment yet (being created). */
  private followPartitions(spec: ValidTopicSpec): TopicState<PartitionFollower> | undefined {
    const state = this.newTopicState(spec);
    for (let p = 0; p < spec.partitions; p++) {
      const part = PartitionFollower.follow(
        spec.name,
        p,
        join(this.topicsDir, spec.name, String(p)),
        this.settings,
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
}
