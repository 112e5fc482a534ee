/**
 * What makes a TopicSpec valid, for every EventLog back-end: a name Kafka
 * accepts, a partition count, and positive retention limits when given.
 * Returns the spec with its defaults filled in (not compacted) and unset
 * limits left out, the form a back-end stores and compares.
 *
 * @example
 * ```ts
 * validateTopicSpec({ name: 'rec.items', partitions: 4, compacted: true });
 * validateTopicSpec({ name: 'a/b', partitions: 1 }); // throws TopicError: invalid topic name "a/b" …
 * ```
 */
import { TopicError } from '../errors.js';
import type { TopicInfo, TopicSpec } from './log.js';

/** A validated TopicSpec: `compacted` decided, retention limits present only when set. */
export interface ValidTopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly compacted: boolean;
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
}

/** Kafka's rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * @param options.maxPartitions a back-end's own limit (the embedded log keeps
 *   a directory per partition); none by default.
 */
export function validateTopicSpec(spec: TopicSpec, options: { maxPartitions?: number } = {}): ValidTopicSpec {
  const max = options.maxPartitions ?? Number.POSITIVE_INFINITY;
  if (
    typeof spec.name !== 'string' ||
    !TOPIC_NAME.test(spec.name) ||
    spec.name === '.' ||
    spec.name === '..'
  ) {
    throw new TopicError(`invalid topic name ${JSON.stringify(spec.name)}: use 1-249 of [a-zA-Z0-9._-]`);
  }
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > max) {
    throw new TopicError(
      Number.isFinite(max)
        ? `topic ${spec.name}: partitions must be an integer in 1..${max}, got ${spec.partitions}`
        : `topic ${spec.name}: partitions must be a positive integer, got ${spec.partitions}`,
    );
  }
  for (const field of ['retentionMs', 'retentionBytes'] as const) {
    const v = spec[field];
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw new TopicError(`topic ${spec.name}: ${field} must be a positive number, got ${v}`);
  }
  return {
    name: spec.name,
    partitions: spec.partitions,
    compacted: spec.compacted ?? false,
    ...(spec.retentionMs !== undefined ? { retentionMs: spec.retentionMs } : {}),
    ...(spec.retentionBytes !== undefined ? { retentionBytes: spec.retentionBytes } : {}),
  };
}

/** What `describeTopic` reports of a spec. */
export function topicInfo(spec: ValidTopicSpec): TopicInfo {
  return { name: spec.name, partitions: spec.partitions, compacted: spec.compacted };
}
