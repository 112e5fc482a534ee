/**
 * The platform's topics, declared once: for each, its value
 * subject, the value field its records are keyed by, the field holding its
 * event time, whether it is compacted and how many partitions it gets
 * (runtime/topics/topic-catalogue.ts says what each means). The producer
 * (through the serde's contract), the runner, the schemas, the importer,
 * the simulator and `recstream topics --plan` all read this table.
 *
 * Partition rules here: the inputs and the topics written by the trainer,
 * the indexer and the responders are `configured`; sinks of processor
 * applications `co-partitioned`; the dead-letter topic `single`, read in
 * order by people.
 *
 * @example
 * ```ts
 * catalogueTopic('rec.items')?.compacted; // true
 * topicPartitions('rec.dlq', 4);           // 1
 * ```
 */
import type { TopicSpec } from '../runtime/log/log.js';
import { DLQ_TOPIC } from '../runtime/processor/dead-letter.js';
import { type CatalogueTopic, TopicCatalogue } from '../runtime/topics/topic-catalogue.js';

export { DLQ_TOPIC };

export const INTERACTIONS_TOPIC = 'rec.interactions';
export const ITEMS_TOPIC = 'rec.items';
export const USERS_TOPIC = 'rec.users';
export const ENRICHED_TOPIC = 'rec.interactions.enriched';
export const TRAINING_EXAMPLES_TOPIC = 'rec.training-examples';
export const TRAINING_SNAPSHOTS_TOPIC = 'rec.training-snapshots';
export const MODEL_VERSIONS_TOPIC = 'rec.model-versions';
export const INDEX_VERSIONS_TOPIC = 'rec.index-versions';
export const RECOMMENDATIONS_TOPIC = 'rec.recommendations';
export const EXPERIMENTS_TOPIC = 'rec.experiments';
export const PROMOTIONS_TOPIC = 'rec.promotions';
export const EXPERIMENT_OUTCOMES_TOPIC = 'rec.experiment-outcomes';
export const CO_VISITS_TOPIC = 'rec.co-visits';

/** Every platform topic with a shipped value schema, in pipeline order. */
export const TOPIC_CATALOGUE = [
  {
    name: INTERACTIONS_TOPIC,
    subject: 'rec.interactions-value',
    key: 'user_id',
    time: 'ts',
    compacted: false,
    partitions: 'configured',
    writtenBy: 'simulate, import, the responders’ event ingest',
  },
  {
    name: ITEMS_TOPIC,
    subject: 'rec.items-value',
    key: 'item_id',
    time: 'updated_ts',
    compacted: true,
    partitions: 'configured',
    writtenBy: 'simulate, import',
  },
  {
    name: USERS_TOPIC,
    subject: 'rec.users-value',
    key: 'user_id',
    time: 'updated_ts',
    compacted: true,
    partitions: 'configured',
    writtenBy: 'simulate, import',
  },
  {
    name: ENRICHED_TOPIC,
    subject: 'rec.interactions.enriched-value',
    key: 'item_id',
    time: undefined,
    compacted: false,
    partitions: 'co-partitioned',
    writtenBy: 'the features application',
  },
  {
    name: TRAINING_EXAMPLES_TOPIC,
    subject: 'rec.training-examples-value',
    key: 'user_id',
    time: 'ts',
    compacted: false,
    partitions: 'co-partitioned',
    writtenBy: 'the features application',
  },
  {
    name: TRAINING_SNAPSHOTS_TOPIC,
    subject: 'rec.training-snapshots-value',
    key: 'snapshot_id',
    time: 'created_ts',
    compacted: false,
    partitions: 'co-partitioned',
    writtenBy: 'the snapshots application',
  },
  {
    name: MODEL_VERSIONS_TOPIC,
    subject: 'rec.model-versions-value',
    key: 'model',
    time: 'status_ts',
    compacted: false,
    partitions: 'configured',
    writtenBy: 'train, models promote/rollback',
  },
  {
    name: INDEX_VERSIONS_TOPIC,
    subject: 'rec.index-versions-value',
    key: 'index',
    time: 'built_ts',
    compacted: false,
    partitions: 'configured',
    writtenBy: 'index build',
  },
  {
    name: RECOMMENDATIONS_TOPIC,
    subject: 'rec.recommendations-value',
    key: 'user_id',
    time: 'served_ts',
    compacted: false,
    partitions: 'configured',
    writtenBy: 'the responders (served recommendations)',
  },
  {
    name: EXPERIMENTS_TOPIC,
    subject: 'rec.experiments-value',
    key: 'id',
    time: 'updated_ts',
    compacted: true,
    partitions: 'single',
    writtenBy: 'experiments start/stop, models promote --canary, the canary controller',
  },
  {
    name: PROMOTIONS_TOPIC,
    subject: 'rec.promotions-value',
    key: 'item_id',
    time: 'updated_ts',
    compacted: true,
    partitions: 'configured',
    writtenBy: 'producers of promoted slots (merchandising tools), import',
  },
  {
    name: EXPERIMENT_OUTCOMES_TOPIC,
    subject: 'rec.experiment-outcomes-value',
    key: 'experiment_id',
    time: 'ts',
    compacted: false,
    partitions: 'co-partitioned',
    writtenBy: 'the experiment-metrics application',
  },
  {
    name: CO_VISITS_TOPIC,
    subject: 'rec.co-visits-value',
    key: 'item_id',
    time: 'ts',
    compacted: false,
    partitions: 'co-partitioned',
    writtenBy: 'the co-visitation application',
  },
  {
    name: DLQ_TOPIC,
    subject: 'rec.dlq-value',
    key: 'source_topic',
    time: 'failed_ts',
    compacted: false,
    partitions: 'single',
    writtenBy: 'every application and import (records they could not process)',
  },
] as const satisfies readonly CatalogueTopic[];

type Entry = (typeof TOPIC_CATALOGUE)[number];

/** A topic of the catalogue. */
export type CatalogueTopicName = Entry['name'];

/** The value subject of a catalogue topic. */
export type CatalogueSubject = Entry['subject'];

/** Subject → topic, for every catalogue topic. */
export const TOPIC_BY_SUBJECT = Object.fromEntries(TOPIC_CATALOGUE.map((t) => [t.subject, t.name])) as {
  readonly [E in Entry as E['subject']]: E['name'];
};

/** The catalogue as the runtime takes it (the serde's contract, the runner's options). */
export const PLATFORM_TOPICS = new TopicCatalogue(TOPIC_CATALOGUE);

/** The catalogue entry of a topic; undefined for topics outside it (changelogs, scratch topics). */
export function catalogueTopic(name: string): CatalogueTopic | undefined {
  return PLATFORM_TOPICS.topic(name);
}

/** Whether a topic is, or should be created, compacted: catalogue tables and every changelog. */
export function isCompactedTopic(name: string): boolean {
  return PLATFORM_TOPICS.isCompacted(name);
}

/**
 * Partitions of a catalogue topic (see `TopicCatalogue.partitions`).
 *
 * @throws Error for a topic outside the catalogue
 */
export function topicPartitions(name: string, configured: number, coPartitions = configured): number {
  return PLATFORM_TOPICS.partitions(name, configured, coPartitions);
}

/**
 * The spec to create a catalogue topic with, `configured` being the
 * platform's partition setting.
 *
 * @example
 * ```ts
 * await log.ensureTopic(catalogueSpec(ITEMS_TOPIC, config.partitions)); // 4 partitions, compacted
 * ```
 */
export function catalogueSpec(name: string, configured: number, coPartitions = configured): TopicSpec {
  return PLATFORM_TOPICS.spec(name, configured, coPartitions);
}

/** The topics producers of records from outside write first: the catalog, the users and the interactions. */
export const INPUT_TOPICS = [ITEMS_TOPIC, USERS_TOPIC, INTERACTIONS_TOPIC] as const;
