/**
 * The embedded event log back-end.
 *
 * @example
 * ```ts
 * import { EmbeddedLog } from './runtime/log/embedded/index.js';
 * const log = await EmbeddedLog.open('./data/log');
 * ```
 */

export type { CompactionResult } from './compaction.js';
export { EmbeddedLog, type RecoveryWarning } from './embedded-log.js';
export type { EmbeddedLogOptions, FsyncMode, LogWarnSink } from './options.js';
