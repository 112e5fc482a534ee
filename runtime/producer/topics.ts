/**
 * What the producer knows about the platform's topics (DESIGN.md §5): the
 * value type of each, the field its records are keyed by, the field that
 * holds its event time, and whether it is compacted — so that
 * `producer.send('rec.interactions', [{ value: event }])` is typed and
 * partitions by `user_id` without the caller repeating the contract.
 *
 * @example
 * ```ts
 * naturalKey('rec.items', item);      // item.item_id
 * eventTime('rec.interactions', ev);  // ev.ts
 * ```
 */
import type { SubjectValueTypes } from '../../schemas/generated/types.js';

/** The generated value type of a shipped topic; `unknown` for other topics (their schema comes from SerdeOptions). */
export type TopicValue<T extends string> = `${T}-value` extends keyof SubjectValueTypes
  ? SubjectValueTypes[`${T}-value`]
  : unknown;

/** The key field of each shipped topic (DESIGN.md §5). */
const KEY_FIELDS: Readonly<Record<string, string>> = {
  'rec.interactions': 'user_id',
  'rec.items': 'item_id',
  'rec.users': 'user_id',
  'rec.interactions.enriched': 'item_id',
  'rec.training-examples': 'user_id',
  'rec.training-snapshots': 'snapshot_id',
  'rec.model-versions': 'model',
  'rec.index-versions': 'index',
  'rec.recommendations': 'user_id',
  'rec.dlq': 'source_topic',
};

/** The field holding each shipped topic's event time, used as the record timestamp. */
const TIME_FIELDS: Readonly<Record<string, string>> = {
  'rec.interactions': 'ts',
  'rec.items': 'updated_ts',
  'rec.users': 'updated_ts',
  'rec.training-examples': 'ts',
  'rec.training-snapshots': 'created_ts',
  'rec.model-versions': 'status_ts',
  'rec.index-versions': 'built_ts',
  'rec.recommendations': 'served_ts',
  'rec.dlq': 'failed_ts',
};

/** Topics that keep the last value per key (catalog and user tables). */
const COMPACTED = new Set(['rec.items', 'rec.users']);

/** The record key a value of a shipped topic is partitioned by; undefined for other topics or values. */
export function naturalKey(topic: string, value: unknown): string | undefined {
  const field = KEY_FIELDS[topic];
  if (field === undefined || value === null || typeof value !== 'object') return undefined;
  const key = (value as Record<string, unknown>)[field];
  return typeof key === 'string' ? key : undefined;
}

/** The event time of a value of a shipped topic; undefined when the topic has none. */
export function eventTime(topic: string, value: unknown): number | undefined {
  const field = TIME_FIELDS[topic];
  if (field === undefined || value === null || typeof value !== 'object') return undefined;
  const ts = (value as Record<string, unknown>)[field];
  return typeof ts === 'number' && Number.isSafeInteger(ts) ? ts : undefined;
}

/** Whether a topic the producer creates should be compacted. */
export function isCompactedTopic(topic: string): boolean {
  return COMPACTED.has(topic) || topic.endsWith('.changelog');
}
