/**
 * An application's topics, declared once: for each, its value subject
 * (Confluent TopicNameStrategy), the value field its records are keyed by,
 * the field holding its event time, whether it is compacted and how many
 * partitions it gets. The runtime names no topic but its dead-letter topic:
 * an application hands its catalogue to the serde (`DataContract`), which
 * the producer keys, timestamps and creates topics by, and to the runner,
 * which creates the platform topics a topology reads before anyone wrote
 * them and hashes user keys in failure messages.
 *
 * Partition rules:
 * - `configured`: the platform's partition setting (input topics, and
 *   topics written outside processor applications);
 * - `co-partitioned`: as many as the source topics of the application that
 *   writes it, so task p reads partition p of each (sinks and internal
 *   topics of processor applications, and every changelog);
 * - `single`: one partition (a topic people read in order).
 *
 * @example
 * ```ts
 * const topics = new TopicCatalogue([{ name: 'orders', subject: 'orders-value', key: 'order_id', time: 'ts',
 *   compacted: false, partitions: 'configured', writtenBy: 'the shop' }]);
 * topics.spec('orders', 4); // { name: 'orders', partitions: 4, compacted: false }
 * ```
 */
import type { TopicSpec } from '../log/log.js';

export type PartitionRule = 'configured' | 'co-partitioned' | 'single';

export interface CatalogueTopic {
  readonly name: string;
  /** Registry subject of its values. */
  readonly subject: string;
  /** Value field whose string is the record key (and so decides the partition). */
  readonly key: string;
  /** Value field holding the event time, used as the record timestamp; undefined when it has none. */
  readonly time: string | undefined;
  /** Keeps the last value per key (a table) rather than every record. */
  readonly compacted: boolean;
  readonly partitions: PartitionRule;
  /** Who writes it, for people reading a topic plan. */
  readonly writtenBy: string;
}

/** Changelog topics end with this (`<application>.<store>.changelog`). */
export const CHANGELOG_SUFFIX = '.changelog';

/** An application's catalogue entries, looked up by topic name. */
export class TopicCatalogue {
  /** A catalogue of no topic: every topic is the caller's own (changelogs still compacted). */
  static readonly EMPTY = new TopicCatalogue([]);

  private readonly byName: ReadonlyMap<string, CatalogueTopic>;

  constructor(readonly topics: readonly CatalogueTopic[]) {
    this.byName = new Map(topics.map((t) => [t.name, t]));
  }

  /** The entry of a topic; undefined for topics outside the catalogue (changelogs, scratch topics). */
  topic(name: string): CatalogueTopic | undefined {
    return this.byName.get(name);
  }

  /** Whether a topic is, or should be created, compacted: catalogue tables and every changelog. */
  isCompacted(name: string): boolean {
    return this.topic(name)?.compacted ?? name.endsWith(CHANGELOG_SUFFIX);
  }

  /**
   * Partitions of a catalogue topic when `configured` partitions is the
   * platform's setting and `coPartitions` the partition count of the
   * application writing it (defaults to `configured`, which is what the
   * applications' source topics get).
   *
   * @throws Error for a topic outside the catalogue
   */
  partitions(name: string, configured: number, coPartitions = configured): number {
    const topic = this.topic(name);
    if (topic === undefined) throw new Error(`${name} is not a catalogue topic`);
    if (topic.partitions === 'single') return 1;
    return topic.partitions === 'configured' ? configured : coPartitions;
  }

  /** The spec to create a catalogue topic with, `configured` being the platform's partition setting. */
  spec(name: string, configured: number, coPartitions = configured): TopicSpec {
    return {
      name,
      partitions: this.partitions(name, configured, coPartitions),
      compacted: this.isCompacted(name),
    };
  }
}
