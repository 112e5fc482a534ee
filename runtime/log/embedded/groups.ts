/**
 * Committed consumer-group offsets: one JSON file per group under
 * `<dir>/groups/`, replaced atomically on every commit, cached in memory.
 * Commits of one group are written one at a time; commits arriving while a
 * write is in flight share the next write, which carries the newest state.
 * A read-only log re-reads a group's file whenever it is asked (`reload`),
 * because the writer process commits behind its back.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptDataError, LogUsageError, storageErrorFrom } from '../../errors.js';
import type { TopicPartitionOffset } from '../log.js';
import { writeFileAtomic } from './atomic-file.js';

interface GroupFile {
  readonly group: string;
  readonly offsets: Record<string, Record<string, number>>;
}

interface GroupState {
  readonly offsets: Map<string, Map<number, number>>;
  running: Promise<void>;
  queued: Promise<void> | undefined;
}

const MAX_GROUP_BYTES = 180;

function fileName(group: string): string {
  return `${Buffer.from(group, 'utf8').toString('base64url')}.json`;
}

/** A group's file; undefined when there is none. Files are replaced by rename, so a reader never sees half of one. */
async function readGroupFile(path: string): Promise<GroupFile | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as GroupFile;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CorruptDataError(
      `committed offsets file ${path} is unreadable; delete it to reset that group`,
      err,
    );
  }
}

export class GroupOffsetStore {
  private readonly dir: string;
  private readonly durable: boolean;
  private readonly groups = new Map<string, GroupState>();

  private constructor(dir: string, durable: boolean) {
    this.dir = dir;
    this.durable = durable;
  }

  /** Loads every group file in `dir` (created if missing). */
  static async load(dir: string, durable: boolean): Promise<GroupOffsetStore> {
    const store = new GroupOffsetStore(dir, durable);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      const file = await readGroupFile(join(dir, name));
      if (file) store.apply(file);
    }
    return store;
  }

  /** A store for a read-only log: nothing is read up front or created; `reload` reads a group when asked. */
  static readOnly(dir: string): GroupOffsetStore {
    return new GroupOffsetStore(dir, false);
  }

  /** Replaces the cached offsets of `group` with its file's current content (none if it has no file). */
  async reload(group: string): Promise<void> {
    const file = await readGroupFile(join(this.dir, fileName(group)));
    this.groups.delete(group);
    if (file) this.apply(file);
  }

  private apply(file: GroupFile): void {
    const state = this.state(file.group);
    for (const [topic, partitions] of Object.entries(file.offsets)) {
      state.offsets.set(topic, new Map(Object.entries(partitions).map(([p, o]) => [Number(p), o])));
    }
  }

  private state(group: string): GroupState {
    let state = this.groups.get(group);
    if (!state) {
      state = { offsets: new Map(), running: Promise.resolve(), queued: undefined };
      this.groups.set(group, state);
    }
    return state;
  }

  /** The group's committed offsets of `topic` by partition (a copy). */
  committed(group: string, topic: string): Map<number, number> {
    return new Map(this.groups.get(group)?.offsets.get(topic) ?? []);
  }

  /** Records the offsets and resolves once the group file holding them is written. */
  commit(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (typeof group !== 'string' || group.length === 0 || Buffer.byteLength(group) > MAX_GROUP_BYTES) {
      return Promise.reject(
        new LogUsageError(
          `consumer group name must be 1..${MAX_GROUP_BYTES} bytes, got ${JSON.stringify(group)}`,
        ),
      );
    }
    for (const o of offsets) {
      if (
        !Number.isSafeInteger(o.offset) ||
        o.offset < 0 ||
        !Number.isInteger(o.partition) ||
        o.partition < 0
      ) {
        return Promise.reject(
          new LogUsageError(`group ${group}: invalid committed offset ${o.topic}-${o.partition}@${o.offset}`),
        );
      }
    }
    const state = this.state(group);
    for (const o of offsets) {
      let topic = state.offsets.get(o.topic);
      if (!topic) {
        topic = new Map();
        state.offsets.set(o.topic, topic);
      }
      topic.set(o.partition, o.offset);
    }
    return this.persist(group, state);
  }

  private persist(group: string, state: GroupState): Promise<void> {
    if (state.queued) return state.queued;
    const write = async (): Promise<void> => {
      state.queued = undefined;
      const file: GroupFile = {
        group,
        offsets: Object.fromEntries(
          [...state.offsets].map(([topic, parts]) => [topic, Object.fromEntries(parts)]),
        ),
      };
      try {
        await writeFileAtomic(join(this.dir, fileName(group)), `${JSON.stringify(file)}\n`, this.durable);
      } catch (err) {
        throw storageErrorFrom(err, `cannot write committed offsets of group ${group} to ${this.dir}`);
      }
    };
    const queued = state.running.then(write, write);
    state.queued = queued;
    state.running = queued.catch(() => undefined);
    return queued;
  }

  /** Removes every group's committed offsets of `topic` (a deleted topic); resolves once the files are written. */
  async forgetTopic(topic: string): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const [group, state] of this.groups)
      if (state.offsets.delete(topic)) writes.push(this.persist(group, state));
    await Promise.all(writes);
  }

  /** Resolves when every commit has been written. */
  async flush(): Promise<void> {
    await Promise.all([...this.groups.values()].map((s) => s.running));
  }
}
