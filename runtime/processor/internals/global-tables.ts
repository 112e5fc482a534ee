/**
 * The in-memory replicas of a topology's global tables (Kafka Streams'
 * GlobalKTable): every partition of each table's topic, folded by the
 * table's reducer, shared read-only by every task of the runner.
 *
 * `open` reads each topic from its start to the end it has when the runner
 * starts, before any record is processed, so a replay from earliest sees the
 * whole table first (a stream-table join by event time then finds every
 * version it needs). `catchUp` applies what was appended since, and the
 * runner calls it before each batch. Nothing is committed: the topic is the
 * table's changelog, and a restart folds it again, which is why global
 * tables are for small dimension tables (the catalog), not for users.
 *
 * After a retriable failure the runner calls `reopen`: the tables go on
 * from where they were with a new consumer, since the old one may have
 * failed for good (a Kafka consumer outlasted by a broker outage).
 *
 * A record the table cannot read (no key, undecodable bytes) is skipped with
 * a warning naming its coordinates; the application's own source of the same
 * topic, if any, dead-letters it.
 *
 * @example
 * ```ts
 * const globals = await GlobalTables.open(topology.globalTables, log, logger);
 * globals.view<CatalogEntry>('catalog-versions').get('i7');
 * await globals.catchUp();
 * ```
 */
import type { Logger } from 'pino';
import { TopologyError } from '../../errors.js';
import type { EventLog, LogConsumer, LogRecord, TopicPartitionOffset } from '../../log/log.js';
import type { GlobalTableView } from '../processor.js';
import type { GlobalTableNode } from '../topology.js';

interface Replica {
  readonly node: GlobalTableNode;
  readonly entries: Map<string, unknown>;
}

export class GlobalTables {
  private readonly replicas = new Map<string, Replica>();
  private readonly byTopic = new Map<string, Replica[]>();
  private consumer: LogConsumer | undefined;
  private log: EventLog | undefined;
  /** Where a new consumer goes on from, kept while `reopen` has not yet placed one. */
  private resumeAt: TopicPartitionOffset[] = [];
  private skippedRecords = 0;

  constructor(
    nodes: readonly GlobalTableNode[],
    private readonly logger: Logger,
  ) {
    for (const node of nodes) {
      const replica: Replica = { node, entries: new Map() };
      this.replicas.set(node.name, replica);
      const list = this.byTopic.get(node.topic) ?? [];
      list.push(replica);
      this.byTopic.set(node.topic, list);
    }
  }

  /** Builds the replicas from every partition of their topics, up to the ends they have now. */
  static async open(nodes: readonly GlobalTableNode[], log: EventLog, logger: Logger): Promise<GlobalTables> {
    const tables = new GlobalTables(nodes, logger);
    if (nodes.length === 0) return tables;
    const topics = [...tables.byTopic.keys()];
    for (const topic of topics) {
      if (!(await log.describeTopic(topic))) {
        const names = tables.byTopic.get(topic)!.map((r) => r.node.name);
        throw new TopologyError(
          `global table ${names.join(', ')} reads topic ${topic}, which does not exist`,
        );
      }
    }
    const ends: { topic: string; partition: number; end: number }[] = [];
    for (const topic of topics)
      for (const p of await log.offsets(topic)) ends.push({ topic, partition: p.partition, end: p.end });
    const consumer = await log.consumer({ topics, from: 'earliest' });
    tables.consumer = consumer;
    tables.log = log;
    const behind = () => ends.some((e) => consumer.position(e.topic, e.partition) < e.end);
    while (behind()) {
      const records = await consumer.poll({ maxRecords: 10_000, timeoutMs: 100 });
      for (const record of records) await tables.apply(record);
    }
    return tables;
  }

  /** Applies the records appended to the tables' topics since the last call (at most one poll's worth). */
  async catchUp(): Promise<number> {
    if (this.consumer === undefined) return 0;
    const records = await this.consumer.poll({ maxRecords: 10_000, timeoutMs: 0 });
    for (const record of records) await this.apply(record);
    return records.length;
  }

  /**
   * Replaces the consumer with a new one at the same positions. A failure
   * leaves none in place; the next call tries again from the same positions.
   */
  async reopen(): Promise<void> {
    const old = this.consumer;
    if (old !== undefined) {
      this.resumeAt = old.assignment().map((tp) => ({ ...tp, offset: old.position(tp.topic, tp.partition) }));
      this.consumer = undefined;
      await old.close().catch(() => undefined);
    }
    if (this.log === undefined || this.resumeAt.length === 0) return;
    const consumer = await this.log.consumer({ topics: [...this.byTopic.keys()], from: 'earliest' });
    try {
      for (const p of this.resumeAt) consumer.seek(p.topic, p.partition, p.offset);
    } catch (error) {
      await consumer.close();
      throw error;
    }
    this.consumer = consumer;
  }

  /** Folds one record into every table reading its topic. */
  async apply(record: LogRecord): Promise<void> {
    const replicas = this.byTopic.get(record.topic);
    if (replicas === undefined) return;
    if (record.key === null) {
      this.skip(record, 'record has no key');
      return;
    }
    for (const replica of replicas) {
      let value: unknown = null;
      if (record.value !== null) {
        try {
          const decoded = replica.node.deserializer.deserialize(record.value, record.topic);
          value = decoded instanceof Promise ? await decoded : decoded;
        } catch (error) {
          this.skip(record, (error as Error).message);
          continue;
        }
      }
      const next = replica.node.reduce(replica.entries.get(record.key), value, {
        key: record.key,
        timestamp: record.timestamp,
      });
      if (next === undefined) replica.entries.delete(record.key);
      else replica.entries.set(record.key, next);
    }
  }

  /** Whether `topic` feeds a global table. */
  reads(topic: string): boolean {
    return this.byTopic.has(topic);
  }

  view<V>(name: string): GlobalTableView<V> | undefined {
    const replica = this.replicas.get(name);
    if (replica === undefined) return undefined;
    const entries = replica.entries as Map<string, V>;
    return {
      name,
      get: (key) => entries.get(key),
      get size() {
        return entries.size;
      },
    };
  }

  /** Records the tables could not read since they were opened. */
  skipped(): number {
    return this.skippedRecords;
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = undefined;
  }

  private skip(record: LogRecord, reason: string): void {
    this.skippedRecords++;
    this.logger.warn(
      { topic: record.topic, partition: record.partition, offset: record.offset, reason },
      'global table skipped a record it cannot read',
    );
  }
}
