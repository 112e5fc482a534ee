/**
 * The topics a deployment needs, worked out from the catalogue and the
 * applications' topologies without asking the log: every catalogue topic,
 * every source, sink and internal topic of each application, its changelogs
 * (compacted, co-partitioned) and the dead-letter topic, each with its
 * partition count and compaction, and what uses it. An SRE creates these
 * ahead on a cluster where clients may not create topics; the test harness
 * declares them to go-mokapi.
 *
 * Every application reads the platform's input topics (partition rule
 * `configured`) or topics written by an application over them, so a
 * co-partitioned topic gets the configured count too.
 *
 * @example
 * ```ts
 * const plan = topicPlan(await selectTopologies({ serde, config }, 'all'), config.partitions);
 * plan.find((t) => t.topic === 'rec.dlq'); // { partitions: 1, compacted: false, uses: [...] }
 * ```
 */
import { internalTopics } from '../runtime/engine/namespace.js';
import type { Topology } from '../runtime/processor/topology.js';
import {
  catalogueTopic,
  DLQ_TOPIC,
  isCompactedTopic,
  TOPIC_CATALOGUE,
  topicPartitions,
} from '../schemas/topics.js';

/** How an application uses a topic. */
export type TopicUse = 'source' | 'sink' | 'internal' | 'changelog' | 'global-table' | 'dead-letters';

export interface PlannedTopic {
  readonly topic: string;
  readonly partitions: number;
  readonly compacted: boolean;
  /** `<application>:<use>`, e.g. `features:source`, in application order. */
  readonly uses: readonly string[];
  /** Who writes it outside processor applications (catalogue topics only). */
  readonly writtenBy?: string;
}

/** The topic plan of `topologies` on a platform whose `RECSTREAM_PARTITIONS` is `partitions`, sorted by topic. */
export function topicPlan(topologies: readonly Topology[], partitions: number): PlannedTopic[] {
  const plan = new Map<
    string,
    { partitions: number; compacted: boolean; uses: string[]; writtenBy?: string }
  >();
  const entry = (topic: string) => {
    let found = plan.get(topic);
    if (found === undefined) {
      const known = catalogueTopic(topic);
      found = {
        partitions: known === undefined ? partitions : topicPartitions(topic, partitions),
        compacted: isCompactedTopic(topic),
        uses: [],
        ...(known === undefined ? {} : { writtenBy: known.writtenBy }),
      };
      plan.set(topic, found);
    }
    return found;
  };
  const use = (topic: string, application: string, how: TopicUse) => {
    const uses = entry(topic).uses;
    const tag = `${application}:${how}`;
    if (!uses.includes(tag)) uses.push(tag);
  };
  for (const topic of TOPIC_CATALOGUE) entry(topic.name);
  for (const topology of topologies) {
    const app = topology.applicationId;
    const internal = internalTopics(topology);
    for (const topic of topology.sourceTopics()) use(topic, app, internal.has(topic) ? 'internal' : 'source');
    for (const topic of topology.sinkTopics()) if (!internal.has(topic)) use(topic, app, 'sink');
    for (const table of topology.globalTables) use(table.topic, app, 'global-table');
    for (const store of topology.stores) use(store.changelogTopic, app, 'changelog');
    use(DLQ_TOPIC, app, 'dead-letters');
  }
  return [...plan].sort(([a], [b]) => a.localeCompare(b)).map(([topic, planned]) => ({ topic, ...planned }));
}
