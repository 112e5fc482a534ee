/**
 * Checks a topology's topics before its tasks start: source topics must
 * exist and be co-partitioned (one task reads partition p of each); the
 * internal topics the topology writes (changelogs, repartition sinks,
 * rec.dlq) are created with the same partition count when missing (a
 * catalogue topic with its catalogue spec), and so
 * is a catalogue topic the topology reads that nobody has written yet
 * (rec.recommendations before any responder served), so an application
 * starts before all its producers have.
 */
import { TopologyError } from '../../errors.js';
import type { EventLog } from '../../log/log.js';
import { DLQ_TOPIC } from '../../processor/dead-letter.js';
import type { Topology } from '../../processor/topology.js';
import type { TopicCatalogue } from '../../topics/topic-catalogue.js';

/** Returns the partition count every task of the topology shares. */
export async function prepareTopics(
  topology: Topology,
  log: EventLog,
  topics: TopicCatalogue,
): Promise<number> {
  const counts = new Map<string, number>();
  for (const topic of topology.sourceTopics()) {
    const info = await log.describeTopic(topic);
    if (info) counts.set(topic, info.partitions);
  }
  const known = [...counts.values()];
  const partitions = known[0];
  if (partitions === undefined) {
    throw new TopologyError(
      `none of the source topics ${topology.sourceTopics().join(', ')} exists yet, so their partition count is unknown: produce to one of them first`,
    );
  }
  for (const topic of topology.sourceTopics()) {
    const n = counts.get(topic);
    if (n === undefined) {
      // An internal topic (written by a sink of this topology) or a platform topic is created co-partitioned.
      if (topics.topic(topic) !== undefined) await log.ensureTopic(topics.spec(topic, partitions));
      else if (topology.sinkTopics().includes(topic)) await log.ensureTopic({ name: topic, partitions });
      else throw new TopologyError(`source topic ${topic} does not exist`);
    } else if (n !== partitions) {
      const listing = [...counts].map(([t, c]) => `${t}=${c}`).join(', ');
      throw new TopologyError(`source topics must be co-partitioned (same partition count): ${listing}`);
    }
  }
  for (const store of topology.stores)
    await log.ensureTopic({ name: store.changelogTopic, partitions, compacted: true });
  // A catalogue topic a sink writes keeps its catalogue spec (rec.experiments: one partition, compacted).
  for (const topic of topology.sinkTopics()) {
    if (await log.describeTopic(topic)) continue;
    await log.ensureTopic(
      topics.topic(topic) !== undefined ? topics.spec(topic, partitions) : { name: topic, partitions },
    );
  }
  // One partition, whatever the application's count: people read dead letters in order.
  if (!(await log.describeTopic(DLQ_TOPIC)))
    await log.ensureTopic({ name: DLQ_TOPIC, partitions: 1, compacted: false });
  return partitions;
}
