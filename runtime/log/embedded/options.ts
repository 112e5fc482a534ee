/**
 * Options of the embedded log, their defaults and validation.
 */
import { ConfigError } from '../../errors.js';

/** Where warnings (torn tails truncated, failed background work) go; pino loggers fit. */
export interface LogWarnSink {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * When data is fsynced. Every mode survives kill -9 of the process, because
 * an acknowledged append has been handed to the OS; fsync adds survival of
 * power loss or a kernel crash.
 * - `'always'`: fdatasync before acknowledging each write (slowest, no loss).
 * - a number of milliseconds: a background fdatasync that often (default
 *   1000: a power loss loses at most about the last second).
 * - `'never'`: leave it to the OS write-back (Kafka's default, which relies
 *   on replication instead).
 */
export type FsyncMode = 'always' | 'never' | number;

export interface EmbeddedLogOptions {
  /** Default 1000 (ms interval). */
  readonly fsync?: FsyncMode;
  /** Roll the active segment when the next batch would make it larger. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Roll a segment whose first batch is older than this, so time retention can delete it. Default 7 days. */
  readonly segmentMs?: number;
  /** Bytes between sparse index entries. Default 4096. */
  readonly indexIntervalBytes?: number;
  /** How long a tombstone survives compaction after it was appended (Kafka's `delete.retention.ms`). Default 24 h. */
  readonly deleteRetentionMs?: number;
  /** Background compaction starts once this share of a partition's closed bytes was written since the last compaction (Kafka's `min.cleanable.dirty.ratio`). Default 0.5. */
  readonly minCleanableDirtyRatio?: number;
  /** Period of background retention and compaction; 0 turns it off (tests call `compact`/`enforceRetention`). Default 30 s. */
  readonly maintenanceIntervalMs?: number;
  /**
   * Open for reading only, beside the process that writes the log (tools
   * such as `recstream topics`): no lock is taken, nothing is created,
   * truncated or compacted, no background work runs, and what the writer
   * appends later becomes visible as reads reach the end. Appending,
   * creating topics, committing offsets, compaction, retention and rolls
   * fail with LogUsageError. `fsync` and the maintenance options do not
   * apply. Default false.
   */
  readonly readOnly?: boolean;
  /**
   * With `readOnly`: appends and offset commits go to the process holding
   * the log, through its spool (append-spool.ts), instead of failing, for
   * commands that add a few events beside a running process (`recstream
   * experiments start`, `dlq replay`).
   * Everything else stays read-only. Default false.
   */
  readonly appendThroughOwner?: boolean;
  readonly logger?: LogWarnSink;
}

export interface ResolvedOptions {
  readonly fsync: FsyncMode;
  readonly segmentBytes: number;
  readonly segmentMs: number;
  readonly indexIntervalBytes: number;
  readonly deleteRetentionMs: number;
  readonly minCleanableDirtyRatio: number;
  readonly maintenanceIntervalMs: number;
  readonly readOnly: boolean;
  readonly appendThroughOwner: boolean;
  readonly logger: LogWarnSink;
}

const stderrLogger: LogWarnSink = {
  warn(fields, message) {
    process.stderr.write(
      `${JSON.stringify({ level: 'warn', time: Date.now(), component: 'embedded-log', ...fields, msg: message })}\n`,
    );
  },
};

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min)
    throw new ConfigError(`EmbeddedLog option ${name} must be a number >= ${min}, got ${value}`);
  return value;
}

function ratio(value: number | undefined): number {
  if (value === undefined) return 0.5;
  if (!Number.isFinite(value) || value <= 0 || value > 1)
    throw new ConfigError(`EmbeddedLog option minCleanableDirtyRatio must be in (0, 1], got ${value}`);
  return value;
}

export function resolveOptions(options: EmbeddedLogOptions): ResolvedOptions {
  const fsync = options.fsync ?? 1000;
  if (
    fsync !== 'always' &&
    fsync !== 'never' &&
    !(typeof fsync === 'number' && Number.isFinite(fsync) && fsync > 0)
  ) {
    throw new ConfigError(
      `EmbeddedLog option fsync must be 'always', 'never' or a positive interval in ms, got ${String(fsync)}`,
    );
  }
  return {
    fsync,
    segmentBytes: positive('segmentBytes', options.segmentBytes, 64 * 1024 * 1024, 1024),
    segmentMs: positive('segmentMs', options.segmentMs, 7 * 24 * 3600 * 1000),
    indexIntervalBytes: positive('indexIntervalBytes', options.indexIntervalBytes, 4096),
    deleteRetentionMs: positive('deleteRetentionMs', options.deleteRetentionMs, 24 * 3600 * 1000, 0),
    minCleanableDirtyRatio: ratio(options.minCleanableDirtyRatio),
    maintenanceIntervalMs: positive('maintenanceIntervalMs', options.maintenanceIntervalMs, 30_000, 0),
    readOnly: options.readOnly ?? false,
    appendThroughOwner: options.appendThroughOwner ?? false,
    logger: options.logger ?? stderrLogger,
  };
}
