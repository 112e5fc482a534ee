/**
 * The state layer of the processor runtime: typed key-value stores with a
 * write-back cache over one engine per task (RocksDB or memory), backed by
 * changelog topics, committed atomically with the input offsets they reflect.
 *
 * @example
 * ```ts
 * import { TaskState, numberCodec } from './runtime/state/index.js';
 * const state = await TaskState.open({ dir, engine: 'rocksdb', log, applicationId: 'app', partition: 0,
 *   stores: [{ name: 'counts', codec: numberCodec, changelogTopic: 'rec.app.counts.changelog' }] });
 * ```
 */

export { type CommitMarker, MARKER_HEADER, MARKER_KEY } from './changelog/marker.js';
export { avroCodec, jsonCodec, numberCodec, stableStringify, stringCodec } from './codecs/index.js';
export { MemoryEngine } from './memory/memory-engine.js';
export { RocksDbEngine, type RocksDbEngineOptions } from './rocksdb/rocksdb-engine.js';
export type { ByteWrite, KeyRange, KeyValueStore, StoreEngine, ValueCodec } from './store.js';
export {
  type RecoveryReport,
  type StateLogger,
  type StoreSpec,
  TaskState,
  type TaskStateOptions,
} from './task-state.js';
