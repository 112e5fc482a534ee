/**
 * Settings of the feature processors: event-time lateness and watermarks,
 * the dedup horizon, the label window, and when the snapshotter closes a
 * training snapshot.
 *
 * @example
 * ```ts
 * FEATURE_SETTINGS.featureLatenessMs.env; // 'RECSTREAM_FEATURE_LATENESS_MS'
 * ```
 */
import type { Setting } from './setting.js';

/** Event-time, dedup, label and snapshot settings of the feature pipeline. */
export const FEATURE_SETTINGS = {
  featureLatenessMs: {
    env: 'RECSTREAM_FEATURE_LATENESS_MS',
    kind: 'int',
    min: 0,
    max: 7 * 24 * 3600 * 1000,
    default: 5 * 60 * 1000,
    doc: 'how late (event time) an interaction may arrive and still be placed exactly in the feature views',
  },
  dedupHorizonMs: {
    env: 'RECSTREAM_DEDUP_HORIZON_MS',
    kind: 'int',
    min: 3600 * 1000,
    max: 365 * 24 * 3600 * 1000,
    default: 7 * 24 * 3600 * 1000,
    doc: 'how long (event time, as each task has seen it advance) processors remember an event_id after it arrived, to drop its duplicates; kept in one-hour segments',
  },
  labelWindowMs: {
    env: 'RECSTREAM_LABEL_WINDOW_MS',
    kind: 'int',
    min: 1,
    max: 7 * 24 * 3600 * 1000,
    default: 30 * 60 * 1000,
    doc: 'how long after an impression (event time) a click-through still labels it clicked',
  },
  experimentAttributionMs: {
    env: 'RECSTREAM_EXPERIMENT_ATTRIBUTION_MS',
    kind: 'int',
    min: 1,
    max: 24 * 3600 * 1000,
    default: 2 * 60 * 1000,
    doc: "how long after a served list of an experiment (event time) its clicks and watch time count in its variant's online figures; the list is counted once this has passed",
  },
  watermarkIntervalMs: {
    env: 'RECSTREAM_WATERMARK_INTERVAL_MS',
    kind: 'int',
    min: 1,
    max: 24 * 3600 * 1000,
    default: 5 * 60 * 1000,
    doc: 'event-time progress between watermarks user-features sends to every item-features task, and co-visitation-sessions to every co-visitation task',
  },
  snapshotEveryExamples: {
    env: 'RECSTREAM_SNAPSHOT_EVERY_EXAMPLES',
    kind: 'int',
    min: 1,
    max: 100_000_000,
    default: 100_000,
    doc: 'the snapshotter closes a training snapshot of a partition after this many examples',
  },
  snapshotEveryMs: {
    env: 'RECSTREAM_SNAPSHOT_EVERY_MS',
    kind: 'int',
    min: 1,
    max: 365 * 24 * 3600 * 1000,
    default: 24 * 3600 * 1000,
    doc: 'the snapshotter closes a training snapshot of a partition once its examples span this much event time',
  },
} as const satisfies Record<string, Setting>;
