/**
 * The feature stores the online-store tests and `bench online` read from, built from real
 * parts: per namespace, one TaskState per partition on RocksDB with one
 * store per view, backed by changelog topics on an embedded log on disk.
 * Writes go in the way processors make them (put/delete, then a commit with
 * the input offsets), so the in-process back-end reads them through
 * `TaskState.readCommitted` and the materializer tails their changelogs.
 *
 * @example
 * ```ts
 * const source = await FeatureSource.open(CONTRACT_VIEWS);
 * await source.createNamespace('blue');
 * await source.apply('blue', [{ view: 'user', key: 'u1', value: { n: 1, tag: 'a' } }]);
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import { partitionForKey } from '../log/partitioner.js';
import { silentLogger } from '../observability/logger.js';
import { jsonCodec } from '../state/codecs/json-codec.js';
import { numberCodec } from '../state/codecs/number-codec.js';
import { TaskState } from '../state/task-state.js';
import type { TaskLookup } from './in-process/task-lookup.js';
import type { FeatureView } from './views.js';

/** The value of the contract's `user` and `item` views. */
export interface Tagged {
  readonly n: number;
  readonly tag: string;
}

/** Views of every entity kind the store serves: two per user, one per item, one per segment. */
export const CONTRACT_VIEWS: readonly FeatureView<unknown>[] = [
  { name: 'user', entity: 'user', codec: jsonCodec<Tagged>() as FeatureView<unknown>['codec'] },
  { name: 'user_counts', entity: 'user', codec: numberCodec as FeatureView<unknown>['codec'] },
  { name: 'item', entity: 'item', codec: jsonCodec<Tagged>() as FeatureView<unknown>['codec'] },
  { name: 'popularity_by_country', entity: 'segment', codec: numberCodec as FeatureView<unknown>['codec'] },
];

/** The application id the fixture's tasks run under. */
export const SOURCE_APPLICATION = 'features';
export const SOURCE_PARTITIONS = 2;
const INPUT_TOPIC = 'rec.interactions';

export interface SourceWrite {
  readonly view: string;
  readonly key: string;
  /** null deletes. */
  readonly value: unknown;
}

interface SourceNamespace {
  states: TaskState[];
  generation: number;
}

export class FeatureSource {
  private readonly spaces = new Map<string, SourceNamespace>();
  private inputOffset = 0;

  private constructor(
    readonly log: EmbeddedLog,
    private readonly root: string,
    readonly views: readonly FeatureView<unknown>[],
  ) {}

  static async open(views: readonly FeatureView<unknown>[] = CONTRACT_VIEWS): Promise<FeatureSource> {
    const root = await mkdtemp(join(tmpdir(), 'recstream-online-'));
    const log = await EmbeddedLog.open(join(root, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
    return new FeatureSource(log, root, views);
  }

  /** The changelog topic of a view's store in a namespace. */
  changelog(namespace: string, view: string): string {
    return `rec.${SOURCE_APPLICATION}-${namespace}.${view}.changelog`;
  }

  async createNamespace(namespace: string): Promise<void> {
    for (const view of this.views)
      await this.log.ensureTopic({
        name: this.changelog(namespace, view.name),
        partitions: SOURCE_PARTITIONS,
        compacted: true,
      });
    this.spaces.set(namespace, { states: await this.openStates(namespace, 0), generation: 0 });
  }

  /** The namespace's tasks as the in-process store finds them: always the current ones. */
  lookup(namespace: string): TaskLookup {
    return {
      partitions: (application) => (application === SOURCE_APPLICATION ? SOURCE_PARTITIONS : undefined),
      state: (application, partition) =>
        application === SOURCE_APPLICATION ? this.space(namespace).states[partition] : undefined,
    };
  }

  /** Puts or deletes, then commits every touched task, as a processor and its runner would. */
  async apply(namespace: string, writes: readonly SourceWrite[]): Promise<void> {
    const space = this.space(namespace);
    const touched = new Set<number>();
    for (const w of writes) {
      const partition = partitionForKey(w.key, SOURCE_PARTITIONS);
      const store = space.states[partition]!.store<unknown>(w.view);
      if (w.value === null) store.delete(w.key);
      else store.put(w.key, w.value);
      touched.add(partition);
    }
    this.inputOffset += writes.length;
    for (const partition of touched)
      await space.states[partition]!.commit(new Map([[INPUT_TOPIC, this.inputOffset]]));
  }

  /**
   * Closes the namespace's tasks and opens them again on fresh disks, so
   * they restore from their changelogs. Like the runner, it closes each task
   * while the lookup still returns it, then finds none until all reopened.
   */
  async restore(namespace: string): Promise<void> {
    const space = this.space(namespace);
    for (const state of space.states) await state.close();
    space.states = [];
    space.generation++;
    space.states = await this.openStates(namespace, space.generation);
  }

  /** Closes a namespace's tasks (after the online store dropped it). */
  async closeNamespace(namespace: string): Promise<void> {
    const space = this.spaces.get(namespace);
    if (!space) return;
    this.spaces.delete(namespace);
    for (const state of space.states) await state.close();
  }

  async close(): Promise<void> {
    for (const namespace of [...this.spaces.keys()]) await this.closeNamespace(namespace);
    await this.log.close();
    await rm(this.root, { recursive: true, force: true });
  }

  private space(namespace: string): SourceNamespace {
    const space = this.spaces.get(namespace);
    if (!space) throw new Error(`feature source has no namespace ${namespace}`);
    return space;
  }

  private async openStates(namespace: string, generation: number): Promise<TaskState[]> {
    const states: TaskState[] = [];
    for (let partition = 0; partition < SOURCE_PARTITIONS; partition++) {
      states.push(
        await TaskState.open({
          dir: join(this.root, 'state', namespace, String(generation), String(partition)),
          engine: 'rocksdb',
          log: this.log,
          applicationId: `${SOURCE_APPLICATION}-${namespace}`,
          partition,
          stores: this.views.map((v) => ({
            name: v.name,
            codec: v.codec,
            changelogTopic: this.changelog(namespace, v.name),
          })),
          logger: silentLogger(),
        }),
      );
    }
    return states;
  }
}
