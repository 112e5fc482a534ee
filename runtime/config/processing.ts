/**
 * Settings of the stream-processing runtime: the state engine, commits,
 * the partitions of created topics and the embedded log's fsync.
 *
 * @example
 * ```ts
 * PROCESSING_SETTINGS.stateEngine.env; // 'RECSTREAM_STATE_ENGINE'
 * ```
 */
import { ConfigError } from '../errors.js';
import type { Setting } from './setting.js';

/** How processors keep state and commit, and how the embedded log syncs to disk. */
export const PROCESSING_SETTINGS = {
  stateEngine: {
    env: 'RECSTREAM_STATE_ENGINE',
    kind: 'enum',
    values: ['rocksdb', 'memory'],
    default: 'rocksdb',
    doc: 'processor state engine; memory keeps nothing across restarts (restored from changelogs)',
  },
  commitIntervalMs: {
    env: 'RECSTREAM_COMMIT_INTERVAL_MS',
    kind: 'int',
    min: 1,
    max: 600_000,
    default: 100,
    doc: 'how often processors commit state + input offsets (Kafka Streams commit.interval.ms)',
  },
  commitIdleMs: {
    env: 'RECSTREAM_COMMIT_IDLE_MS',
    kind: 'int',
    min: 0,
    max: 600_000,
    default: 10,
    doc: 'a running processor commits early once its input has been idle this long with records uncommitted, so a lone event is visible within milliseconds; 0 waits for the commit interval',
  },
  partitions: {
    env: 'RECSTREAM_PARTITIONS',
    kind: 'int',
    min: 1,
    max: 1024,
    default: 4,
    doc: 'partitions for topics recstream creates',
  },
  processThreads: {
    env: 'RECSTREAM_PROCESS_THREADS',
    kind: 'string',
    default: '1',
    doc: 'stream threads of `recstream process --once`: a whole number, or auto (the cores, at most the partitions a process runs); --threads overrides it, and a live process runs on one thread',
  },
  logFsync: {
    env: 'RECSTREAM_LOG_FSYNC',
    kind: 'enum',
    values: ['never', 'always', 'interval'],
    default: 'interval',
    doc: 'embedded log fsync: every append, never (kill -9 safe, not power-loss safe) or every 1s',
  },
} as const satisfies Record<string, Setting>;

/** Refuses a `RECSTREAM_PROCESS_THREADS` that is neither a whole number from 1 nor `auto`. */
export function checkProcessThreads(config: { readonly processThreads: string }): void {
  if (!/^(auto|[1-9]\d*)$/.test(config.processThreads.trim()))
    throw new ConfigError(
      `RECSTREAM_PROCESS_THREADS=${JSON.stringify(config.processThreads)} must be a whole number from 1, or auto`,
    );
}
