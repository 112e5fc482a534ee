/**
 * What the producer reads from the application's topic catalogue (the
 * serde's contract): the value type of each topic, the field its records
 * are keyed by and the field that holds its event time — so that
 * `producer.send('rec.interactions', [{ value: event }])` is typed and
 * partitions by `user_id` without the caller repeating the contract.
 *
 * @example
 * ```ts
 * naturalKey(topics.topic('rec.items'), item);            // item.item_id
 * eventTime(topics.topic('rec.interactions'), ev);        // ev.ts
 * ```
 */
import type { SubjectValueTypes } from '../serde/serde.js';
import type { CatalogueTopic } from '../topics/topic-catalogue.js';

/** The generated value type of a shipped topic; `unknown` for other topics (their schema comes from SerdeOptions). */
export type TopicValue<T extends string> = `${T}-value` extends keyof SubjectValueTypes
  ? SubjectValueTypes[`${T}-value`]
  : unknown;

/** The record key a value of a catalogue topic is partitioned by; undefined for other topics or values. */
export function naturalKey(topic: CatalogueTopic | undefined, value: unknown): string | undefined {
  const field = topic?.key;
  if (field === undefined || value === null || typeof value !== 'object') return undefined;
  const key = (value as Record<string, unknown>)[field];
  return typeof key === 'string' ? key : undefined;
}

/** The event time of a value of a catalogue topic; undefined when the topic has none. */
export function eventTime(topic: CatalogueTopic | undefined, value: unknown): number | undefined {
  const field = topic?.time;
  if (field === undefined || value === null || typeof value !== 'object') return undefined;
  const ts = (value as Record<string, unknown>)[field];
  return typeof ts === 'number' && Number.isSafeInteger(ts) ? ts : undefined;
}
