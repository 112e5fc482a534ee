/**
 * Shared setup of the TaskState tests: a real embedded log in a scratch
 * directory with the changelog topics of a two-store task, and helpers to
 * open task states and read changelogs back.
 *
 * @example
 * ```ts
 * await withFixture(async (fx) => {
 *   const state = await fx.open('a');
 *   state.store<number>('counts').put('u1', 1);
 *   await state.commit(new Map([['in', 1]]));
 * });
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../log/embedded/embedded-log.js';
import type { LogRecord } from '../log/log.js';
import { isMarker } from './changelog/marker.js';
import { jsonCodec } from './codecs/json-codec.js';
import { numberCodec } from './codecs/number-codec.js';
import { type StoreSpec, TaskState, type TaskStateOptions } from './task-state.js';

export const PARTITION = 1;
export const COUNTS_TOPIC = 'rec.app.counts.changelog';
export const PROFILES_TOPIC = 'rec.app.profiles.changelog';

export interface Profile {
  readonly name: string;
  readonly tags: readonly string[];
}

export const STORES: readonly StoreSpec<unknown>[] = [
  { name: 'counts', codec: numberCodec as StoreSpec<unknown>['codec'], changelogTopic: COUNTS_TOPIC },
  {
    name: 'profiles',
    codec: jsonCodec<Profile>() as StoreSpec<unknown>['codec'],
    changelogTopic: PROFILES_TOPIC,
  },
];

export interface Fixture {
  readonly log: EmbeddedLog;
  readonly root: string;
  /** Opens the task state in `<root>/<dirName>`. */
  open(dirName: string, options?: Partial<TaskStateOptions>): Promise<TaskState>;
  /** Every record of the task's changelog partition of `topic`. */
  changelog(topic: string): Promise<LogRecord[]>;
  /** The last value per key of a changelog partition, markers left out, tombstones removed: what a restore yields. */
  lastValues(topic: string): Promise<Map<string, string>>;
}

export async function withFixture(body: (fx: Fixture) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'recstream-state-'));
  const log = await EmbeddedLog.open(join(root, 'log'), { fsync: 'never', maintenanceIntervalMs: 0 });
  const opened: TaskState[] = [];
  try {
    for (const topic of [COUNTS_TOPIC, PROFILES_TOPIC])
      await log.ensureTopic({ name: topic, partitions: 2, compacted: true });
    const changelog = async (topic: string): Promise<LogRecord[]> => {
      const out: LogRecord[] = [];
      for (;;) {
        const batch = await log.read(
          topic,
          PARTITION,
          out.length === 0 ? 0 : (out[out.length - 1] as LogRecord).offset + 1,
          1000,
        );
        if (batch.length === 0) return out;
        out.push(...batch);
      }
    };
    await body({
      log,
      root,
      changelog,
      async open(dirName, options = {}) {
        const state = await TaskState.open({
          dir: join(root, dirName),
          engine: 'rocksdb',
          log,
          applicationId: 'app',
          partition: PARTITION,
          stores: STORES,
          ...options,
        });
        opened.push(state);
        return state;
      },
      async lastValues(topic) {
        const values = new Map<string, string>();
        for (const record of await changelog(topic)) {
          if (isMarker(record) || record.key === null) continue;
          if (record.value === null) values.delete(record.key);
          else values.set(record.key, record.value.toString('hex'));
        }
        return values;
      },
    });
  } finally {
    for (const state of opened) await state.close().catch(() => undefined);
    await log.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** The committed entries of a store as hex values, read through the store's own range. */
export async function entries(state: TaskState, store: string): Promise<Map<string, string>> {
  const spec = STORES.find((s) => s.name === store) as StoreSpec<unknown>;
  const out = new Map<string, string>();
  for await (const [key, value] of state.store<unknown>(store).range())
    out.set(key, spec.codec.encode(value).toString('hex'));
  return out;
}
