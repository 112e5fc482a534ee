/**
 * What a task's state is opened with: its directory and engine, the log its
 * changelogs live in, the task's application and partition, and the stores
 * the topology declares; and the checks those options pass before anything
 * is opened.
 *
 * @example
 * ```ts
 * validateTaskOptions({ dir, engine: 'rocksdb', log, applicationId: 'counts', partition: 0, stores });
 * ```
 */
import { StateStoreError } from '../errors.js';
import type { EventLog } from '../log/log.js';
import { storePrefix } from './keys.js';
import type { StateLogger } from './recovery.js';
import type { RocksDbEngineOptions } from './rocksdb/rocksdb-engine.js';
import type { ValueCodec } from './store.js';

/** A store of a task, as the topology declares it. */
export interface StoreSpec<V = unknown> {
  readonly name: string;
  readonly codec: ValueCodec<V>;
  /** Compacted topic with at least as many partitions as the task's input topics; the caller creates it. */
  readonly changelogTopic: string;
  /** Clean values kept decoded in memory. Default 100,000. */
  readonly cacheEntries?: number;
}

export interface TaskStateOptions {
  /** The task's own directory (RocksDB engine); unused by the memory engine. */
  readonly dir: string;
  readonly engine: 'rocksdb' | 'memory';
  readonly log: EventLog;
  readonly applicationId: string;
  /** The input partition this task owns; its changelog partition has the same number. */
  readonly partition: number;
  // biome-ignore lint/suspicious/noExplicitAny: each store has its own value type.
  readonly stores: readonly StoreSpec<any>[];
  readonly logger?: StateLogger;
  /** Called as a store is restored from its changelog: changelog records replayed so far, out of `total`. */
  readonly onRestoreProgress?: (store: string, restored: number, total: number) => void;
  readonly rocksdb?: RocksDbEngineOptions;
}

/** Refuses a negative or fractional partition, a store declared twice, or a store name no prefix can be made of. */
export function validateTaskOptions(options: TaskStateOptions): void {
  if (!Number.isSafeInteger(options.partition) || options.partition < 0) {
    throw new StateStoreError(`invalid task partition ${options.partition}: expected an integer >= 0`);
  }
  const seen = new Set<string>();
  for (const spec of options.stores) {
    if (seen.has(spec.name))
      throw new StateStoreError(
        `task ${options.applicationId}/${options.partition} declares store ${spec.name} twice`,
      );
    seen.add(spec.name);
    storePrefix(spec.name);
  }
}
